"""sotelake_pipeline: source systems -> raw lake -> quality checks -> warehouse -> reports.

extract (one mapped task per table of config/sources.yml: pseudonymise, quarantine, raw zone)
  -> validate (each load with its Great Expectations suite, results to dq.validation_results;
     critical: the batch is rejected, error: its failing rows are quarantined; one task, so GX
     is imported once)
  -> transform (one `dbt build` of the DuckDB warehouse, the marts' GX checks and the dbt
     docs; the models of sources whose load failed or was rejected are left out and keep
     their last state)
  -> publish (reports, packages, the gold Parquet zone and, when configured, the PostgreSQL
     BI warehouse; also after a failed build)
  -> conclude (fails the run, loudly, if any load failed or was rejected)

Each task adds an Airflow asset event for what it changed (sotelake.assets: a lake zone, a
public mart, the reports), with extras, so other DAGs can be scheduled on them; and each step
emits OpenLineage events of what it read and wrote, as child runs of the task's own
(sotelake.publish.lineage; docs/lineage.md).

The work lives in the sotelake package (plugins/sotelake); this file only wires it, and keeps
its top level light: heavy imports happen inside the tasks.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from sotelake.alerts import on_task_failure
from sotelake.assets import ALIASES

LOCAL_TIME = "Europe/Helsinki"
# Catch-up: a scheduler that was down runs every missed day in order (each day's window of
# changes), from SOTELAKE_START_DATE; off by default so that unpausing a new install does not
# start a run for every day since the start date. Backfills work either way.
CATCHUP = os.environ.get("SOTELAKE_CATCHUP", "false").lower() in ("1", "true", "yes")
START_DATE = pendulum.parse(os.environ.get("SOTELAKE_START_DATE", "2025-01-01"), tz=LOCAL_TIME)


def _run_id() -> str:
    return get_current_context()["run_id"]


def _record(task: str, make_events) -> None:
    """Add the task's asset events (``make_events`` gives (asset, extra) pairs)."""
    from sotelake.assets import add_events

    add_events(get_current_context()["outlet_events"], task, make_events())


def _lineage_parent() -> dict | None:
    from sotelake.assets import task_lineage_parent

    return task_lineage_parent(get_current_context())


def _no_retry_for_permanent_errors(step, *args, **kwargs):
    """A changed delivery or a rejected batch fails at once; other errors are retried."""
    from airflow.sdk.exceptions import AirflowFailException

    from sotelake.errors import PermanentError

    try:
        return step(*args, **kwargs)
    except PermanentError as error:
        raise AirflowFailException(str(error)) from error


@dag(
    dag_id="sotelake_pipeline",
    description="Extract, pseudonymise, validate, build the warehouse and publish the reports",
    # Daily: each run loads the day of its logical date (incremental tables: the rows changed
    # that day). Backfill a range with `airflow backfill create` or `sotelake backfill`.
    schedule="@daily",
    start_date=START_DATE,
    catchup=CATCHUP,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=12),
    tags=["sotelake", "lake", "warehouse"],
    # Transient errors (a source database restarting, a full disk) are retried after 2, 4, 8
    # minutes; a permanent one (a rejected batch, a changed delivery) fails at once. A task
    # that fails for good is logged and alerted (sotelake.alerts: webhook or email, off by
    # default).
    default_args={
        "retries": 3,
        "retry_delay": pendulum.duration(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": pendulum.duration(minutes=30),
        "execution_timeout": pendulum.duration(hours=1),
        "on_failure_callback": on_task_failure,
    },
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

    # multiple_outputs=False on the tasks that return a dict: Airflow would otherwise infer
    # multiple outputs from the `-> dict` annotation and store every key as its own XCom (20
    # keys x 21 loads: about 6 s of metadata writes a run), though the next task reads the dict.
    @task(
        multiple_outputs=False,
        map_index_template="{{ load_name }}",
        outlets=[ALIASES["extract"]],
        execution_timeout=pendulum.duration(hours=2),
    )
    def extract(load: dict) -> dict:
        from sotelake import airflow_secrets
        from sotelake.assets import load_events
        from sotelake.pipeline import extract as run_extract

        get_current_context()["load_name"] = load["name"]
        loaded = _no_retry_for_permanent_errors(
            run_extract,
            load,
            airflow_secrets.pseudonym_key(),
            airflow_secrets.connection_url,
            lineage_parent=_lineage_parent(),
        )
        _record("extract", lambda: load_events(loaded, _run_id()))
        return loaded

    # Runs even when some loads failed: it validates what loaded and says what did not.
    @task(
        multiple_outputs=False,
        trigger_rule="all_done",
        outlets=[ALIASES["validate"]],
        execution_timeout=pendulum.duration(hours=2),
    )
    def validate(planned: list[dict], loads: list[dict]) -> dict:
        from sotelake.assets import validation_events
        from sotelake.pipeline import validate as run_validate

        # [:]: the loads that finished
        checked = run_validate(planned, loads[:], _run_id(), lineage_parent=_lineage_parent())
        _record("validate", lambda: validation_events(checked, _run_id()))
        return checked

    # The warehouse publish reads is one DuckDB file with one writer (the build, or on the
    # postgres and spark targets the copy of the build's public marts): tasks that open it take
    # the one slot of this pool (created by `sotelake airflow ...`, `make demo` and compose's
    # init).
    @task(
        multiple_outputs=False,
        outlets=[ALIASES["transform"]],
        pool="duckdb_writer",
        execution_timeout=pendulum.duration(hours=3),
    )
    def transform(checked: dict) -> dict:
        from datetime import date

        from sotelake import airflow_secrets
        from sotelake.assets import mart_events
        from sotelake.pipeline import transform as run_transform

        # builds what the run's changed tables feed (the whole project when that is not safe)
        built = _no_retry_for_permanent_errors(
            run_transform,
            _run_id(),
            checked["held_back"],
            date.fromisoformat(checked["load_date"]),
            connection_lookup=airflow_secrets.connection_url,
            changed=checked.get("changed"),
            lineage_parent=_lineage_parent(),
        )
        # the public marts it rebuilt: none of a held-back source's, none on a quiet day
        _record(
            "transform",
            lambda: mart_events(built, _run_id(), checked["load_date"], checked["held_back"]),
        )
        return built

    # Runs even when the build failed: the stewards' report must show what went wrong.
    @task(
        multiple_outputs=False,
        outlets=[ALIASES["publish"]],
        pool="duckdb_writer",
        trigger_rule="all_done",
    )
    def publish() -> dict:
        from sotelake import airflow_secrets
        from sotelake.assets import publish_events
        from sotelake.pipeline import publish as run_publish
        from sotelake.publish.bi_warehouse import bi_warehouse_url

        lookup = airflow_secrets.connection_url
        published = run_publish(
            _run_id(), connection_lookup=lookup, lineage_parent=_lineage_parent()
        )
        url = bi_warehouse_url(lookup)
        _record("publish", lambda: publish_events(published, _run_id(), url))
        return published

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
