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

The plan checks the pseudonymisation key first: without one, or with another key than the one
that made the lake's pseudonyms, the run stops there (lake.pseudonym_key), and nothing runs.

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

from sotelake.airflow_env import DUCKDB_WRITER_POOL, LAKE_EVENTS_POOL
from sotelake.airflow_retries import RetryWhatMayHeal
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


def _run_step(step, *args, **kwargs):
    """A step with its error withheld (no password, no henkilötunnus in the task log or the
    alerts: sotelake.withholding); whether it is retried is the retry policy's
    (sotelake.airflow_retries: a permanent error fails at once)."""
    from sotelake.airflow_secrets import mask_secrets
    from sotelake.withholding import withheld_error

    mask_secrets()
    try:
        return step(*args, **kwargs)
    except Exception as error:
        safe = withheld_error(error)
        if safe is error:
            raise  # with its causes: the retry policy reads them
        raise safe from None


def _skip(why: str) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    raise AirflowSkipException(why)


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
    # Errors that may heal (a refused connection, a lock, a full disk) are retried after 2, 4,
    # 8 minutes, and the task's log says when; one that cannot (configuration, secrets, a
    # missing file, a changed delivery, dbt compilation or a failing test) fails at once, in
    # every task (sotelake.airflow_retries). A task that fails for good is logged and alerted
    # (sotelake.alerts: webhook or email, off by default).
    default_args={
        "retries": 3,
        "retry_delay": pendulum.duration(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": pendulum.duration(minutes=30),
        "retry_policy": RetryWhatMayHeal(),
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
    # Checks the configuration and the secrets before anything moves: the source registry
    # against its schema, and the pseudonymisation key.
    @task
    def plan(params: dict | None = None) -> list[dict]:
        from datetime import date

        from sotelake import airflow_secrets
        from sotelake.pipeline import check_key, plan_loads

        # no key, or not the lake's: the run stops here, before any load
        _run_step(lambda: check_key(airflow_secrets.pseudonym_key()))
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
    # keys for each of the loads, each a metadata write), though the next task reads the dict.
    @task(
        multiple_outputs=False,
        map_index_template="{{ load_name }}",
        execution_timeout=pendulum.duration(hours=2),
    )
    def extract(load: dict) -> dict:
        from sotelake import airflow_secrets
        from sotelake.pipeline import extract as run_extract

        get_current_context()["load_name"] = load["name"]
        loaded = _run_step(
            run_extract,
            load,
            airflow_secrets.pseudonym_key(),
            airflow_secrets.connection_url,
            lineage_parent=_lineage_parent(),
        )
        return loaded

    # Runs even when some loads failed: it validates what loaded and says what did not; not
    # when the plan failed (then no load ran: the key was missing or not the lake's).
    # It also records the zones the loads changed (raw, quarantine), one event per load: from
    # one task, because the first parallel loads to add an event would each create the zone's
    # asset, and one would fail on the other's row (a unique key of Airflow's database). The
    # assets are not declared as inlets or outlets: Airflow would then refuse every task
    # referring to them once the lake moved (an asset's name keeps its first URI). Its pool's
    # one slot keeps two runs (a backfill beside the day's run) from doing the same at once.
    @task(
        multiple_outputs=False,
        trigger_rule="all_done_min_one_success",
        outlets=[ALIASES["validate"]],
        pool=LAKE_EVENTS_POOL,
        execution_timeout=pendulum.duration(hours=2),
    )
    def validate(planned: list[dict] | None, loads: list[dict]) -> dict:
        from sotelake.assets import load_events, validation_events
        from sotelake.pipeline import validate as run_validate

        if planned is None:  # fails, so that the run fails (a skip would end it "success")
            from sotelake.errors import PermanentError

            raise PermanentError("nothing was planned: the plan task failed (its log says why)")
        # loads[:]: the loads that finished
        checked = _run_step(
            run_validate, planned, loads[:], _run_id(), lineage_parent=_lineage_parent()
        )
        _record(
            "validate",
            lambda: (
                [e for load in loads[:] for e in load_events(load, _run_id())]
                + validation_events(checked, _run_id())
            ),
        )
        return checked

    # The warehouse publish reads is one DuckDB file with one writer (the build, or on the
    # postgres and spark targets the copy of the build's public marts): tasks that open it take
    # the one slot of this pool (created by `sotelake airflow ...`, `make demo` and compose's
    # init).
    @task(
        multiple_outputs=False,
        outlets=[ALIASES["transform"]],
        pool=DUCKDB_WRITER_POOL,
        execution_timeout=pendulum.duration(hours=3),
    )
    def transform(checked: dict) -> dict:
        from datetime import date

        from sotelake import airflow_secrets
        from sotelake.assets import mart_events
        from sotelake.pipeline import transform as run_transform

        # builds what the run's changed tables feed (the whole project when that is not safe)
        built = _run_step(
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

    # Runs even when the build failed: the stewards' report must show what went wrong (the
    # validation succeeded); not when the run stopped in its plan.
    @task(
        multiple_outputs=False,
        outlets=[ALIASES["publish"]],
        pool=DUCKDB_WRITER_POOL,
        trigger_rule="all_done_min_one_success",
    )
    def publish(checked: dict | None) -> dict:
        from sotelake import airflow_secrets
        from sotelake.assets import publish_events
        from sotelake.pipeline import publish as run_publish
        from sotelake.transform.bi_warehouse import bi_warehouse_url

        if checked is None:
            _skip("nothing to publish: nothing was validated (the plan task failed)")
        lookup = airflow_secrets.connection_url
        published = _run_step(
            run_publish, _run_id(), connection_lookup=lookup, lineage_parent=_lineage_parent()
        )
        url = bi_warehouse_url(lookup)
        _record("publish", lambda: publish_events(published, _run_id(), url))
        return published

    # Fails (and alerts) while any item is open, this run's or an earlier one's, saying which
    # are new, which persist and which were resolved since the previous run.
    @task(multiple_outputs=False)
    def conclude(checked: dict) -> dict:
        from sotelake.pipeline import conclude as run_conclude

        return _run_step(run_conclude, checked, _run_id())

    planned = plan()
    checked = validate(planned, extract.expand(load=planned))
    built = transform(checked)
    published = publish(checked)
    built >> published
    [built, published] >> conclude(checked)


sotelake_pipeline()
