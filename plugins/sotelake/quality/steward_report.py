"""The data stewards' report: ``<reports>/quality/index.html``, in Finnish and English.

One static page a steward opens after a run to see what failed, where, how many rows, why and
what was held back: the loads held back (failed or rejected, with the replay command), status per
source and table, failing expectations with counts and example rows (pseudonymised), the
quarantine by reason, the reconciliation checks, and a trend over the last load dates. It
reads the warehouse's dq schema and links to the GX Data Docs built beside it.

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
from sotelake.publish import charts, rendering
from sotelake.quality.validate import DOCS_SITES, docs_site
from sotelake.settings import Settings, get_settings

log = logging.getLogger(__name__)

LANGUAGES = {"fi": "Suomeksi", "en": "In English"}
TEXT = {
    "fi": {
        "title": "Tietojen laatu",
        "held_back": "Pidätetty tietovarastosta",
        "held_back_none": "Kaikki lataukset päätyivät tietovarastoon.",
        "replay": "Korjauksen jälkeen",
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
        "status_names": {
            "ok": "kunnossa",
            "warning": "varoitus",
            "error": "rivejä karanteenissa",
            "critical": "hylätty",
            "failed": "lataus epäonnistui",
            "no_data": "ei uutta dataa",
        },
        "severity_names": {"critical": "kriittinen", "error": "virhe", "warning": "varoitus"},
    },
    "en": {
        "title": "Data quality",
        "held_back": "Held back from the warehouse",
        "held_back_none": "Every load reached the warehouse.",
        "replay": "After a fix",
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
        "status_names": {
            "ok": "ok",
            "warning": "warning",
            "error": "rows quarantined",
            "critical": "rejected",
            "failed": "load failed",
            "no_data": "no new data",
        },
        "severity_names": {"critical": "critical", "error": "error", "warning": "warning"},
    },
}
SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2}
MAX_FAILING = 200
TREND_DAYS = 30
RECONCILIATIONS = (
    "dq.reconciliation_loads",
    "dq.reconciliation_ledger",
    "dq.reconciliation_indicators",
)
# the marts the report reads (dbt/models/_exposures.yml: steward_report)
READS = frozenset({"dq.load_audit", "dq.validation_results", "dq.quarantine", *RECONCILIATIONS})


def collect(con) -> dict:
    """What the report shows, as plain data (the tests read it too)."""
    loads = engine.rows(
        con,
        """
        select source, table_name, load_date, load_id, extracted, loaded, quarantined, rejected,
               status, error, rejected_files_json, new_columns, withheld_columns, missing_columns
        from dq.load_audit
        qualify row_number() over (partition by source, table_name
                                   order by load_date desc, recorded_at desc) = 1
        order by source, table_name""",
    )
    results = engine.rows(
        con,
        """
        select v.* from dq.validation_results v
        inner join (select source, table_name, max(load_date) as load_date
                    from dq.validation_results group by all) latest
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
        if load["error"]:
            notes.append(load["error"])
        load["notes"] = notes
    held_back = [load for load in loads if load["status"] in ("failed", "rejected")]
    failing = sorted(
        (r for r in results if not r["success"]),
        key=lambda r: (SEVERITY_ORDER[r["severity"]], r["source"], r["table_name"]),
    )
    for r in failing:
        r["examples"] = json.loads(r.get("examples_json") or "[]")
        r["unexpected_values"] = json.loads(r["partial_unexpected_json"] or "[]")[:5]
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
    return {
        "loads": loads,
        "held_back": held_back,
        "failing": failing[:MAX_FAILING],
        "failing_more": max(0, len(failing) - MAX_FAILING),
        "quarantine": quarantine,
        "reconciliation": reconciliation,
        "trend": trend,
    }


def _trend_chart(trend: list[dict], text: dict) -> str:
    series = {
        text[name]: [(f"{t['load_date']:%m-%d}", float(t[column] or 0)) for t in trend]
        for name, column in (
            ("failed_checks", "failed"),
            ("quarantined_rows", "quarantined"),
            ("rejected_rows", "rejected"),
        )
    }
    return charts.line_chart(series, title=text["trend"], decimals=0)


def render_steward_report(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    con = engine.connect_warehouse(settings.warehouse)
    try:
        data = collect(con)
    finally:
        con.close()
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
        trend_charts={lang: _trend_chart(data["trend"], TEXT[lang]) for lang in LANGUAGES},
        gx_docs=docs,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **data,
    )
    log.info(
        "steward report: %s (%d tables, %d held back, %d failing expectations, "
        "%d quarantine reasons)",
        path,
        len(data["loads"]),
        len(data["held_back"]),
        len(data["failing"]),
        len(data["quarantine"]),
    )
    return path
