"""History: events count where the person lived on their day, closed periods do not move, and
every change to a published final value is a revision with its cause."""

import re
import shutil
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from support.daily import daily_run

from sotelake.demo.changes import move_patient
from sotelake.demo.generate import DemoSpec, generate
from sotelake.settings import get_settings
from sotelake.transform.dbt_build import LOAD_DATE_ENV, WHOLE_BUILD, run_dbt

DAY, NEXT = date(2026, 1, 1), date(2026, 1, 2)
KEYS = ("indicator_id", "area_level", "area_code", "period_grain", "period_start", "breakdown_code")
MOVED_ON = date(2025, 11, 20)  # inside November 2025: published, and preliminary on NEXT
LATE = date(2025, 6, 1)  # June 2025: final on NEXT (closed for more than 45 days)


def values(settings, where: str = "true") -> dict[tuple, tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute(
            f"select {', '.join(KEYS)}, numerator, denominator, value, suppressed, period_status "
            f"from marts.indicator_values where {where}"
        ).fetchall()
    return {row[: len(KEYS)]: row[len(KEYS) :] for row in rows}


def query(settings, sql: str, parameters: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql, parameters or []).fetchall()


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A demo county built on DAY, then on NEXT after a move back in November, a visit of June
    soft-deleted and another corrected (a final month), then NEXT again with nothing new."""
    data = tmp_path_factory.mktemp("history")
    generate(DemoSpec(residents=800, seed=11), data)
    mp = pytest.MonkeyPatch()
    mp.setenv("SOTELAKE_DATA_DIR", str(data))
    settings = get_settings()
    try:
        daily_run(settings, DAY)
        before = values(settings)
        published = datetime.now(UTC)
        con = sqlite3.connect(data / "sources" / "unified_record.sqlite")
        stamp = f"{NEXT} 12:00:00"
        patient, home = con.execute(
            "select patient_id, municipality_code from patients join visits using (patient_id) "
            "where not is_deleted group by 1, 2 having min(visit_start) < ? "
            "and max(visit_start) >= ? order by 1 limit 1",
            [f"{MOVED_ON}", f"{MOVED_ON}"],
        ).fetchone()
        moved_to = con.execute(
            "select min(municipality_code) from patients where municipality_code <> ?", [home]
        ).fetchone()[0]
        move_patient(con, patient, moved_to, MOVED_ON, stamp)
        # two physician visits at a health station's reception in June, of other people: one
        # deleted as entered by mistake, the other corrected to a phone call
        june = con.execute(
            "select visits.visit_id from visits join units using (unit_id) "
            "where professional_group = 'LK' and contact_type = 'R10' and not is_deleted "
            "and unit_type = 'health_station' and visit_start >= ? and visit_start < ? "
            "and patient_id <> ? order by visit_id limit 2",
            [f"{LATE}", "2025-07-01", patient],
        ).fetchall()
        con.execute(
            "update visits set is_deleted = 1, updated_at = ? where visit_id = ?",
            [stamp, june[0][0]],
        )
        con.execute(
            "update visits set contact_type = 'R20', updated_at = ? where visit_id = ?",
            [stamp, june[1][0]],
        )
        con.commit()
        con.close()
        second = daily_run(settings, NEXT)
        after = values(settings)
        revisions = query(settings, "select count(*) from marts.indicator_revisions")[0][0]
        versions = query(settings, "select count(*) from marts.indicator_value_history")[0][0]
        again = daily_run(settings, NEXT)  # the same day again: nothing new
        yield {
            "settings": settings,
            "before": before,
            "after": after,
            "published": published,
            "patient": patient,
            "home": home,
            "moved_to": moved_to,
            "june": [v for (v,) in june],
            "second": second,
            "again": again,
            "revisions_after_second": revisions,
            "versions_after_second": versions,
        }
    finally:
        mp.undo()


def test_a_move_changes_no_closed_period_and_counts_from_its_day(history):
    settings = history["settings"]
    assert history["second"]["selected"], "the second day is a daily build"
    before, after = history["before"], history["after"]
    # the periods closed before the move (final) are as they were, but for June's edits
    final = {k for k, v in before.items() if v[4] == "final" and k[4] != LATE}
    changed = {k for k in final if after[k] != before[k]}
    assert final and len(changed) < len(final) / 10
    # ... but for values withheld or published again: secondary suppression protects a year's
    # small months with the others, so a change to one month may change which others are
    # withheld (a revision, test_no_publication_in_the_history_gives_a_withheld_cell_away)
    assert all(before[k][3] or after[k][3] for k in changed), changed
    # the mover's visits count in the old municipality until the day before the move
    (pseudonym,) = query(
        settings,
        "select person_pseudonym from staging.stg_unified_record__patients where patient_id = ?",
        [history["patient"]],
    )[0]
    rows = query(
        settings,
        "select visit_date, home_municipality_code from marts.fct_visits "
        "where person_pseudonym = ? and source_system = 'unified_record'",
        [pseudonym],
    )
    assert {m for d, m in rows if d < MOVED_ON} == {history["home"]}
    assert {m for d, m in rows if d >= MOVED_ON} == {history["moved_to"]}
    residences = query(
        settings,
        "select municipality_code, valid_from, valid_to, is_current "
        "from marts.dim_person_residence where person_pseudonym = ? order by valid_from",
        [pseudonym],
    )
    assert residences[-2:] == [
        (history["home"], residences[-2][1], date(2025, 11, 19), False),
        (history["moved_to"], MOVED_ON, date(9999, 12, 31), True),
    ]


def test_a_late_correction_and_a_soft_delete_are_revisions_with_their_cause(history):
    settings = history["settings"]
    before, after = history["before"], history["after"]
    changed_final = {
        k: (before[k], after.get(k))
        for k in before
        if before[k][4] == "final" and before[k][:4] != (after.get(k) or (None,) * 5)[:4]
    }
    assert changed_final, "the June edits changed final values"
    # other final months only as secondary suppression withholds or publishes them again
    protecting = {k for k in changed_final if k[4] != LATE}
    assert all(before[k][3] != after[k][3] for k in protecting)
    changed_final = {k: v for k, v in changed_final.items() if k not in protecting}
    assert {k[4] for k in changed_final} == {LATE}
    rows = query(
        settings,
        f"select {', '.join(KEYS)}, old_numerator, old_denominator, old_value, new_numerator, "
        "new_denominator, new_value, cause, changed_rows from marts.indicator_revisions",
    )
    revisions = {r[: len(KEYS)]: r[len(KEYS) :] for r in rows}
    assert len(rows) == len(revisions) == history["revisions_after_second"]
    assert set(revisions) == set(changed_final) | protecting
    for key in protecting:
        assert "secondary suppression" in revisions[key][6], key
    for key, (old, new) in changed_final.items():
        assert revisions[key][:6] == (*old[:3], *new[:3]), key
        assert "unified_record.visits: 2 rows added or changed (1 deleted)" in revisions[key][6]
    # physician visits at reception in June: two fewer in the county
    county = next(
        k
        for k in revisions
        if k[0] == "pc_physician_visits_per_1000" and k[1] == "county" and k[3] == "month"
    )
    assert revisions[county][0] - revisions[county][3] == 2


def test_a_run_that_changes_nothing_writes_no_version_or_revision(history):
    settings = history["settings"]
    assert history["again"]["selected"] is not None
    assert (
        query(settings, "select count(*) from marts.indicator_revisions")[0][0]
        == (history["revisions_after_second"])
    )
    assert (
        query(settings, "select count(*) from marts.indicator_value_history")[0][0]
        == (history["versions_after_second"])
    )


def test_the_figures_as_published_on_a_day_are_one_query(history):
    """The README's query of the figures as published at a moment, at the moments after each
    run, gives what indicator_values held then (the status as it was when published)."""
    settings = history["settings"]
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```sql\n(-- the figures as published.*?)```", readme, re.S)
    moment_in_readme = "timestamptz '2026-02-10 12:00:00+02'"
    assert example.count(moment_in_readme) == 2, example
    as_published = example.replace(moment_in_readme, "cast(? as timestamptz)")
    width = len(KEYS) + 5  # the keys, numerator, denominator, value, suppressed, period_status

    def published_at(moment: datetime) -> dict[tuple, tuple]:
        rows = query(settings, as_published, [moment, moment])
        assert rows and len(rows[0]) == width
        return {r[: len(KEYS)]: r[len(KEYS) :] for r in rows}

    assert published_at(history["published"]) == history["before"]
    current = published_at(datetime.now(UTC))
    assert {k: v[:4] for k, v in current.items()} == {k: v[:4] for k, v in history["after"].items()}
    # a withheld cell stays withheld in every version
    assert not query(
        settings,
        "select count(*) from marts.indicator_value_history where suppressed "
        "and (numerator is not null or value is not null)",
    )[0][0]
    assert query(settings, "select count(*) from marts.indicator_value_history where suppressed")


def test_no_publication_in_the_history_gives_a_withheld_cell_away(history):
    """Every past publication (the versions valid at each build) passes the disclosure audit;
    a value withheld now that an earlier version published is a revision, and no version of a
    withheld value publishes its numerator or denominator."""
    from sotelake.publish.disclosure_audit import audit_history

    settings = history["settings"]
    publications = audit_history(settings.warehouse)
    assert len(publications) == 2  # the first day's, the second day's (the third changed nothing)
    for moment, result in publications.items():
        assert result.withheld and not result.failures, f"{moment}: {result.summary()}"
    assert not query(
        settings,
        "select count(*) from marts.indicator_value_history where suppressed "
        "and (numerator is not null or denominator is not null or value is not null)",
    )[0][0]
    # a final value whose withholding changed is a revision
    changed = query(
        settings,
        "select count(*) from marts.indicator_value_history as old "
        "join marts.indicator_value_history as new using (value_key) "
        "where old.valid_to = new.valid_from and old.suppressed <> new.suppressed "
        "and old.period_status = 'final'",
    )[0][0]
    revised = query(
        settings,
        "select count(*) from marts.indicator_revisions where old_suppressed <> new_suppressed",
    )[0][0]
    assert revised == changed
    # ... and the revision of a withheld value, before or after, shows nothing of it
    assert not query(
        settings,
        "select count(*) from marts.indicator_revisions where (old_suppressed and "
        "(old_numerator is not null or old_denominator is not null or old_value is not null)) "
        "or (new_suppressed and "
        "(new_numerator is not null or new_denominator is not null or new_value is not null))",
    )[0][0]


def test_a_value_keeps_when_it_was_first_published(history):
    """first_published_at is the first version's time: the first day's values keep the first
    build's, also when a later run revised them."""
    settings = history["settings"]
    rows = query(
        settings,
        "select values.first_published_at, first.valid_from, values.first_published_at < ?, "
        "exists (select 1 from marts.indicator_revisions as revisions "
        "        where revisions.value_key = first.value_key) "
        "from marts.indicator_values as values join ("
        "    select value_key, min(valid_from) as valid_from "
        "    from marts.indicator_value_history group by value_key) as first "
        "on first.value_key = concat_ws('|', values.indicator_id, values.area_level, "
        "    values.area_code, values.period_grain, cast(values.period_start as varchar), "
        "    values.breakdown, values.breakdown_code)",
        [history["published"]],
    )
    assert len(rows) == len(history["after"])
    assert all(published == first for published, first, *_ in rows)
    # the first day's values (published before the moment after that run), revised ones too
    first_day = [row for row in rows if row[2]]
    assert len(first_day) >= len(history["before"]) * 0.9
    assert any(revised for *_, revised in first_day)


@pytest.mark.slow  # a county built twice (about 35 s): `make test-slow` and CI run it
def test_a_patient_without_a_valid_identifier_counts_where_they_lived(tmp_path, monkeypatch):
    """The visits of a patient whose henkilötunnus is invalid (linked to no one) count where
    the patient lived on each visit's day, as everyone's do: a move learned of later moves the
    visits from its day on, in the next daily build."""
    from stdnum.fi import hetu

    generate(DemoSpec(residents=800, seed=11), tmp_path)
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    settings = get_settings()
    daily_run(settings, DAY)
    con = sqlite3.connect(tmp_path / "sources" / "unified_record.sqlite")
    invalid = [
        patient
        for patient, code in con.execute("select patient_id, hetu from patients")
        if not hetu.is_valid(code or "", allow_temporary=True)
    ]
    patient, visits = max(
        (
            (
                patient,
                con.execute(
                    "select 'U' || visit_id, substr(visit_start, 1, 10) from visits "
                    "where patient_id = ? and not is_deleted order by visit_start",
                    [patient],
                ).fetchall(),
            )
            for patient in invalid
        ),
        key=lambda found: len(found[1]),
    )
    assert len({day for _, day in visits}) >= 2, "a patient with visits on two days or more"
    moved_on = date.fromisoformat(visits[-1][1])  # their last visit's day
    (home,) = con.execute(
        "select municipality_code from patients where patient_id = ?", [patient]
    ).fetchone()
    (moved_to,) = con.execute(
        "select min(municipality_code) from patients where municipality_code <> ?", [home]
    ).fetchone()
    move_patient(con, patient, moved_to, moved_on, f"{NEXT} 12:00:00")
    con.commit()
    con.close()
    second = daily_run(settings, NEXT)
    assert second["selected"], "a daily build"
    counted = dict(
        query(
            settings,
            "select visit_key, home_municipality_code "
            "from intermediate.int_visits_of_unidentified_patients",
        )
    )
    assert {counted[key] for key, day in visits if day < f"{moved_on}"} == {home}
    assert {counted[key] for key, day in visits if day >= f"{moved_on}"} == {moved_to}
    (rebuilt,) = query(
        settings,
        "select rebuilt_from from intermediate.rebuilds "
        "where model = 'int_visits_of_unidentified_patients' order by recorded_at desc limit 1",
    )[0]
    # from the move's day, not from the patient's first visit: their row changed with the move,
    # but only the visits from its day on count elsewhere (the indicators recompute from it)
    assert rebuilt == moved_on


@pytest.mark.slow  # minutes: `make test-slow` and CI run it
def test_a_county_without_a_residence_table_derives_it_from_the_lake(tmp_path, monkeypatch):
    """Without the record system's residence history, the lake's versions of the patient rows
    give the same warehouse (a move counts from the day its new version was changed)."""
    generate(DemoSpec(residents=500, seed=3, moving_rate=0.0), tmp_path)
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    settings = get_settings()
    daily_run(settings, date(2025, 8, 31))  # the rows changed by then
    con = sqlite3.connect(tmp_path / "sources" / "unified_record.sqlite")
    patient, home = con.execute(
        "select patient_id, municipality_code from patients join visits using (patient_id) "
        "group by 1, 2 order by count(*) desc limit 1"
    ).fetchone()
    moved_to = con.execute(
        "select min(municipality_code) from patients where municipality_code <> ?", [home]
    ).fetchone()[0]
    # moved on 1 September, known the same day
    move_patient(con, patient, moved_to, date(2025, 9, 1), "2025-09-01 10:00:00")
    con.commit()
    con.close()
    daily_run(settings, DAY)  # the rows changed since, the move among them
    from_table = values(settings)
    versions = replace(settings, warehouse=tmp_path / "from_versions.duckdb")
    shutil.copyfile(settings.warehouse, versions.warehouse)
    run_dbt(
        [*WHOLE_BUILD, "--full-refresh", "--vars", "{residence_history: patient_versions}"],
        settings=versions,
        extra_env={LOAD_DATE_ENV: DAY.isoformat()},
    )
    assert values(versions) == from_table
    sources = dict(
        query(
            versions,
            "select residence_source, count(*) from marts.dim_person_residence group by 1",
        )
    )
    assert sources.get("patient_versions", 0) > 0 and "residence_table" not in sources
    assert query(
        versions,
        "select municipality_code, valid_from from marts.dim_person_residence "
        "where person_pseudonym = (select person_pseudonym from "
        "staging.stg_unified_record__patients where patient_id = ?) order by valid_from",
        [patient],
    ) == [(home, date(1900, 1, 1)), (moved_to, date(2025, 9, 1))]


@pytest.mark.slow  # a county built twice (about 40 s): `make test-slow` and CI run it
def test_a_changed_population_or_formula_is_named_as_the_cause(tmp_path, monkeypatch):
    """A corrected population of one municipality and a changed formula are each named as the
    cause of the revisions they make, and only of those: the population of that municipality
    and the county, for the indicators that read it; the formula, for its indicator."""
    generate(DemoSpec(residents=500, seed=3), tmp_path / "data")
    project = tmp_path / "dbt"
    shutil.copytree(
        Path(__file__).parents[2] / "dbt", project, ignore=shutil.ignore_patterns("target", "logs")
    )
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SOTELAKE_DBT_PROJECT", str(project))
    settings = get_settings()
    daily_run(settings, DAY)
    # Statistics Finland corrects 2025: one more resident in every row of one municipality
    table = settings.landing / "population" / "residents_2025.csv"
    header, *lines = table.read_text(encoding="utf-8").splitlines()
    rows = [line.split(";") for line in lines]
    residents = {}
    for row in rows:
        residents[row[1]] = residents.get(row[1], 0) + int(row[4])
    # the second largest municipality: the largest is another whose values are published
    corrected = sorted(residents, key=residents.get)[-2]
    for row in rows:
        if row[1] == corrected:
            row[4] = str(int(row[4]) + 1)
    table.write_text("\n".join([header, *(";".join(row) for row in rows)]) + "\n", encoding="utf-8")
    changed_rows = sum(row[1] == corrected for row in rows)
    # ... and the definition of the physician visits changes: phone calls (R50) count too
    formula = project / "models/marts/indicators/formulas/ind_pc_physician_visits_per_1000.sql"
    text, rule = formula.read_text(), "visits.contact_type_code = 'R10'"
    assert rule in text
    formula.write_text(text.replace(rule, "visits.contact_type_code in ('R10', 'R50')"))
    daily_run(settings, NEXT)
    revisions = query(
        settings,
        "select indicator_id, area_code, period_start, cause from marts.indicator_revisions",
    )
    population = f"population.residents: {changed_rows} rows of 2025 changed"
    definition = "the definition changed: formulas/ind_pc_physician_visits_per_1000.sql"
    causes = {}
    for indicator, area, period, cause in revisions:
        assert (definition in cause) == (indicator == "pc_physician_visits_per_1000"), cause
        assert (population in cause) <= (period.year == 2025 and area in ("PO", corrected)), cause
        causes.setdefault((indicator, area), set()).add(cause)
    # the physician visits: the formula everywhere, and the corrected municipality's population
    assert causes[("pc_physician_visits_per_1000", corrected)] == {f"{population}; {definition}"}
    others = {area for indicator, area in causes if indicator == "pc_physician_visits_per_1000"}
    assert others - {"PO", corrected}
    for area in others - {"PO", corrected}:
        assert causes[("pc_physician_visits_per_1000", area)] == {definition}
    # another indicator per resident: the population alone, of that municipality and the county
    assert causes[("pc_nurse_visits_per_1000", corrected)] == {population}
    assert ("pc_nurse_visits_per_1000", min(others - {"PO", corrected})) not in causes


def test_stewards_and_packages_see_revisions_and_status(history):
    from sotelake.publish.indicator_report import render_indicator_report
    from sotelake.publish.packages import render_packages
    from sotelake.publish.steward_report import render_steward_report

    settings = history["settings"]
    page = render_steward_report(settings).read_text()
    june = f'data-indicator="pc_physician_visits_per_1000" data-period="{LATE}"'
    assert june in page and "unified_record.visits: 2 rows added or changed" in page
    written = render_packages(settings, year=2025)
    csv = next(p for p in written if p.suffix == ".csv").read_text(encoding="utf-8-sig")
    assert "period_status" in csv.splitlines()[0] and ",preliminary," in csv
    html = next(p for p in written if p.name == "primary_care.html").read_text()
    assert 'data-status="preliminary"' in html and 'class="preliminary"' in html
    # the indicator report names the first period that is not final: on 2 January 2026 with the
    # default 45 days, November 2025 (closed on 30 November + 45 days = 14 January)
    report = render_indicator_report(settings, "run-report").read_text()
    assert 'data-preliminary-from="2025-11"' in report
    assert 'data-preliminary-from="2025-10"' not in report


def test_a_held_back_source_keeps_back_only_the_indicators_that_read_it(history):
    """A ledger delivery with duplicate posting ids is rejected: the indicators that read the
    ledger keep their values and name the source behind; the others are built (the last test
    of the module: it adds a day)."""
    settings = history["settings"]
    day = date(2026, 1, 3)
    header = "posting_id;period;posting_date;cost_centre;account;amount;production;description"
    line = "2026010000001;2026-01;02.01.2026;ESH-02;4000;100,00;oma;Palkat ja palkkiot"
    ledger = settings.landing / "finance" / "gl_2026-01.csv"
    ledger.write_text("\n".join([header, line, line]) + "\n", encoding="utf-8")
    con = sqlite3.connect(settings.sources_dir / "unified_record.sqlite")
    con.execute(  # a visit recorded late, so that the indicators of visits change
        "insert into visits select max(visit_id) + 1, min(patient_id), min(unit_id), null, "
        "'2025-12-15 09:00:00', 'LK', 'T11', null, 'kiireeton', 'R10', 0, "
        "'2026-01-03 09:05:00', 'LK-1-01' from visits"
    )
    con.commit()
    con.close()
    before = values(settings)
    built = daily_run(settings, day)
    assert "marts.indicator_values" in built["built"]
    assert "marts.fct_ledger_postings" not in built["built"]
    rows = query(
        settings,
        "select indicator_id, max(sources_behind), max(run_id) from marts.indicator_values "
        "group by 1",
    )
    behind = {indicator: late for indicator, late, _ in rows}
    assert {run for _, _, run in rows} == {f"run-{day}"}
    assert behind["budget_deviation_pct"] == "finance"
    assert behind["net_cost_per_resident"] == "finance"
    assert behind["pc_physician_visits_per_1000"] is None
    after = values(settings)
    ledger_based = {k for k in before if behind[k[0]]}
    assert ledger_based and all(after[k][:4] == before[k][:4] for k in ledger_based)
    # the cost per visit reads the visits too, which changed: it keeps its values all the same,
    # and the next build that has the ledger computes its periods again (issue 22)
    assert behind["pc_net_cost_per_visit"] == "finance"
    assert any(k[0] == "pc_net_cost_per_visit" for k in ledger_based)
    [(kept_from,)] = query(
        settings,
        "select rebuilt_from from intermediate.rebuilds "
        "where model = 'indicator_values_kept_back' order by recorded_at desc limit 1",
    )
    assert kept_from is not None and kept_from <= date(2025, 1, 1)
    december = [
        k
        for k in after
        if k[0] == "pc_physician_visits_per_1000" and k[3] == "month" and after[k] != before[k]
    ]
    assert december, "the late visit reached the indicators that read visits"
    # the managers' report says which source was held back and which figures it kept
    from sotelake.publish.indicator_report import render_indicator_report

    page = render_indicator_report(settings).read_text()
    assert 'class="banner held-back" data-held-back="finance"' in page
    cards = dict(re.findall(r'data-indicator="([a-z0-9_]+)">(.*?)</section>', page, re.S))
    assert "held-back-mark" in cards["budget_deviation_pct"]
    assert "held-back-mark" not in cards["pc_physician_visits_per_1000"]
