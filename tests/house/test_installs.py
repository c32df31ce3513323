"""The runtime and the development installs are apart: `make demo` and the Airflow image install
the runtime only, which brings no test, lint, benchmark or Spark package; `make test` installs
the extras; every pin is the one of the single resolved set (constraints.txt)."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DEVELOPMENT = {"pytest", "playwright", "ruff", "pyinstrument", "moto", "pyspark", "dbt-spark"}


def pins(path: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", path.read_text(), re.M)
    return {canonicalize_name(name): version for name, version in found}


def runtime_closure() -> set[str]:
    """Every distribution the runtime requirements bring, as installed here (markers evaluated
    without extras, so an optional dependency of a package is left out as pip leaves it)."""
    seen: set[str] = set()
    queue = [Requirement(r) for r in PROJECT["dependencies"]]
    while queue:
        requirement = queue.pop()
        name = canonicalize_name(requirement.name)
        extras = requirement.extras
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        seen.add(name)
        for text in metadata.requires(name) or []:
            nested = Requirement(text)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if nested.marker is None or any(nested.marker.evaluate(e) for e in environments):
                queue.append(nested)
    return {key for key in seen if "[" not in key}


def test_the_runtime_brings_no_development_package():
    closure = runtime_closure()
    assert len(closure) > 100, "the walk found the runtime's dependencies"
    assert {"apache-airflow", "dbt-core", "great-expectations", "duckdb"} <= closure
    assert not closure & DEVELOPMENT, sorted(closure & DEVELOPMENT)
    extras = PROJECT["optional-dependencies"]
    named = {canonicalize_name(Requirement(r).name) for e in extras.values() for r in e}
    assert named >= DEVELOPMENT, "each development package is in an extra"


def test_every_pin_is_the_one_of_the_resolved_set():
    resolved = pins(ROOT / "constraints.txt")
    requirements = [
        *PROJECT["dependencies"],
        *(r for extra in PROJECT["optional-dependencies"].values() for r in extra),
    ]
    differ = {}
    for text in requirements:
        requirement = Requirement(text)
        (pinned,) = [s.version for s in requirement.specifier if s.operator == "=="]
        name = canonicalize_name(requirement.name)
        if resolved.get(name) != pinned:
            differ[name] = (pinned, resolved.get(name))
    assert not differ, f"pyproject.toml's pin, constraints.txt's: {differ} (make lock)"


def test_make_demo_and_the_image_install_the_runtime_and_make_test_the_extras():
    makefile = (ROOT / "Makefile").read_text()
    recipes = dict(re.findall(r"^([\w$().\-/]+):[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.M))
    target = dict(re.findall(r"^([\w\-]+): ([^\n]*)$", makefile, re.M))
    assert target["demo"].split() == ["install"] and target["airflow"].split() == ["install"]
    assert "install-dev" in target["test"].split() and "install-dev" in target["bench"].split()
    runtime = recipes["$(VENV)/.installed-runtime"]
    assert re.search(r"-c constraints\.txt -e \.\s*$", runtime, re.M), runtime
    assert '-e ".[dev,spark]"' in recipes["$(VENV)/.installed-dev"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "['project']['dependencies']" in dockerfile and "-c /opt/sotelake/constraints.txt" in (
        dockerfile
    )
    assert not re.search(r"\[dev|pytest|playwright|moto|pyspark", dockerfile.split("FROM")[1])
