"""A day of the pipeline without Airflow, for the tests of daily builds."""

import shutil
from datetime import date
from pathlib import Path

KEY = b"c" * 32  # the tests' pseudonymisation key


def daily_run(settings, day: date, changed_only: bool = True) -> dict:
    """Every load of ``day``, their validation and the build (of what they changed, when
    ``changed_only`` and the previous build allows it; else everything)."""
    from sotelake import pipeline

    planned = pipeline.plan_loads(day, settings)
    loads = [pipeline.extract(load, KEY, settings=settings) for load in planned]
    checked = pipeline.validate(planned, loads, f"run-{day}", settings)
    changed = checked["changed"] if changed_only else None
    return pipeline.transform(f"run-{day}", checked["held_back"], day, settings, changed=changed)


def a_copy_of(generated: Path, tmp_path: Path, monkeypatch) -> tuple[Path, object]:
    """A fresh data folder with a copy of a generated county's sources and deliveries (each
    test changes its own), made the pipeline's data folder; and the source registry."""
    from sotelake.sources.registry import load_registry

    for folder in ("sources", "landing"):
        shutil.copytree(generated / folder, tmp_path / folder)
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    return tmp_path, load_registry()
