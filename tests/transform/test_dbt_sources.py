"""dbt's source definitions are generated from the source registry (one source of truth)."""

from __future__ import annotations

import shutil

import yaml

from sotelake.settings import get_settings
from sotelake.sources.registry import all_tables, load_registry
from sotelake.transform.dbt_sources import build_sources, sources_path, write_sources

HAND_WRITTEN = {"lake_dq"}  # the pipeline's own records in the lake, not a source system


def test_the_committed_source_files_equal_what_the_registry_makes():
    settings = get_settings()
    built = build_sources(settings.config_dir / "sources.yml")
    for name, text in built.items():
        path = sources_path(settings.dbt_project, name)
        assert path.exists() and path.read_text(encoding="utf-8") == text, (
            f"{path} differs from config/sources.yml: run `sotelake dbt-sources`"
        )
    staging = settings.dbt_project / "models" / "staging"
    found = {p.name for p in staging.glob("*/_*__sources.yml")}
    expected = {f"_{name}__sources.yml" for name in [*built, *HAND_WRITTEN]}
    assert found == expected, "a sources file of no registered source (or one missing)"


def test_a_registry_change_reaches_the_generated_sources(tmp_path):
    """A table added to the registry appears in dbt's sources with its raw-zone columns; a
    column the registry drops never does."""
    settings = get_settings()
    registry = yaml.safe_load((settings.config_dir / "sources.yml").read_text(encoding="utf-8"))
    registry["sources"]["hr"]["tables"]["absences"] = {
        "description": "Absences by person.",
        "files": "absences_*.csv",
        "primary_key": ["absence_id"],
        "columns": {
            "absence_id": {"type": "bigint", "required": True},
            "hetu": {"privacy": "person_identifier", "as": "employee_pseudonym"},
            "name": {"privacy": "drop"},
        },
    }
    changed = tmp_path / "sources.yml"
    changed.write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    project = tmp_path / "dbt"
    shutil.copytree(settings.dbt_project / "models", project / "models")
    write_sources(project, changed)
    assert (
        sources_path(project, "hr").read_text()
        != sources_path(settings.dbt_project, "hr").read_text()
    )
    document = yaml.safe_load(sources_path(project, "hr").read_text(encoding="utf-8"))
    (source,) = document["sources"]
    tables = {t["name"]: t for t in source["tables"]}
    assert set(tables) == {"staff_months", "absences"}
    columns = [c["name"] for c in tables["absences"]["columns"]]
    assert columns[:4] == [
        "absence_id",
        "employee_pseudonym",
        "employee_birth_year",
        "employee_sex",
    ]
    assert "hetu" not in columns and "name" not in columns and "_load_id" in columns
    assert source["schema"] == "lake_hr"
    assert "/raw/hr/{name}/" in source["meta"]["external_location"]


def test_every_registered_table_is_a_dbt_source():
    settings = get_settings()
    declared = set()
    for path in (settings.dbt_project / "models" / "staging").glob("*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]:
            declared |= {f"{source['name']}.{t['name']}" for t in source["tables"]}
    assert {t.qualified_name for t in all_tables(load_registry())} <= declared
