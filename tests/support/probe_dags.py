"""Run a small DAG written by a test through real Airflow (``dag.test``), as the pipeline's
DAG runs: parsed from a file, known to the metadata database, its tasks run by Airflow's task
runner with their connections, variables and retry policy."""

from __future__ import annotations

from pathlib import Path


def run_probe_dag(source: str, folder: Path, dag_id: str):
    """Write ``source`` to ``folder/<dag_id>.py``, parse it, and run it once; the DagRun."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    (folder / f"{dag_id}.py").write_text(source)
    bag = DagBag(dag_folder=str(folder))
    assert not bag.import_errors, bag.import_errors
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)  # dag.test runs DAGs the metadata database knows
    return bag.get_dag(dag_id).test()
