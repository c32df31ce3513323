"""The source registry (``config/sources.yml``): which systems and tables to extract, and how."""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from sotelake.settings import ConfigurationError, Settings, get_settings, parse_yaml
from sotelake.sources.errors import SourceSchemaError
from sotelake.sources.files import ENCODINGS, encodings

__all__ = [
    "Column",
    "RegistryError",
    "Source",
    "SourceSchemaError",
    "Table",
    "all_tables",
    "load_registry",
]

TYPES = {"varchar", "bigint", "integer", "double", "date", "timestamp", "boolean"}
DECIMAL = re.compile(r"^decimal\(\d+,\d+\)$")
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
    # incremental database tables: how far before the previous window's end a load reads again
    lookback: timedelta | None = None
    delivery: str | dict | None = None  # how often the source delivers it (lake/freshness.py)

    @property
    def qualified_name(self) -> str:
        return f"{self.source}.{self.name}"

    @property
    def kept_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.privacy != "drop")


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # database | files | fhir_bulk | sotkanet
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


SCHEMA_FILE = Path(__file__).with_name("registry.schema.json")


def _column(name: str, spec, where: str, problems: list[str]) -> Column:
    if isinstance(spec, str):
        spec = {"type": spec}
    privacy = spec.get("privacy")
    col_type = str(spec.get("type", "varchar")).lower()
    if col_type not in TYPES and not DECIMAL.match(col_type):
        problems.append(
            f"{where}.type: unknown type {col_type!r} (allowed: {', '.join(sorted(TYPES))}, "
            "decimal(p,s))"
        )
    if privacy == "free_text" and col_type != "varchar":
        problems.append(
            f"{where}.privacy: free_text is for text columns (type varchar), not {col_type!r}"
        )
    output = spec.get("as") or ("person_pseudonym" if privacy == "person_identifier" else None)
    return Column(
        name, col_type, bool(spec.get("required", False)), privacy, output, spec.get("path")
    )


# Keys that only some kinds of source (or table) take: the schema allows them everywhere,
# these say where they mean something.
ONLY_FOR_KIND = {
    "connection": ("database",),
    "default_url": ("database",),
    "folder": ("files", "fhir_bulk", "sotkanet"),
    "dialect": ("files",),
}
TABLE_KEYS_FOR_KIND = {
    "watermark": ("database",),
    "lookback": ("database",),
    "files": ("files", "sotkanet"),
    "resource": ("fhir_bulk",),
}


def _table(source: str, kind: str, name: str, spec: dict, where: str, problems: list[str]) -> Table:
    for key, kinds in TABLE_KEYS_FOR_KIND.items():
        if key in spec and kind not in kinds:
            problems.append(f"{where}.{key}: only for tables of a {' or '.join(kinds)} source")
    columns = tuple(
        _column(col, col_spec, f"{where}.columns.{col}", problems)
        for col, col_spec in spec["columns"].items()
    )
    declared = {c.name for c in columns}
    key = tuple(spec["primary_key"]) if isinstance(spec["primary_key"], list) else ()
    if missing_key := [k for k in key if k not in declared]:
        problems.append(f"{where}.primary_key: names undeclared column(s) {missing_key}")
    if kind in ("files", "sotkanet") and not spec.get("files"):
        problems.append(f"{where}: missing key 'files' (the glob of the table's files)")
    if kind == "fhir_bulk" and not spec.get("resource"):
        problems.append(f"{where}: missing key 'resource' (the FHIR resource type)")
    if kind in ("fhir_bulk", "sotkanet"):
        if unplaced := [c.name for c in columns if c.path is None and c.privacy != "drop"]:
            problems.append(f"{where}.columns: a {kind} table needs a path: for {unplaced}")
    elif any(c.path for c in columns):
        problems.append(
            f"{where}.columns: path: is only for the columns of a fhir_bulk or sotkanet source"
        )
    mode, watermark = spec.get("mode", "full"), spec.get("watermark")
    if kind == "database" and mode == "incremental" and watermark not in declared:
        problems.append(
            f"{where}: an incremental database table needs watermark: <a declared column that "
            "records when a row last changed>"
        )
    if mode == "full" and (watermark or spec.get("lookback")):
        problems.append(f"{where}: watermark: and lookback: are for mode: incremental")
    return Table(
        source=source,
        name=name,
        description=str(spec.get("description", "")).strip(),
        primary_key=key,
        columns=columns,
        files=spec.get("files"),
        resource=spec.get("resource"),
        mode=mode,
        watermark=watermark,
        lookback=parse_duration(lookback)
        if DURATION.match(lookback := str(spec.get("lookback")))
        else None,
        delivery=spec.get("delivery"),
    )


def _mappings(value) -> list[tuple]:
    return (
        [(k, v) for k, v in value.items() if isinstance(v, dict)] if isinstance(value, dict) else []
    )


