"""The source registry (``config/sources.yml``): which systems and tables to extract, and how."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sotelake.settings import ConfigurationError, Settings, get_settings, read_yaml
from sotelake.sources.errors import SourceSchemaError
from sotelake.sources.files import ENCODINGS, encodings

__all__ = ["Column", "Source", "SourceSchemaError", "Table", "all_tables", "load_registry"]

TYPES = {"varchar", "bigint", "integer", "double", "date", "timestamp", "boolean"}
DECIMAL = re.compile(r"^decimal\(\d+,\d+\)$")
PRIVACY = {None, "person_identifier", "drop", "free_text"}
KINDS = ("database", "files", "fhir_bulk")


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "varchar"
    required: bool = False
    privacy: str | None = None  # person_identifier | drop | free_text
    output_name: str | None = None  # for person identifiers: the pseudonym column
    path: str | None = None  # FHIR sources: where in the resource (sources/fhir.py)

    @property
    def identifying(self) -> bool:
        """A henkilötunnus, name, address or phone number: never stored as delivered."""
        return self.privacy in ("person_identifier", "drop")


@dataclass(frozen=True)
class Table:
    source: str
    name: str
    description: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    files: str | None = None  # glob inside the source folder, for file sources
    resource: str | None = None  # FHIR sources: the resource type (Patient, Encounter, ...)
    mode: str = "full"  # full: every load takes everything; incremental: only what is new
    watermark: str | None = None  # incremental database tables: the last-changed column

    @property
    def qualified_name(self) -> str:
        return f"{self.source}.{self.name}"

    @property
    def kept_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.privacy != "drop")


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # database | files
    description: str
    tables: dict[str, Table]
    connection: str | None = None
    default_url: str | None = None
    folder: str | None = None
    dialect: dict = field(default_factory=dict)

    def url(
        self, settings: Settings, connection_lookup: Callable[[str], str | None] | None = None
    ) -> str:
        """The database URL: Airflow connection, else environment variable, else the default."""
        if connection_lookup and self.connection:
            found = connection_lookup(self.connection)
            if found:
                return found
        env = f"SOTELAKE_SOURCE_{self.name.upper()}_URL"
        if os.environ.get(env):
            return os.environ[env]
        if not self.default_url:
            raise ConfigurationError(
                f"Source {self.name}: no URL. Set the Airflow connection {self.connection!r} "
                f"or {env}."
            )
        return self.default_url.format(data_dir=settings.data_dir)

    def path(self, settings: Settings) -> Path:
        return settings.landing / (self.folder or self.name)


def _column(source: str, table: str, name: str, spec) -> Column:
    where = f"{source}.{table}.{name}"
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise ConfigurationError(f"sources.yml: column {where}: expected a type or a mapping")
    unknown = set(spec) - {"type", "required", "privacy", "as", "path"}
    if unknown:
        raise ConfigurationError(f"sources.yml: column {where}: unknown keys {sorted(unknown)}")
    privacy = spec.get("privacy")
    if privacy not in PRIVACY:
        raise ConfigurationError(f"sources.yml: column {where}: privacy must be one of {PRIVACY}")
    col_type = str(spec.get("type", "varchar")).lower()
    if col_type not in TYPES and not DECIMAL.match(col_type):
        raise ConfigurationError(f"sources.yml: column {where}: unknown type {col_type!r}")
    if privacy == "free_text" and col_type != "varchar":
        raise ConfigurationError(
            f"sources.yml: column {where}: privacy: free_text is for text columns (type varchar)"
        )
    output = spec.get("as") or ("person_pseudonym" if privacy == "person_identifier" else None)
    return Column(
        name, col_type, bool(spec.get("required", False)), privacy, output, spec.get("path")
    )


def load_registry(path: Path | None = None) -> dict[str, Source]:
    """Read and check the registry; errors name the file, source, table and key at fault."""
    path = path or get_settings().config_dir / "sources.yml"
    try:
        document = read_yaml(path)
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"Cannot read the source registry {path}: {error}") from error
    sources = {}
    for name, spec in (document or {}).get("sources", {}).items():
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ConfigurationError(f"{path}: source {name}: kind must be one of {KINDS}")
        dialect = spec.get("dialect") or {}
        unknown = [e for e in encodings(dialect) if e.lower() not in ENCODINGS]
        if kind != "database" and unknown:
            raise ConfigurationError(
                f"{path}: source {name}: unsupported encoding(s) {unknown}; use {sorted(ENCODINGS)}"
            )
        tables = {}
        for table_name, table_spec in (spec.get("tables") or {}).items():
            columns = tuple(
                _column(name, table_name, col, col_spec)
                for col, col_spec in (table_spec.get("columns") or {}).items()
            )
            if not columns:
                raise ConfigurationError(f"{path}: table {name}.{table_name} declares no columns")
            key = tuple(table_spec.get("primary_key") or ())
            missing_key = [k for k in key if k not in {c.name for c in columns}]
            if not key or missing_key:
                raise ConfigurationError(
                    f"{path}: table {name}.{table_name}: primary_key must name declared columns"
                    + (f" (not declared: {missing_key})" if missing_key else "")
                )
            if kind == "files" and not table_spec.get("files"):
                raise ConfigurationError(f"{path}: table {name}.{table_name}: files: glob missing")
            if kind == "fhir_bulk" and (
                not table_spec.get("resource")
                or any(c.path is None for c in columns if c.privacy != "drop")
            ):
                raise ConfigurationError(
                    f"{path}: table {name}.{table_name}: a FHIR table needs resource: and a "
                    "path: for every column"
                )
            mode = table_spec.get("mode", "full")
            watermark = table_spec.get("watermark")
            if mode not in ("full", "incremental"):
                raise ConfigurationError(
                    f"{path}: table {name}.{table_name}: mode must be full or incremental"
                )
            if (
                kind == "database"
                and mode == "incremental"
                and watermark not in {c.name for c in columns}
            ):
                raise ConfigurationError(
                    f"{path}: table {name}.{table_name}: an incremental database table needs "
                    "watermark: <a declared column that records when a row last changed>"
                )
            tables[table_name] = Table(
                source=name,
                name=table_name,
                description=str(table_spec.get("description", "")).strip(),
                primary_key=key,
                columns=columns,
                files=table_spec.get("files"),
                resource=table_spec.get("resource"),
                mode=mode,
                watermark=watermark,
            )
        sources[name] = Source(
            name=name,
            kind=kind,
            description=str(spec.get("description", "")).strip(),
            tables=tables,
            connection=spec.get("connection"),
            default_url=spec.get("default_url"),
            folder=spec.get("folder"),
            dialect=dialect,
        )
    return sources


def all_tables(registry: dict[str, Source]) -> list[Table]:
    return [table for source in registry.values() for table in source.tables.values()]
