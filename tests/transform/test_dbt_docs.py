"""The dbt documentation is regenerated when the dbt project changes, and only then."""

import shutil

from sotelake.settings import REPO_ROOT
from sotelake.transform.changes import project_digest


def test_the_project_digest_follows_the_project_files_not_what_dbt_writes(tmp_path):
    project = tmp_path / "dbt"
    shutil.copytree(REPO_ROOT / "dbt", project, ignore=shutil.ignore_patterns("target", "logs"))
    first = project_digest(project)
    assert project_digest(project) == first

    (project / "target").mkdir(exist_ok=True)
    (project / "target" / "manifest.json").write_text("{}")  # dbt's output: not the project
    (project / "logs").mkdir(exist_ok=True)
    (project / "logs" / "dbt.log").write_text("a run")
    assert project_digest(project) == first

    model = project / "models" / "marts" / "core" / "fct_visits.sql"
    model.write_text(model.read_text() + "\n-- a changed model\n")
    changed = project_digest(project)
    assert changed != first

    schema = next((project / "models" / "marts" / "core").glob("_core__models.yml"))
    schema.write_text(schema.read_text().replace("description:", "description: ", 1))
    assert project_digest(project) not in (first, changed), "a changed description counts"


def test_a_run_operation_is_counted_though_its_results_name_no_node(tmp_path, monkeypatch):
    """The Spark build hands its marts to publish with ``dbt run-operation`` (serving.py): its
    results carry no node, and the summary of the run must still be read."""
    from sotelake.settings import get_settings
    from sotelake.transform.dbt_build import run_dbt

    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    result = run_dbt(["run-operation", "grant_public_marts"], settings=get_settings())
    assert result.statuses == {"success": 1}
    assert result.built == [] and result.failures == []