def _source(name: str, spec: dict, problems: list[str]) -> Source:
    kind, where = spec["kind"], f"sources.{name}"
    for key, kinds in ONLY_FOR_KIND.items():
        if key in spec and kind not in kinds:
            problems.append(f"{where}.{key}: only for a source of kind {' or '.join(kinds)}")
    dialect = spec.get("dialect") or {}
    unknown = [e for e in encodings(dialect) if str(e).lower() not in ENCODINGS]
    if kind != "database" and unknown:
        problems.append(
            f"{where}.dialect.encoding: unsupported {unknown} (use {sorted(ENCODINGS)})"
        )
    tables = {}
    for table, table_spec in _mappings(spec["tables"]):
        try:
            tables[table] = _table(
                name, kind, table, table_spec, f"{where}.tables.{table}", problems
            )
        except (KeyError, TypeError, AttributeError, ValueError):
            continue
    return Source(
        name=name,
        kind=kind,
        description=str(spec.get("description", "")).strip(),
        tables=tables,
        connection=spec.get("connection"),
        default_url=spec.get("default_url"),
        folder=spec.get("folder"),
        dialect=dialect,
    )


def load_registry(path: Path | None = None) -> dict[str, Source]:
    """Read the registry and check it against its schema (registry.schema.json) and the rules
    between its keys, before anything is loaded. Every problem is reported at once, in one
    ConfigurationError naming the file, each problem's path (``sources.<source>.tables...``)
    and, for an unknown key, the keys allowed there.

    A process parses and checks the same text once: a run's steps and their lineage ask for
    the registry many times, and parsing and checking it costs tens of milliseconds."""
    path = path or get_settings().config_dir / "sources.yml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(f"Cannot read the source registry {path}: {error}") from error
    return dict(_parse_registry(path, text))


@lru_cache(maxsize=8)
def _parse_registry(path: Path, text: str) -> dict[str, Source]:
    """The registry of ``text`` (read from ``path``, named in errors); the Source objects are
    frozen and shared, the dict is copied for each caller."""
    try:
        document = parse_yaml(text)
    except yaml.YAMLError as error:
        raise ConfigurationError(f"Cannot read the source registry {path}: {error}") from error
    problems = schema_problems(document)
    sources = {}
    # the rules between keys, also where the schema found problems (every problem at once):
    # a part too malformed to read is left to the schema's message
    for name, spec in _mappings(document.get("sources") if isinstance(document, dict) else {}):
        try:
            sources[name] = _source(name, spec, problems)
        except (KeyError, TypeError, AttributeError, ValueError):
            continue
    if problems:
        raise RegistryError(path, problems)
    return sources


class RegistryError(ConfigurationError):
    """The source registry breaks its schema or its rules; every problem is listed."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__(
            f"{path}: the source registry is not valid ({len(problems)} problem"
            f"{'s' if len(problems) > 1 else ''}; docs/loads.md describes every key):\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def schema_problems(document) -> list[str]:
    """Where ``document`` breaks the registry's schema, one line per problem, in file order."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: [str(p) for p in e.path])
    return [_describe(error) for error in errors]


def _where(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _describe(error) -> str:
    kind, instance, schema = error.validator, error.instance, error.schema
    where = _where(error)
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        lines = []
        for key in sorted(set(instance) - set(allowed), key=str):
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            lines.append(f"{where}: unknown key {key!r} ({hint}allowed: {', '.join(allowed)})")
        return "\n  - ".join(lines)
    if kind == "required":
        missing = [k for k in error.validator_value if k not in instance]
        return f"{where}: missing key {', '.join(repr(k) for k in missing)}"
    if kind in ("oneOf", "anyOf"):
        # the alternative written (a mapping where a mapping is allowed) and what is wrong in it
        inner = [e for e in error.context if e.validator not in ("type", "enum", "required")]
        if inner:
            return _describe(max(inner, key=lambda e: len(e.absolute_path)))
        return f"{where}: {instance!r} is not {schema.get('description', 'allowed here')}"
    if kind == "type":
        expected = {"object": "a mapping", "array": "a list", "string": "text"}.get(
            error.validator_value, f"a {error.validator_value}"
        )
        return f"{where}: expected {expected}, not {instance!r}"
    if kind == "enum":
        return f"{where}: {instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    if kind in ("minProperties", "minItems"):
        return f"{where}: must not be empty"
    if kind == "pattern":
        hint = schema.get("description")
        return f"{where}: {instance!r} is not valid" + (f" ({hint})" if hint else "")
    if kind == "propertyNames":
        return f"{where}: the name {instance!r} is not valid ({schema.get('description')})"
    return f"{where}: {error.message}"


DURATION = re.compile(r"^([1-9][0-9]*)(s|min|h|d)$")


def parse_duration(text: str) -> timedelta:
    """``30min``, ``1h``, ``2d`` or ``90s`` as a timedelta."""
    match = DURATION.match(text)
    if not match:
        raise ConfigurationError(f"{text!r}: expected a duration like 30min, 1h, 2d or 90s")
    unit = {"s": "seconds", "min": "minutes", "h": "hours", "d": "days"}[match[2]]
    return timedelta(**{unit: int(match[1])})


def all_tables(registry: dict[str, Source]) -> list[Table]:
    return [table for source in registry.values() for table in source.tables.values()]
