"""The documentation keeps up with the code: every SOTELAKE_* variable the code reads is on the
configuration page, every relative link of the README and docs/ leads somewhere, the README
stays short, and the benchmarks page's table is the one `make bench` writes."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"

# Where the project's code reads its environment: the package, the DAG files, the dbt project
# (env_var in profiles, macros and models), the benches and the deployment scripts.
CODE = [
    *(ROOT / "plugins" / "sotelake").rglob("*.py"),
    *(ROOT / "plugins" / "sotelake").rglob("*.json"),
    *(ROOT / "dags").rglob("*.py"),
    *(ROOT / "dbt").rglob("*.sql"),
    *(ROOT / "dbt").rglob("*.yml"),
    *(ROOT / "bench").rglob("*.py"),
    *(ROOT / "deploy").rglob("*.sh"),
]
# SOTELAKE_X, not AIRFLOW_CONN_SOTELAKE_X (an Airflow connection, documented as such); a name
# that ends in "_" is the start of a composed one (f"SOTELAKE_SOURCE_{name}_URL").
VARIABLE = re.compile(r"(?<![A-Z0-9_])SOTELAKE_[A-Z0-9_]*")
# [text](target) outside code; a target of a page is a path, with an optional #anchor
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def variables_read_by_the_code() -> dict[str, Path]:
    found = {}
    for path in CODE:
        if "dbt/target" in path.as_posix() or "dbt_packages" in path.as_posix():
            continue
        for name in VARIABLE.findall(path.read_text(encoding="utf-8", errors="replace")):
            found.setdefault(name, path)
    return found


def documented(name: str, page: str) -> bool:
    if name.endswith("_"):  # a composed name: documented as SOTELAKE_SOURCE_<SOURCE>_URL
        return re.search(re.escape(name) + r"<[A-Z_]+>", page) is not None
    return re.search(rf"`{re.escape(name)}`", page) is not None


def test_every_variable_the_code_reads_is_on_the_configuration_page():
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    found = variables_read_by_the_code()
    assert len(found) > 20, f"the scan found too few variables to be reading the code: {found}"
    missing = {
        name: str(path.relative_to(ROOT))
        for name, path in sorted(found.items())
        if not documented(name, page)
    }
    assert not missing, (
        f"docs/configuration.md does not name these variables (each with a file that reads it): "
        f"{missing}"
    )


def markdown_pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _without_code(text: str) -> str:
    """The text without fenced blocks, indented blocks and inline code, where a [x](y) is code."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"^(?: {4}|\t).*$", "", text, flags=re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings, as GitHub makes them."""
    found = set()
    text = _without_code(page.read_text(encoding="utf-8"))
    for heading in re.findall(r"^#+\s+(.*)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_every_relative_link_of_the_readme_and_the_docs_resolves():
    broken = []
    for page in markdown_pages():
        text = _without_code(page.read_text(encoding="utf-8"))
        for match in LINK.finditer(text):
            target = match.group(1) or match.group(2)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(ROOT)}: {target}"
            if not resolved.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{where} (no heading with the anchor #{anchor})")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_readme_is_short_and_links_every_page_of_the_docs():
    text = README.read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= 250, f"README.md has {lines} lines; the rest belongs in docs/<subject>.md"
    unlinked = [page.name for page in sorted(DOCS.glob("*.md")) if f"(docs/{page.name}" not in text]
    assert not unlinked, f"README.md does not link these pages of docs/: {unlinked}"


def _bench_module():
    path = ROOT / "bench" / "pipeline_bench.py"
    spec = importlib.util.spec_from_file_location("pipeline_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_bench_writes_the_table_of_the_benchmarks_page_and_keeps_its_prose(tmp_path):
    bench = _bench_module()
    page = tmp_path / "benchmarks.md"
    page.write_text((DOCS / "benchmarks.md").read_text(encoding="utf-8"), encoding="utf-8")
    before = page.read_text(encoding="utf-8")
    rows = [
        bench.row(20000, 1, "extract", 316325, {"seconds": 3.21, "peak_mb": 245}),
        bench.ratio_row(20000, 1, "extract / floor", 3.21, 1.26),
    ]
    bench.write_table_into_page(page, bench.markdown_table(rows, "Measured in a test."))
    after = page.read_text(encoding="utf-8")
    table = after[after.index(bench.TABLE_START) : after.index(bench.TABLE_END)]
    assert "| 20 000 × 1 | extract | 316 325 | 3.21 | 98 544 | 245 |  |" in table
    assert "| 20 000 × 1 | extract / floor |  |  |  |  | 2.55 |" in table
    assert table.count("\n| 20 000") == 2, table  # the committed rows are gone
    # the prose before and after the table is the page's own
    assert after[: after.index(bench.TABLE_START)] == before[: before.index(bench.TABLE_START)]
    assert after[after.index(bench.TABLE_END) :] == before[before.index(bench.TABLE_END) :]
    # and the committed page is what the writer writes (its table parses back the same way)
    assert bench.TABLE_START in before and "| residents × years | stage |" in before
