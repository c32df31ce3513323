"""The dbt documentation is regenerated when the dbt project changes, and only then."""

import shutil

from sotelake.settings import REPO_ROOT
from sotelake.transform.dbt_build import project_digest


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
