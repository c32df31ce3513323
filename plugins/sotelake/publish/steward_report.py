"""The data stewards' report: ``<reports>/quality/index.html``, in Finnish and English.

One static page a steward opens after a run to see what failed, where, how many rows, why and
what was held back: the open items (failed loads, rejected batches, files set aside and late
deliveries, of this run or earlier ones, marked new or persisting, with what resolves each) and
what was resolved since the previous run, status per source and table, failing expectations
with counts, the shapes of the failing values and example rows (pseudonymised; from the
stewards-only dq.validation_examples), the quarantine by reason, the reconciliation checks, the
revisions of published indicator values, and a trend over the last load dates. It reads the
warehouse's dq schema and the lake's open items, and links to the GX Data Docs built beside it.
Every text it shows of a load (errors, notes, example rows) passes through sotelake.withholding,
though the pipeline stored it so already.

It stays usable with thousands of validation results: it shows the latest load of each table
in detail and the history only as daily totals, so its size grows with the number of tables,
not with the number of results.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from sotelake import engine
from sotelake.lake import open_items
from sotelake.publish import charts, quality_phrases, rendering
from sotelake.quality.validate import DOCS_SITES, docs_site
from sotelake.settings import Settings, get_settings
from sotelake.transform.dbt_build import test_results_file
from sotelake.withholding import withhold

log = logging.getLogger(__name__)

LANGUAGES = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}
TEXT = {
    "fi": {
        "title": "Tietojen laatu",
        "open_items": "Avoimet asiat",
        "open_items_none": "Ei avoimia asioita: kaikki lataukset ja toimitukset ovat kunnossa.",
        "open_items_note": (
            "Asia pysyy avoimena, kunnes myöhempi lataus, uudelleenajo tai korjattu toimitus "
            "ratkaisee sen tai joku kuittaa sen perustellen (sotelake dismiss). Niin kauan "
            "päivittäinen ajo epäonnistuu ja hälyttää."
        ),
        "item": "Asia",
        "kind": "Laji",
        "age": "Ikä (pv)",
        "detail": "Mitä tapahtui",
        "action": "Mikä ratkaisee",
        "since_previous": "Edelliseen ajoon verrattuna",
        "trend_names": {"new": "uusi", "persisting": "jatkuu"},
        "kind_names": {
            "failed_load": "lataus epäonnistui",
            "rejected_batch": "erä hylätty",
            "file_set_aside": "tiedosto siirretty syrjään",
            "late_delivery": "toimitus myöhässä",
        },
        "resolved_since": "Ratkaistu edellisen ajon jälkeen",
        "resolution": "Miten",
        "tables": "Lähteet ja taulut",
        "source": "Lähde",
        "table": "Taulu",
        "load_date": "Latauspäivä",
        "status": "Tila",
        "extracted": "Poimittu",
        "loaded": "Ladattu",
        "quarantined": "Karanteenissa",
        "rejected": "Hylätty",
        "checks": "Tarkistukset",
        "failing": "Epäonnistuneet tarkistukset",
        "expectation": "Odotus",
        "column": "Sarake",
        "category": "Luokka",
        "severity": "Vakavuus",
        "rows": "Rivejä",
        "examples": "Esimerkkirivejä",
        "shapes": "Virheellisten arvojen muodot (9 numero, A/a kirjain)",
        "quarantine": "Karanteeni syittäin",
        "reason": "Syy",
        "example_row": "Esimerkkirivi",
        "none": "Ei epäonnistuneita tarkistuksia.",
        "no_quarantine": "Viimeisimmissä latauksissa ei karanteeniin joutuneita rivejä.",
        "reconciliation": "Täsmäytykset",
        "check": "Tarkistus",
        "expected": "Odotettu",
        "actual": "Toteutunut",
        "passed_all": "Kaikki {n} täsmäytystä täsmäävät.",
        "trend": "Kehitys latauspäivittäin",
        "failed_checks": "epäonnistuneet tarkistukset",
        "quarantined_rows": "karanteeniin joutuneet rivit",
        "rejected_rows": "hylätyt rivit",
        "gx": "Great Expectations -raportit (Data Docs)",
        "gx_sites": {"loads": "lataukset", "marts": "julkaistut taulut"},
        "generated": "Päivitetty",
        "more": "ja {n} muuta",
        "notes": "Huomiot",
        "revisions": "Julkaistujen lopullisten lukujen muutokset",
        "revisions_none": "Viimeisimmät ajot eivät muuttaneet yhtään lopullisen kauden lukua.",
        "revisions_intro": "Viimeisten {runs} ajon muutokset (marts.indicator_revisions).",
        "indicator": "Indikaattori",
        "area": "Alue",
        "period": "Kausi",
        "old": "Oli",
        "new": "On",
        "cause": "Syy",
        "revised": "Ajo",
        "status_names": {
            "ok": "kunnossa",
            "warning": "varoitus",
            "error": "rivejä karanteenissa",
            "critical": "hylätty",
            "failed": "lataus epäonnistui",
            "no_data": "ei uutta dataa",
        },
        "severity_names": {"critical": "kriittinen", "error": "virhe", "warning": "varoitus"},
        "meaning": "Mitä se tarkoittaa",
        "todo": "Mitä tehdä",
        "owner": "Kuka yleensä korjaa",
        "code": "tunnus",
        "dbt_tests": "Tietovaraston testit (dbt)",
        "dbt_intro": (
            "Viimeisimmän rakennuksen testit: {passed} läpi, "
            "{failed} virhettä, {warned} varoitusta."
        ),
        "dbt_none": "Tietovarastoa ei ole vielä rakennettu: ei testituloksia.",
        "test": "Testi",
        "model": "Malli",
        "dbt_status": {"fail": "virhe", "error": "virhe", "warn": "varoitus"},
        "resolved_checks": "Korjautuneet edellisen ajon jälkeen",
        "change_names": {"new": "uusi", "persisting": "jatkuu", "resolved": "korjautui"},
        "trend_note": "Kukin kuva omalla asteikollaan.",
    },
    "sv": {
        "title": "Datakvalitet",
        "open_items": "Öppna ärenden",
        "open_items_none": "Inget är öppet: alla laddningar och leveranser är i ordning.",
        "open_items_note": (
            "Ett ärende förblir öppet tills en senare laddning, en omkörning eller en rättad "
            "leverans löser det, eller någon avfärdar det med motivering (sotelake dismiss). "
            "Till dess misslyckas den dagliga körningen och larmar."
        ),
        "item": "Ärende",
        "kind": "Typ",
        "age": "Ålder (d)",
        "detail": "Vad hände",
        "action": "Vad löser det",
        "since_previous": "Jämfört med föregående körning",
        "trend_names": {"new": "ny", "persisting": "kvarstår"},
        "kind_names": {
            "failed_load": "laddningen misslyckades",
            "rejected_batch": "batchen avvisad",
            "file_set_aside": "filen lagd åt sidan",
            "late_delivery": "leveransen försenad",
        },
        "resolved_since": "Lösta sedan föregående körning",
        "resolution": "Hur",
        "tables": "Källor och tabeller",
        "source": "Källa",
        "table": "Tabell",
        "load_date": "Laddningsdag",
        "status": "Status",
        "extracted": "Hämtade",
        "loaded": "Laddade",
        "quarantined": "I karantän",
        "rejected": "Avvisade",
        "checks": "Kontroller",
        "failing": "Misslyckade kontroller",
        "expectation": "Kontroll",
        "column": "Kolumn",
        "category": "Kategori",
        "severity": "Allvarlighet",
        "rows": "Rader",
        "examples": "Exempelrader",
        "shapes": "De felaktiga värdenas former (9 siffra, A/a bokstav)",
        "quarantine": "Karantän per orsak",
        "reason": "Orsak",
        "example_row": "Exempelrad",
        "none": "Inga misslyckade kontroller.",
        "no_quarantine": "Inga rader hamnade i karantän i de senaste laddningarna.",
        "reconciliation": "Avstämningar",
        "check": "Kontroll",
        "expected": "Väntat",
        "actual": "Utfall",
        "passed_all": "Alla {n} avstämningar stämmer.",
        "trend": "Utveckling per laddningsdag",
        "failed_checks": "misslyckade kontroller",
        "quarantined_rows": "rader i karantän",
        "rejected_rows": "avvisade rader",
        "gx": "Great Expectations-rapporter (Data Docs)",
        "gx_sites": {"loads": "laddningar", "marts": "publicerade tabeller"},
        "generated": "Uppdaterad",
        "more": "och {n} till",
        "notes": "Anmärkningar",
        "revisions": "Ändringar i publicerade slutliga siffror",
        "revisions_none": "De senaste körningarna ändrade ingen siffra för en slutlig period.",
        "revisions_intro": (
            "Ändringarna i de senaste {runs} körningarna (marts.indicator_revisions)."
        ),
        "indicator": "Indikator",
        "area": "Område",
        "period": "Period",
        "old": "Var",
        "new": "Är",
        "cause": "Orsak",
        "revised": "Körning",
        "status_names": {
            "ok": "i ordning",
            "warning": "varning",
            "error": "rader i karantän",
            "critical": "avvisad",
            "failed": "laddningen misslyckades",
            "no_data": "inga nya data",
        },
        "severity_names": {"critical": "kritisk", "error": "fel", "warning": "varning"},
        "meaning": "Vad det betyder",
        "todo": "Vad göra",
        "owner": "Vem brukar rätta",
        "code": "kod",
        "dbt_tests": "Informationslagrets tester (dbt)",
        "dbt_intro": (
            "Den senaste byggnadens tester: {passed} godkända, {failed} fel, {warned} varningar."
        ),
        "dbt_none": "Informationslagret har inte byggts ännu: inga testresultat.",
        "test": "Test",
        "model": "Modell",
        "dbt_status": {"fail": "fel", "error": "fel", "warn": "varning"},
        "resolved_checks": "Rättade sedan föregående körning",
        "change_names": {"new": "ny", "persisting": "kvarstår", "resolved": "rättad"},
        "trend_note": "Varje diagram med egen skala.",
    },
    "en": {
        "title": "Data quality",
        "open_items": "Open items",
        "open_items_none": "Nothing is open: every load and delivery is in order.",
        "open_items_note": (
            "An item stays open until a later load, a replay or a corrected delivery resolves "
            "it, or someone dismisses it with a reason (sotelake dismiss). Until then the daily "
            "run fails and alerts."
        ),
        "item": "Item",
        "kind": "Kind",
        "age": "Age (days)",
        "detail": "What happened",
        "action": "What resolves it",
        "since_previous": "Since the previous run",
        "trend_names": {"new": "new", "persisting": "persisting"},
        "kind_names": {
            "failed_load": "load failed",
            "rejected_batch": "batch rejected",
            "file_set_aside": "file set aside",
            "late_delivery": "delivery late",
        },
        "resolved_since": "Resolved since the previous run",
        "resolution": "How",
        "tables": "Sources and tables",
        "source": "Source",
        "table": "Table",
        "load_date": "Load date",
        "status": "Status",
        "extracted": "Extracted",
        "loaded": "Loaded",
        "quarantined": "Quarantined",
        "rejected": "Rejected",
        "checks": "Checks",
        "failing": "Failing expectations",
        "expectation": "Expectation",
        "column": "Column",
        "category": "Category",
        "severity": "Severity",
        "rows": "Rows",
        "examples": "Example rows",
        "shapes": "Shapes of the failing values (9 a digit, A/a a letter)",
        "quarantine": "Quarantine by reason",
        "reason": "Reason",
        "example_row": "Example row",
        "none": "No failing expectations.",
        "no_quarantine": "No rows were quarantined in the latest loads.",
        "reconciliation": "Reconciliation",
        "check": "Check",
        "expected": "Expected",
        "actual": "Actual",
        "passed_all": "All {n} reconciliation checks agree.",
        "trend": "Trend by load date",
        "failed_checks": "failed expectations",
        "quarantined_rows": "quarantined rows",
        "rejected_rows": "rejected rows",
        "gx": "Great Expectations reports (Data Docs)",
        "gx_sites": {"loads": "loads", "marts": "published marts"},
        "generated": "Generated",
        "more": "and {n} more",
        "notes": "Notes",
        "revisions": "Changes to published final figures",
        "revisions_none": "The latest runs changed no figure of a final period.",
        "revisions_intro": "The changes of the last {runs} runs (marts.indicator_revisions).",
        "indicator": "Indicator",
        "area": "Area",
        "period": "Period",
        "old": "Was",
        "new": "Is",
        "cause": "Cause",
        "revised": "Run",
        "status_names": {
            "ok": "ok",
            "warning": "warning",
            "error": "rows quarantined",
            "critical": "rejected",
            "failed": "load failed",
            "no_data": "no new data",
        },
        "severity_names": {"critical": "critical", "error": "error", "warning": "warning"},
        "meaning": "What it means",
        "todo": "What to do",
        "owner": "Who usually fixes it",
        "code": "code",
        "dbt_tests": "Warehouse tests (dbt)",
        "dbt_intro": (
            "The latest build's tests: {passed} passed, {failed} failed, {warned} warnings."
        ),
        "dbt_none": "The warehouse has not been built yet: no test results.",
        "test": "Test",
        "model": "Model",
        "dbt_status": {"fail": "failed", "error": "error", "warn": "warning"},
        "resolved_checks": "Resolved since the previous run",
        "change_names": {"new": "new", "persisting": "persisting", "resolved": "resolved"},
        "trend_note": "Each chart on its own scale.",
    },
}
SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2}
MAX_FAILING = 200
TREND_DAYS = 30
REVISION_RUNS = 5  # the revisions of this many latest runs that made any
MAX_REVISIONS = 200
RECONCILIATIONS = (
    "dq.reconciliation_loads",
    "dq.reconciliation_ledger",
    "dq.reconciliation_indicators",
)
# the marts the report reads (dbt/models/_exposures.yml: steward_report)
READS = frozenset(
    {
        "dq.load_audit",
        "dq.validation_results",
        "dq.validation_examples",
        "dq.quarantine",
        "marts.indicator_revisions",
        *RECONCILIATIONS,
    }
)


def collect(con) -> dict:
    """What the report shows, as plain data (the tests read it too)."""
    loads = engine.rows(
        con,
        """
        select source, table_name, load_date, load_id, extracted, loaded, quarantined, rejected,
               status, error, rejected_files_json, new_columns, withheld_columns, missing_columns,
               codes_withheld
        from dq.load_audit
        qualify row_number() over (partition by source, table_name
                                   order by load_date desc, recorded_at desc) = 1
        order by source, table_name""",
    )
    # the checks of the very loads shown (a table's badge and counts come from one load), and
    # the latest checks of each published mart
    results = engine.rows(
        con,
        """
        with shown as (
            select source, table_name, load_date from dq.load_audit
            qualify row_number() over (partition by source, table_name
                                       order by load_date desc, recorded_at desc) = 1
            union all
            select source, table_name, max(load_date) from dq.validation_results
            where source = 'warehouse' group by all
        )
        select v.* from dq.validation_results v inner join shown
            using (source, table_name, load_date)""",
    )
    by_table: dict[tuple, list[dict]] = {}
    for r in results:
        by_table.setdefault((r["source"], r["table_name"]), []).append(r)
    for load in loads:
        mine = by_table.get((load["source"], load["table_name"]), [])
        failed = [r for r in mine if not r["success"]]
        load["checks"], load["failed"] = len(mine), len(failed)
        worst = min((SEVERITY_ORDER[r["severity"]] for r in failed), default=None)
        load["status_code"] = (
            "failed"
            if load["status"] == "failed"
            else "critical"
            if load["status"] == "rejected"
            else "no_data"
            if load["status"] == "no_data" and not mine
            else "ok"
            if worst is None
            else list(SEVERITY_ORDER)[worst]
        )
        notes = []
        for name, reason in json.loads(load["rejected_files_json"] or "{}").items():
            notes.append(f"{name}: {reason}")
        for label, value in (
            ("new columns", load["new_columns"]),
            ("withheld columns", load["withheld_columns"]),
            ("missing columns", load["missing_columns"]),
        ):
            if value:
                notes.append(f"{label}: {value.replace(';', ', ')}")
        if load["codes_withheld"]:
            notes.append(f"henkilötunnus withheld from free text: {load['codes_withheld']}")
        load["error"] = withhold(load["error"])
        if load["error"]:
            notes.append(load["error"])
        load["notes"] = [withhold(note) for note in notes]
    failing = sorted(
        (r for r in results if not r["success"]),
        key=lambda r: (SEVERITY_ORDER[r["severity"]], r["source"], r["table_name"]),
    )
    # against each table's previous load: which failures are new, which persist, which healed
    failed_before = {
        (r["source"], r["table_name"], r["expectation_type"], r["kwargs_json"]): r
        for r in engine.rows(
            con,
            """
            with shown as (
                select source, table_name, max(load_date) as load_date
                from dq.validation_results group by all
            ),
            previous as (
                select v.source, v.table_name, max(v.load_date) as load_date
                from dq.validation_results v inner join shown s using (source, table_name)
                where v.load_date < s.load_date group by all
            )
            select v.source, v.table_name, v.expectation_type, v.kwargs_json,
                   any_value(v.column_name) as column_name, any_value(v.severity) as severity,
                   max(v.unexpected_count) as unexpected_count, max(v.load_date) as load_date
            from dq.validation_results v inner join previous using (source, table_name, load_date)
            where not v.success group by all""",
        )
    }
    now_failing = set()
    for r in failing:
        key = (r["source"], r["table_name"], r["expectation_type"], r["kwargs_json"])
        now_failing.add(key)
        r["change"] = "persisting" if key in failed_before else "new"
        r["phrase"] = quality_phrases.for_expectation(r["expectation_type"])
    passing_now = {
        (r["source"], r["table_name"], r["expectation_type"], r["kwargs_json"])
        for r in results
        if r["success"]
    }
    resolved = [
        {**r, "phrase": quality_phrases.for_expectation(r["expectation_type"])}
        for key, r in sorted(failed_before.items())
        if key in passing_now and key not in now_failing
    ]
    examples = {}
    if "dq.validation_examples" in engine.tables(con):
        for e in engine.rows(
            con,
            "select load_id, expectation_type, kwargs_json, examples_json "
            "from dq.validation_examples",
        ):
            key = (e["load_id"], e["expectation_type"], e["kwargs_json"])
            examples[key] = json.loads(withhold(e["examples_json"]) or "[]")
    for r in failing:
        r["examples"] = examples.get((r["load_id"], r["expectation_type"], r["kwargs_json"]), [])
        r["shapes"] = list(json.loads(r.get("unexpected_shapes_json") or "{}").items())[:5]
    latest_ids = [load["load_id"] for load in loads]
    quarantine = (
        engine.rows(
            con,
            """
        select source, table_name, reason, count(*) as rows, any_value(reasons) as reasons,
               any_value(row_json) as example
        from dq.quarantine where list_contains(?, load_id)
        group by all order by rows desc""",
            [latest_ids],
        )
        if latest_ids
        else []
    )
    for q in quarantine:
        q["example"] = withhold(q["example"])
        q["phrase"] = quality_phrases.for_reason(q["reason"])
    reconciliation = {"checked": 0, "failed": []}
    present = engine.tables(con)
    for table in RECONCILIATIONS:
        if table in present:  # a check whose inputs were held back was not built this time
            reconciliation["checked"] += con.execute(f"select count(*) from {table}").fetchone()[0]
            reconciliation["failed"] += engine.rows(
                con, f"select * from {table} where not passed order by check_name, scope"
            )
    trend = engine.rows(
        con,
        f"""
        with days as (
            select load_date, sum(quarantined) as quarantined, sum(rejected) as rejected
            from dq.load_audit group by 1 order by 1 desc limit {TREND_DAYS}
        ),
        failures as (
            select load_date, count(*) filter (where not success) as failed
            from dq.validation_results group by 1
        )
        select days.load_date, coalesce(failures.failed, 0) as failed, days.quarantined,
               days.rejected
        from days left join failures using (load_date) order by 1""",
    )
    revisions = (
        engine.rows(
            con,
            f"""
            select indicator_id, area_level, area_code, period_grain, period_start,
                   breakdown_code, old_value, new_value, old_suppressed, new_suppressed, cause,
                   revised_run, revised_at
            from marts.indicator_revisions
            where revised_run in (
                select revised_run from marts.indicator_revisions group by 1
                order by max(revised_at) desc limit {REVISION_RUNS})
            order by revised_at desc, indicator_id, period_start, area_level, area_code
            limit {MAX_REVISIONS}""",
        )
        if "marts.indicator_revisions" in present
        else []
    )
    return {
        "loads": loads,
        "revisions": revisions,
        "failing": failing[:MAX_FAILING],
        "resolved_checks": resolved,
        "failing_more": max(0, len(failing) - MAX_FAILING),
        "quarantine": quarantine,
        "reconciliation": reconciliation,
        "trend": trend,
    }


def _trend_charts(trend: list[dict], text: dict) -> list[str]:
    """Small multiples: failed checks, quarantined rows and rejected rows each on their own
    scale, so that single-digit failures are not flattened by thousands of rejected rows."""
    return [
        charts.line_chart(
            {text[name]: [(f"{t['load_date']:%m-%d}", float(t[column] or 0)) for t in trend]},
            title=text[name],
            decimals=0,
            width=340,
            height=180,
            legend=False,
        )
        for name, column in (
            ("failed_checks", "failed"),
            ("quarantined_rows", "quarantined"),
            ("rejected_rows", "rejected"),
        )
    ]


def dbt_tests(settings: Settings) -> dict:
    """The dbt tests of the latest builds (transform.dbt_build.record_test_results): those that
    fail or warn, each new or persisting since the build before, and those that passed again."""
    path = test_results_file(settings)
    if not path.exists():
        return {"dbt": None}
    kept = json.loads(path.read_text(encoding="utf-8"))
    tests, before = kept.get("tests", {}), kept.get("before", {})
    bad = ("fail", "error", "warn")
    failing, resolved = [], []
    for uid, test in sorted(tests.items()):
        test = {
            **test,
            "message": withhold(test.get("message") or ""),
            "phrase": quality_phrases.for_dbt_test(test["test"]),
        }
        if test["status"] in bad:
            test["change"] = "persisting" if before.get(uid) in bad else "new"
            failing.append(test)
        elif before.get(uid) in bad and test["status"] == "pass":
            resolved.append(test)
    failing.sort(key=lambda t: (t["status"] == "warn", t["model"], t["name"]))
    statuses = [t["status"] for t in tests.values()]
    return {
        "dbt": {
            "failing": failing,
            "resolved": resolved,
            "passed": statuses.count("pass"),
            "failed": statuses.count("fail") + statuses.count("error"),
            "warned": statuses.count("warn"),
            "at": kept.get("at"),
        }
    }


def items(settings: Settings) -> dict:
    """The open items, each marked new or persisting since the previous run's conclusion, and
    the items resolved since then (read from the lake, where they are kept)."""
    found = open_items.trend(settings.lake)
    today = datetime.now(UTC).date()
    shown = [
        {**item, "trend": trend, "age": open_items.age_days(item, today)}
        for trend, group in (("new", found.new), ("persisting", found.persisting))
        for item in group
    ]
    return {"open_items": shown, "resolved_items": found.resolved}


def render_steward_report(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    con = engine.connect_warehouse(settings.warehouse)
    try:
        data = collect(con)
    finally:
        con.close()
    data.update(items(settings))
    data.update(dbt_tests(settings))
    report = settings.reports / "quality"
    indexes = {site: docs_site(settings, site) / "index.html" for site in DOCS_SITES}
    docs = [  # the Data Docs sites built so far, linked relative to the report
        (site, index.relative_to(report).as_posix())
        for site, index in indexes.items()
        if index.exists()
    ]
    path = rendering.render(
        "quality.html",
        report / "index.html",
        languages=LANGUAGES,
        text=TEXT,
        trend_charts={lang: _trend_charts(data["trend"], TEXT[lang]) for lang in LANGUAGES},
        owners=quality_phrases.OWNERS,
        gx_docs=docs,
        revision_runs=REVISION_RUNS,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **data,
    )
    log.info(
        "steward report: %s (%d tables, %d open items, %d failing expectations, "
        "%d quarantine reasons)",
        path,
        len(data["loads"]),
        len(data["open_items"]),
        len(data["failing"]),
        len(data["quarantine"]),
    )
    return path
