"""sotelake_pipeline: source systems -> raw lake -> quality checks -> warehouse -> reports.

extract (one mapped task per table of config/sources.yml: pseudonymise, quarantine, raw zone)
  -> validate (each load with its Great Expectations suite, results to dq.validation_results;
     critical: the batch is rejected, error: its failing rows are quarantined; one task, so GX
     is imported once)
  -> transform (one `dbt build` of the DuckDB warehouse; the models of sources whose load
     failed or was rejected are left out and keep their last state)
  -> publish (data/reports/indicators and data/reports/quality, also after a failed build)
  -> conclude (fails the run, loudly, if any load failed or was rejected)

The work lives in the sotelake package (plugins/sotelake); this file only wires it, and keeps
its top level light: heavy imports happen inside the tasks.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task

LOCAL_TIME = "Europe/Helsinki"
RAW_ZONE = Asset(name="sotelake.lake.raw")
WAREHOUSE = Asset(name="sotelake.warehouse.marts")
REPORTS = Asset(name="sotelake.reports")


def _run_id() -> str:
    return get_current_context()["run_id"]


def _no_retry_for_permanent_errors(step, *args):
    """A changed delivery or a rejected batch fails at once; other errors are retried."""
    from airflow.sdk.exceptions import AirflowFailException

    from sotelake.errors import PermanentError

    try:
        return step(*args)
    except PermanentError as error:
        raise AirflowFailException(str(error)) from error


@dag(
    dag_id="sotelake_pipeline",
    description="Extract, pseudonymise, validate, build the warehouse and publish the reports",
    # Daily: each run loads the day of its logical date (incremental tables: the rows changed
    # that day). Backfill a range with `airflow backfill create` or `sotelake backfill`.
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz=LOCAL_TIME),
    catchup=False,
    max_active_runs=1,
    tags=["sotelake", "lake", "warehouse"],
    default_args={"retries": 1, "retry_delay": pendulum.duration(seconds=30)},
    params={
        "load_date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Partition date of the loads (YYYY-MM-DD); default: the run's logical date",
        ),
    },
    doc_md=__doc__,
)
def sotelake_pipeline():
    @task
    def plan(params: dict | None = None) -> list[dict]:
        from datetime import date

        from sotelake.pipeline import plan_loads

        context = get_current_context()
        when = (params or {}).get("load_date")
        if when:
            load_date = date.fromisoformat(when)
        else:  # the day in Finland, not in UTC: midnight in Helsinki is 22:00 UTC the day before
            moment = context.get("logical_date") or context["run_after"]
            load_date = pendulum.instance(moment).in_timezone(LOCAL_TIME).date()
        return plan_loads(load_date)

    @task(map_index_template="{{ load_name }}", outlets=[RAW_ZONE])
    def extract(load: dict) -> dict:
        from sotelake import airflow_secrets
        from sotelake.pipeline import extract as run_extract

        get_current_context()["load_name"] = load["name"]
        return _no_retry_for_permanent_errors(
            run_extract, load, airflow_secrets.pseudonym_key(), airflow_secrets.connection_url
        )

    # Runs even when some loads failed: it validates what loaded and says what did not.
    @task(trigger_rule="all_done")
    def validate(planned: list[dict], loads: list[dict]) -> dict:
        from sotelake.pipeline import validate as run_validate

        return run_validate(planned, loads[:], _run_id())  # [:]: the loads that finished

    # The embedded warehouse is one DuckDB file with one writer: tasks that open it take the
    # one slot of this pool (created by `sotelake airflow ...`, `make demo` and compose's init).
    @task(outlets=[WAREHOUSE], pool="duckdb_writer")
    def transform(checked: dict) -> dict:
        from datetime import date

        from sotelake.pipeline import transform as run_transform

        return _no_retry_for_permanent_errors(
            run_transform, _run_id(), checked["held_back"], date.fromisoformat(checked["load_date"])
        )

    # Runs even when the build failed: the stewards' report must show what went wrong.
    @task(outlets=[REPORTS], pool="duckdb_writer", trigger_rule="all_done")
    def publish() -> dict:
        from sotelake.pipeline import publish as run_publish

        return run_publish(_run_id())

    @task
    def conclude(checked: dict) -> None:
        from sotelake.pipeline import conclude as run_conclude

        _no_retry_for_permanent_errors(run_conclude, checked)

    planned = plan()
    checked = validate(planned, extract.expand(load=planned))
    built = transform(checked)
    published = publish()
    built >> published
    [built, published] >> conclude(checked)


sotelake_pipeline()
