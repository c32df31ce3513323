"""The engine the pipeline builds the warehouse on: ``SOTELAKE_DBT_TARGET`` (settings.dbt_target).

    duckdb    (default) the DuckDB file ``settings.warehouse``, which publish reads
    postgres  the PostgreSQL BI warehouse (``SOTELAKE_BI_WAREHOUSE_URL`` or the Airflow connection
              ``sotelake_bi_warehouse``): the lake is copied in and the models built there, with
              the grants of bi_reader and dq_steward
    spark     Spark: a local session in the task's process, or a Spark Thrift Server when
              ``SOTELAKE_SPARK_THRIFT_HOST`` names one (a cluster)

The same dbt project builds on each (dbt/profiles.yml). Whatever the engine, publish and the
marts' checks read the DuckDB file: after a PostgreSQL or Spark build, sotelake.transform.serving
copies the public schemas into it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sotelake.settings import DBT_TARGET_ENV, ConfigurationError, Settings
from sotelake.transform.dbt_build import (
    DbtResult,
    build,
    build_on_postgres,
    build_on_spark,
    dq_environment,
    postgres_environment,
    run_dbt,
    spark_environment,
)


@dataclass(frozen=True)
class BuildTarget:
    name: str  # duckdb | postgres | spark
    env: dict[str, str] = field(default_factory=dict)  # the dbt environment selecting it
    warehouse_url: str | None = None  # postgres: the database the models are built in

    def build(
        self,
        run_id: str,
        settings: Settings,
        select: str | None = None,
        exclude_sources: list[str] | None = None,
        dq_since: datetime | None = None,
        load_date: date | None = None,
        exclude: list[str] | None = None,
    ) -> DbtResult:
        """``dbt build`` of the project (or of ``select``) on this engine: see
        ``dbt_build.build``; ``dq_since`` and ``exclude`` on DuckDB only (the others read the
        lake's copy, and leave out everything downstream of a held-back source)."""
        if self.name == "postgres":
            return build_on_postgres(
                self.warehouse_url, run_id, settings, select, exclude_sources, load_date
            )
        if self.name == "spark":
            return build_on_spark(run_id, settings, select, exclude_sources, load_date)
        return build(
            run_id,
            settings,
            select,
            exclude_sources,
            dq_since=dq_since,
            load_date=load_date,
            exclude=exclude,
            keep_views=True,
        )

    def rebuild_validation_results(
        self, run_id: str, settings: Settings, dq_since: datetime | None = None
    ) -> DbtResult:
        """``dq.validation_results`` (and the stewards' ``dq.validation_examples``, from the same
        files) again, with the results the marts' checks just added to the lake (PostgreSQL reads
        the lake's copy: its validation results are copied again). After a daily build
        (``dq_since``: when the previous build began), they add the results written since;
        otherwise they read every result file."""
        if self.name == "postgres":
            from sotelake.transform.lake_copy import LAKE_DQ_SCHEMA, copy_lake_to_postgres

            copy_lake_to_postgres(
                self.warehouse_url, settings, only={f"{LAKE_DQ_SCHEMA}.validation_results"}
            )
        since = dq_since if self.name == "duckdb" else None
        args = ["run", "--select", "validation_results", "validation_examples"]
        if since is None:
            args.append("--full-refresh")
        return self.run(args, settings, run_id, dq_environment(settings, since))

    def run(
        self,
        args: list[str],
        settings: Settings,
        run_id: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> DbtResult:
        """Any other dbt command on this engine (``run --select ...``, ``run-operation ...``).

        It writes no artifacts (``--no-write-json``): ``target/`` keeps the build's
        ``manifest.json`` and ``run_results.json``. The build's lineage reads them, after a
        failed Spark build only once the serving copy's ``run-operation`` has run (which
        replaced the build's results with its own). Writing them also took most of a second
        at 650 000 residents."""
        env = {**self.env, **({"SOTELAKE_RUN_ID": run_id} if run_id else {}), **(extra_env or {})}
        return run_dbt([args[0], "--no-write-json", *args[1:]], settings=settings, extra_env=env)


def build_target(
    settings: Settings, connection_lookup: Callable[[str], str | None] | None = None
) -> BuildTarget:
    """The configured engine; on ``postgres``, with the BI warehouse it builds in."""
    if settings.dbt_target == "postgres":
        from sotelake.transform.bi_warehouse import CONNECTION_ID, URL_ENV, bi_warehouse_url

        url = bi_warehouse_url(connection_lookup)
        if not url:
            raise ConfigurationError(
                f"{DBT_TARGET_ENV}=postgres builds the warehouse in the PostgreSQL BI warehouse, "
                f"and none is configured: set {URL_ENV} (postgresql://user:pw@host:port/db) or "
                f"the Airflow connection {CONNECTION_ID}"
            )
        return BuildTarget("postgres", postgres_environment(url, settings), url)
    if settings.dbt_target == "spark":
        return BuildTarget("spark", spark_environment(settings))
    return BuildTarget("duckdb", {DBT_TARGET_ENV: "duckdb"})
