"""Every DAG file imports cleanly and has the expected shape (the conventions, enforced)."""

import subprocess
import sys

import pytest

from sotelake.settings import REPO_ROOT


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"sotelake_pipeline"}


def test_pipeline_tasks_and_order(dagbag):
    dag = dagbag.get_dag("sotelake_pipeline")
    assert set(dag.task_ids) == {"plan", "extract", "validate", "transform", "publish", "conclude"}
    downstream = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
    assert downstream == {
        "plan": {"extract", "validate"},
        "extract": {"validate"},
        "validate": {"transform", "publish", "conclude"},
        "transform": {"publish", "conclude"},
        "publish": {"conclude"},
        "conclude": set(),
    }
    rules = {t.task_id: t.trigger_rule for t in dag.tasks}
    # after failed loads or a failed build, not after a failed plan (no key: nothing ran)
    assert rules["validate"] == rules["publish"] == "all_done_min_one_success"
    assert rules["transform"] == rules["conclude"] == "all_success"


def test_tasks_that_open_the_warehouse_share_one_slot(dagbag):
    dag = dagbag.get_dag("sotelake_pipeline")
    assert {t.task_id for t in dag.tasks if t.pool == "duckdb_writer"} == {"transform", "publish"}
    from airflow.models.pool import Pool

    assert Pool.get_pool("duckdb_writer").slots == 1  # created with the metadata database


def test_runs_record_the_lake_zones_asset_events_one_at_a_time(dagbag):
    """Two runs recording a zone's first asset event at once fail one task on Airflow's unique
    key (a backfill beside the day's run: seen in CI): the task that records them has a pool
    of one slot."""
    dag = dagbag.get_dag("sotelake_pipeline")
    assert {t.task_id for t in dag.tasks if t.pool == "lake_zone_events"} == {"validate"}
    from airflow.models.pool import Pool

    assert Pool.get_pool("lake_zone_events").slots == 1


def test_conventions_tags_retries_timeouts_and_alerts(dagbag):
    from datetime import timedelta

    from sotelake.alerts import on_task_failure

    for dag in dagbag.dags.values():
        assert dag.tags, dag.dag_id
        assert dag.max_active_runs == 1, "the embedded warehouse has one writer"
        assert dag.dagrun_timeout and dag.catchup is False  # catch-up is opt-in
        for task in dag.tasks:
            assert task.retries >= 1, task.task_id
            assert task.retry_exponential_backoff >= 2 and task.max_retry_delay, task.task_id
            assert timedelta(0) < task.execution_timeout <= timedelta(hours=3), task.task_id
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list | tuple) else [callbacks]
            assert on_task_failure in callbacks, task.task_id
            # a returned dict is one XCom, not one per key (inferred from `-> dict`)
            assert not task.multiple_outputs, task.task_id


def test_tasks_record_asset_events_through_their_aliases(dagbag):
    """Each writing task's outlet is its asset alias: it adds an event for each asset it
    changed, with extras (tests/pipeline/test_pipeline_end_to_end.py checks what a run records)."""
    from sotelake.assets import ALIASES

    dag = dagbag.get_dag("sotelake_pipeline")
    outlets = {t.task_id: [a.name for a in t.outlets] for t in dag.tasks}
    assert {task: names for task, names in outlets.items() if names} == {
        task: [alias.name] for task, alias in ALIASES.items()
    }


def test_assets_name_every_lake_zone_and_public_mart():
    from sotelake.assets import lake_zone, public_marts, published_marts
    from sotelake.transform.public_interface import STEWARDS_ONLY

    marts = REPO_ROOT / "dbt" / "models" / "marts"
    models = {
        f"{'dq' if f.parent.name == 'dq' else 'marts'}.{f.stem}" for f in marts.glob("*/*.sql")
    }
    assert set(public_marts()) == models - STEWARDS_ONLY, "the public marts of dbt's access"
    names = {a.name for a in published_marts()}
    assert "sotelake.warehouse.marts.indicator_values" in names
    assert "sotelake.warehouse.dq.validation_results" in names
    raw = lake_zone("raw")
    assert raw.uri.startswith("file:///") and raw.uri.endswith("/lake/raw")
    with pytest.raises(ValueError, match="unknown lake zone"):
        lake_zone("silver")


def test_tasks_refer_to_assets_only_through_their_aliases(dagbag):
    """A zone or mart declared as an inlet or outlet would make Airflow refuse the task once the
    lake or warehouse moved (an asset's name keeps its first URI); the loads run in parallel,
    so none of them adds events (they would race to create a zone's asset)."""
    from airflow.sdk import AssetAlias

    from sotelake.assets import ALIASES

    dag = dagbag.get_dag("sotelake_pipeline")
    declared = {t.task_id: list(t.inlets) + list(t.outlets) for t in dag.tasks}
    assert all(isinstance(a, AssetAlias) for refs in declared.values() for a in refs)
    aliases = {t: [a.name for a in refs] for t, refs in declared.items() if refs}
    assert aliases == {task: [alias.name] for task, alias in ALIASES.items()}
    assert "extract" not in aliases


def test_dag_file_top_level_stays_light():
    """Parsing the DAG file must not import GX, dbt, pandas or DuckDB (they load in the tasks)."""
    probe = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "print(','.join(m for m in ('great_expectations', 'dbt.cli.main', 'pandas', 'duckdb') "
        "if m in sys.modules))"
    )
    dag_file = REPO_ROOT / "dags" / "sotelake_pipeline.py"
    out = subprocess.run(
        [sys.executable, "-c", probe, str(dag_file)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), out.stdout
