"""The catalogue's Sotkanet ids are the checked ones, each with its evidence in docs/sotkanet.md,
and the catalogue says where the project's definition differs from THL's."""

from __future__ import annotations

import csv

from sotelake.settings import REPO_ROOT, get_settings

CHECKED = {
    "population_residents": 127,
    "pc_physician_visits_per_1000": 4123,
    "pc_emergency_visits_per_1000": 5081,
    "specialist_emergency_visits_per_1000": 5077,
}
DIFFERS = ("pc_physician_visits_per_1000", "pc_emergency_visits_per_1000")


def catalogue() -> dict[str, dict]:
    seed = get_settings().dbt_project / "seeds" / "indicator_definitions.csv"
    with open(seed, encoding="utf-8") as f:
        return {row["indicator_id"]: row for row in csv.DictReader(f)}


def test_only_checked_sotkanet_ids_are_in_the_catalogue():
    ids = {i: int(r["sotkanet_id"]) for i, r in catalogue().items() if r["sotkanet_id"]}
    assert ids == CHECKED, "a Sotkanet id needs its evidence in docs/sotkanet.md first"
    evidence = (REPO_ROOT / "docs" / "sotkanet.md").read_text(encoding="utf-8")
    missing = [i for i, sid in ids.items() if f"| `{i}` | {sid} |" not in evidence]
    assert not missing, f"docs/sotkanet.md has no row for {missing}"


def test_the_catalogue_says_where_the_definition_differs_from_thls():
    rows = catalogue()
    for indicator in DIFFERS:
        sid = rows[indicator]["sotkanet_id"]
        for language in ("fi", "sv", "en"):
            assert sid in rows[indicator][f"definition_{language}"], (indicator, language)
    waits = rows["pc_physician_waits_over_7_days_share"]
    assert not waits["sotkanet_id"] and "THL" in waits["definition_en"]
