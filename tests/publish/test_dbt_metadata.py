"""What dbt's documentation says about the warehouse: an overview page, who owns the public marts,
which models are the public interface, and what reads them (exposures), each checked against
the code that decides it."""

from __future__ import annotations

import json
import os

import pytest

from sotelake.publish import indicator_report, packages, steward_report
from sotelake.transform.dbt_build import run_dbt
from sotelake.transform.public_interface import PUBLIC_SCHEMAS, STEWARDS_ONLY


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """dbt's manifest of the project as it is (``dbt parse``: no warehouse needed)."""
    target = tmp_path_factory.mktemp("dbt-target")
    saved = os.environ.get("DBT_TARGET_PATH")
    run_dbt(["parse"], extra_env={"DBT_TARGET_PATH": str(target)})
    assert saved == os.environ.get("DBT_TARGET_PATH")
    return json.loads((target / "manifest.json").read_text())


def models(manifest) -> dict[str, dict]:
    return {
        f"{n['schema']}.{n['alias']}": n
        for key, n in manifest["nodes"].items()
        if key.startswith("model.")
    }


def depends(manifest, exposure: str) -> set[str]:
    node = manifest["exposures"][f"exposure.sotelake.{exposure}"]
    nodes = manifest["nodes"]
    return {f"{nodes[n]['schema']}.{nodes[n]['alias']}" for n in node["depends_on"]["nodes"]}


def test_the_public_marts_are_public_and_everything_else_protected(manifest):
    by_relation = models(manifest)
    public = {r for r, n in by_relation.items() if n["access"] == "public"}
    assert public == {
        r for r in by_relation if r.split(".")[0] in PUBLIC_SCHEMAS and r not in STEWARDS_ONLY
    }
    assert {"marts.indicator_values", "dq.validation_results"} <= public
    assert {n["access"] for r, n in by_relation.items() if r not in public} == {"protected"}


def test_every_public_mart_has_a_group_with_a_steward_as_owner(manifest):
    groups = {g["name"]: g for g in manifest["groups"].values()}
    for relation, node in models(manifest).items():
        if node["access"] == "public":
            owner = groups[node["group"]]["owner"]
            assert owner.get("email") and "steward" in owner.get("name", ""), relation


def test_exposures_depend_on_what_their_code_reads(manifest):
    assert depends(manifest, "indicator_report") == indicator_report.READS
    assert depends(manifest, "sote_information_packages") == packages.READS
    assert depends(manifest, "steward_report") == steward_report.READS
    public = {r for r, n in models(manifest).items() if n["access"] == "public"}
    assert depends(manifest, "gold_zone") == public, "the gold zone exports every public mart"
    assert depends(manifest, "bi_publication") == public
    for exposure in manifest["exposures"].values():
        assert exposure["owner"].get("email"), exposure["name"]


def test_the_docs_open_on_the_projects_own_overview(manifest):
    overview = manifest["docs"]["doc.sotelake.__overview__"]
    assert "wellbeing services county" in overview["block_contents"]
    assert "Welcome!" not in overview["block_contents"]
