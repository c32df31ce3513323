"""Imports flow one way: the package's modules form no import cycle, and a module of a step of
the data flow imports only from earlier steps or the ground floor (DESIGN.md):

    ground floor (errors, settings, engine, object_store, withholding)
    -> sources -> privacy -> lake -> quality -> transform -> publish

Above the flow, the orchestration (pipeline, the DAG's helpers, the command line) may import
from any step; beside it, the demo county's generator and the development tools may import from
any step too, and no step imports them. Every import counts, also one inside a function or
under TYPE_CHECKING: each is a dependency that a reader must follow.

To see the graph: `.venv/bin/python tests/house/test_import_layers.py` prints the imports that run
against the flow and the cycles."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "sotelake"

GROUND = {"errors", "settings", "engine", "object_store", "withholding"}
STEPS = ["sources", "privacy", "lake", "quality", "transform", "publish"]
BESIDE = {"demo"}  # may import any step; no step imports it

# Upward imports known and left for later, each with its reason (none now). The test fails on
# any other, and on one of these that is gone (so that the list only shrinks).
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports (by their longest name)."""
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's package
                    package_parts = name.split(".")
                    if not path.name == "__init__.py":
                        package_parts = package_parts[:-1]
                    anchor = package_parts[: len(package_parts) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target != "sotelake":
                    imported.add(target)
        graph[name] = imported
    return graph


def place(module: str) -> tuple[str, int | None]:
    """(where, step): 'ground', 'step' with its index, 'beside' or 'above'."""
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else ""
    if first in GROUND:
        return "ground", -1
    if first in STEPS:
        return "step", STEPS.index(first)
    if first in BESIDE:
        return "beside", None
    return "above", None


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    found = set()
    for module, imported in graph.items():
        where, step = place(module)
        for target in imported:
            to, its_step = place(target)
            if where == "ground" and to != "ground":
                found.add((module, target))
            elif where == "step" and (
                to in ("above", "beside") or (to == "step" and its_step > step)
            ):
                found.add((module, target))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycle():
    found = cycles(import_graph())
    assert not found, f"import cycles: {found}"


def test_every_step_imports_only_from_earlier_steps_and_the_ground_floor():
    found = upward_imports(import_graph())
    new = sorted(found - set(KNOWN_UPWARD))
    assert not new, (
        "imports against the data flow (a step imports a later step, or the ground floor a "
        "step): move what two steps share down, never up:\n"
        + "\n".join(f"  {a} -> {b}" for a, b in new)
    )
    # fixed while the module stays: off the list (a module moved away, as the stewards' report
    # into publish/, takes its entries with it)
    graph = import_graph()
    gone = sorted(pair for pair in set(KNOWN_UPWARD) - found if pair[0] in graph)
    assert not gone, f"fixed, so take them off KNOWN_UPWARD: {gone}"


def test_the_graph_sees_cycles_and_upward_imports_where_they_are(tmp_path):
    """The checks find what they look for: a small package with one of each."""
    package = tmp_path / "sotelake"
    for name, text in {
        "__init__.py": "",
        "settings.py": "from sotelake.lake import storage\n",
        "lake/__init__.py": "",
        "lake/storage.py": "def f():\n    from sotelake.settings import get\n",
        "sources/__init__.py": "",
        "sources/readers.py": "from sotelake.lake.state import Window\n",
        "lake/state.py": "from . import storage\n",
    }.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    graph = import_graph(package)
    assert graph["sotelake.lake.state"] == {"sotelake.lake", "sotelake.lake.storage"}
    assert cycles(graph) == [["sotelake.lake.storage", "sotelake.settings"]]
    assert upward_imports(graph) == {
        ("sotelake.settings", "sotelake.lake"),
        ("sotelake.settings", "sotelake.lake.storage"),
        ("sotelake.sources.readers", "sotelake.lake.state"),
    }


if __name__ == "__main__":
    graph = import_graph()
    print("cycles:", cycles(graph) or "none")
    print("imports against the flow:")
    for a, b in sorted(upward_imports(graph)):
        print(f"  {a} -> {b}" + (f"  ({KNOWN_UPWARD[(a, b)]})" if (a, b) in KNOWN_UPWARD else ""))
    sys.exit(0)
