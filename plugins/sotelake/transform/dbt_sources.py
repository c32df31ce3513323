"""dbt's source definitions, generated from the source registry (config/sources.yml).

The registry is the one place that says which tables the lake holds and what their columns are;
``sotelake dbt-sources`` writes one ``dbt/models/staging/<source>/_<source>__sources.yml`` per
registered source from it (as ``sotelake suites`` writes the Great Expectations suites), and a
test keeps the committed files equal to what the registry makes. Each dbt source carries:

- ``schema: lake_<source>``: where a server target finds the lake's copy
  (sotelake.transform.lake_copy on PostgreSQL, the external tables of ``register_lake`` on
  Spark);
- ``meta.external_location``: how DuckDB reads the raw zone's Parquet files where they lie
  (every load of the table; a staging model picks the loads it needs: macros/lake.sql);
- the table's columns as the raw zone holds them: a henkilötunnus becomes its pseudonym, birth
  year and sex; dropped columns are absent; the lineage columns of every load follow.

The pipeline's own records in the lake (``lake_dq``: the load audit, quarantine and validation
results) are not a source system and keep their hand-written file.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from sotelake.sources.registry import Column, Source, Table, load_registry

HEADER = (
    "# Generated from config/sources.yml by `sotelake dbt-sources`: edit the registry, not this\n"
    "# file (tests/transform/test_dbt_sources.py keeps the two in step).\n"
)
EXTERNAL_LOCATION = (
    "read_parquet('{{{{ env_var('SOTELAKE_LAKE', '../data/lake') }}}}/raw/{source}/{{name}}/"
    "*/*.parquet', union_by_name = true)"
)
PRIVACY_NOTE = (
    "As extracted into the raw lake zone, one Parquet partition per load date: henkilötunnus "
    "replaced by a keyed pseudonym (with birth year and sex), names, addresses and phone numbers "
    "never extracted."
)
# What every load adds to the rows (sotelake.lake.load): which load brought a row, and when
LINEAGE_COLUMNS = (
    ("_load_id", "varchar", "The load that brought the row (its raw file is <load_id>.parquet)."),
    ("_load_date", "date", "The load's partition date (load_date=YYYY-MM-DD)."),
    ("_source_system", "varchar", "The source system of the row."),
    ("_extracted_at", "timestamp with time zone", "When the row was extracted."),
    (
        "_published_at",
        "timestamp with time zone",
        "When the row entered the raw zone (a replayed batch is published again).",
    ),
    ("_source_file", "varchar", "The delivered file the row came from (file sources)."),
)


def sources_path(dbt_project: Path, source: str) -> Path:
    return dbt_project / "models" / "staging" / source / f"_{source}__sources.yml"


def _columns(column: Column) -> list[dict]:
    """The raw zone's columns of a registered column (none for a dropped one)."""
    if column.privacy == "drop":
        return []
    if column.privacy == "person_identifier":
        prefix = column.output_name.removesuffix("_pseudonym")
        return [
            {
                "name": column.output_name,
                "data_type": "varchar",
                "description": f"Keyed pseudonym (HMAC-SHA256) of the henkilötunnus {column.name}.",
            },
            {
                "name": f"{prefix}_birth_year",
                "data_type": "integer",
                "description": f"Birth year from the henkilötunnus {column.name}.",
            },
            {
                "name": f"{prefix}_sex",
                "data_type": "tinyint",
                "description": f"Sex from the henkilötunnus {column.name} (1 male, 2 female).",
            },
        ]
    described = {"name": column.name, "data_type": column.type}
    if column.required:
        described["description"] = "Required: a row without it is quarantined."
    return [described]


def _table(table: Table) -> dict:
    meta = {"mode": table.mode, "primary_key": list(table.primary_key)}
    if table.watermark:
        meta["watermark"] = table.watermark
    described = {"name": table.name}
    if table.description:
        described["description"] = table.description
    described["meta"] = meta
    described["columns"] = [
        *(c for column in table.columns for c in _columns(column)),
        *(
            {"name": name, "data_type": kind, "description": text}
            for name, kind, text in LINEAGE_COLUMNS
        ),
    ]
    return described


def source_document(source: Source) -> dict:
    """The dbt source definition of one registered source."""
    description = f"{source.description} {PRIVACY_NOTE}".strip()
    return {
        "version": 2,
        "sources": [
            {
                "name": source.name,
                "schema": f"lake_{source.name}",
                "description": description,
                "meta": {
                    "external_location": EXTERNAL_LOCATION.format(source=source.name),
                    "source_kind": source.kind,
                    "registry": "config/sources.yml",
                },
                "tables": [_table(t) for t in source.tables.values()],
            }
        ],
    }


def render(source: Source) -> str:
    body = yaml.safe_dump(source_document(source), sort_keys=False, allow_unicode=True, width=100)
    return HEADER + "\n" + body


def build_sources(registry_path: Path | None = None) -> dict[str, str]:
    """The text of each generated sources file, by source name."""
    return {name: render(source) for name, source in load_registry(registry_path).items()}


def write_sources(dbt_project: Path, registry_path: Path | None = None) -> list[Path]:
    written = []
    for name, text in build_sources(registry_path).items():
        path = sources_path(dbt_project, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
