"""Where things live and which secrets to use, from the environment.

Every path has a default under the repository's ``data/`` folder (the embedded mode of
DESIGN.md); a deployment overrides them with environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

# defined on the ground floor (errors), where the object store's checks raise it too; most
# modules import it from here
from sotelake.errors import ConfigurationError

if TYPE_CHECKING:
    from sotelake.object_store import LakePath

REPO_ROOT = Path(__file__).resolve().parents[2]


def read_yaml(path: Path):
    """A configuration file's YAML (parse_yaml)."""
    return parse_yaml(path.read_text(encoding="utf-8"))


def parse_yaml(text: str):
    """YAML text, with libyaml's parser when present (much faster than the pure-Python one:
    the source registry is read by every load)."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser().resolve() if value else default


def _lake(default: Path) -> LakePath:
    """``SOTELAKE_LAKE``: a local folder, or an object-store URL (``s3://bucket/prefix``, see
    sotelake.lake.storage) checked here, so a mistake is reported before any work starts."""
    value = os.environ.get("SOTELAKE_LAKE", "").strip()
    if "://" in value:
        from sotelake.object_store import object_store_root

        return object_store_root(value)
    return _path("SOTELAKE_LAKE", default)


DBT_TARGET_ENV = "SOTELAKE_DBT_TARGET"
# The engines the same dbt project builds on (dbt/profiles.yml); publish reads every one of them
# through the DuckDB warehouse file (sotelake.transform.serving)
DBT_TARGETS = ("duckdb", "postgres", "spark")


def _dbt_target() -> str:
    """The engine the pipeline's ``dbt build`` runs on: ``SOTELAKE_DBT_TARGET``, default duckdb."""
    value = os.environ.get(DBT_TARGET_ENV, "").strip().lower() or DBT_TARGETS[0]
    if value not in DBT_TARGETS:
        raise ConfigurationError(
            f"{DBT_TARGET_ENV}={os.environ[DBT_TARGET_ENV]!r} is not an engine the warehouse "
            f"builds on: use one of {', '.join(DBT_TARGETS)} (default {DBT_TARGETS[0]})"
        )
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    lake: LakePath  # a local folder, or a folder on an object store (lake.storage)
    warehouse: Path
    reports: Path
    config_dir: Path
    dbt_project: Path
    expectations: Path
    min_cell_size: int  # published counts from 1 to min_cell_size - 1 are suppressed
    dbt_target: str = DBT_TARGETS[0]  # duckdb | postgres | spark: where `dbt build` runs
    # a published period is preliminary until closed for this many days after its end, then final
    period_close_days: int = 45

    @property
    def sources_dir(self) -> Path:
        """Embedded demo source systems (databases), one file per system."""
        return self.data_dir / "sources"

    @property
    def landing(self) -> Path:
        """Where file-delivering source systems drop their files."""
        return self.data_dir / "landing"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"


def get_settings() -> Settings:
    data_dir = _path("SOTELAKE_DATA_DIR", REPO_ROOT / "data")
    return Settings(
        data_dir=data_dir,
        lake=_lake(data_dir / "lake"),
        warehouse=_path("SOTELAKE_WAREHOUSE", data_dir / "warehouse.duckdb"),
        reports=_path("SOTELAKE_REPORTS", data_dir / "reports"),
        config_dir=_path("SOTELAKE_CONFIG", REPO_ROOT / "config"),
        dbt_project=_path("SOTELAKE_DBT_PROJECT", REPO_ROOT / "dbt"),
        expectations=_path("SOTELAKE_EXPECTATIONS", REPO_ROOT / "expectations"),
        min_cell_size=int(os.environ.get("SOTELAKE_MIN_CELL_SIZE", "5")),
        dbt_target=_dbt_target(),
        period_close_days=int(os.environ.get("SOTELAKE_PERIOD_CLOSE_DAYS", "45")),
    )


PSEUDONYM_KEY_ENV = "SOTELAKE_PSEUDONYM_KEY"
PSEUDONYM_KEY_FILE_ENV = "SOTELAKE_PSEUDONYM_KEY_FILE"


def pseudonym_key() -> bytes:
    """The secret key of the henkilötunnus pseudonyms.

    Read from ``SOTELAKE_PSEUDONYM_KEY`` (the key itself) or ``SOTELAKE_PSEUDONYM_KEY_FILE`` (a
    file holding it). The key never lives in the repository or the lake; losing it means new
    pseudonyms for everyone, so keep it in the county's secret store.
    """
    value = os.environ.get(PSEUDONYM_KEY_ENV, "").strip()
    if not value and os.environ.get(PSEUDONYM_KEY_FILE_ENV):
        path = Path(os.environ[PSEUDONYM_KEY_FILE_ENV])
        if not path.is_file():
            raise ConfigurationError(
                f"{PSEUDONYM_KEY_FILE_ENV} points at {path}, which is not a file"
            )
        value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise ConfigurationError(
            "No pseudonymisation key: set SOTELAKE_PSEUDONYM_KEY (or SOTELAKE_PSEUDONYM_KEY_FILE, "
            "or the Airflow Variable sotelake_pseudonym_key). `make demo` creates one for the demo "
            "under data/secrets/."
        )
    if len(value) < 32:
        raise ConfigurationError("The pseudonymisation key must be at least 32 characters long")
    return value.encode("utf-8")
