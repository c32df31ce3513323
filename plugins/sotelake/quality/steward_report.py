"""The data stewards' report: ``<reports>/quality/index.html``, in Finnish and English.

One page, static, no server: status per source and table for the latest load, the load counts
(extracted = loaded + quarantined), failing expectations with their counts and examples, and
the quarantine by reason. Read from the warehouse's dq schema (dq.load_audit,
dq.validation_results, dq.quarantine), which dbt builds from the lake.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from sotelake import engine
from sotelake.publish import rendering
from sotelake.settings import Settings, get_settings

log = logging.getLogger(__name__)

LANGUAGES = {"fi": "Suomeksi", "en": "In English"}
TEXT = {
    "fi": {
        "title": "Tietojen laatu",
        "tables": "Lähteet ja taulut",
        "source": "Lähde",
        "table": "Taulu",
        "load_date": "Latauspäivä",
        "status": "Tila",
        "extracted": "Poimittu",
        "loaded": "Ladattu",
        "quarantined": "Karanteenissa",
        "checks": "Tarkistukset",
        "failing": "Epäonnistuneet tarkistukset",
        "expectation": "Odotus",
        "column": "Sarake",
        "category": "Luokka",
        "severity": "Vakavuus",
        "rows": "Rivejä",
        "examples": "Esimerkkejä",
        "quarantine": "Karanteeni syittäin",
        "reason": "Syy",
        "example_row": "Esimerkkirivi",
        "none": "Ei epäonnistuneita tarkistuksia.",
        "no_quarantine": "Karanteeni on tyhjä.",
        "generated": "Päivitetty",
        "ok": "kunnossa",
        "critical": "kriittinen",
        "error": "virhe",
        "warning": "varoitus",
        "of": "/",
    },
    "en": {
        "title": "Data quality",
        "tables": "Sources and tables",
        "source": "Source",
        "table": "Table",
        "load_date": "Load date",
        "status": "Status",
        "extracted": "Extracted",
        "loaded": "Loaded",
        "quarantined": "Quarantined",
        "checks": "Checks",
        "failing": "Failing expectations",
        "expectation": "Expectation",
        "column": "Column",
        "category": "Category",
        "severity": "Severity",
        "rows": "Rows",
        "examples": "Examples",
        "quarantine": "Quarantine by reason",
        "reason": "Reason",
        "example_row": "Example row",
        "none": "No failing expectations.",
        "no_quarantine": "The quarantine is empty.",
        "generated": "Generated",
        "ok": "ok",
        "critical": "critical",
        "error": "error",
        "warning": "warning",
        "of": "of",
    },
}
SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2}


def _rows(con, query: str) -> list[dict]:
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def collect(con) -> dict:
    """What the report shows, as plain data (also used by tests)."""
    loads = _rows(
        con,
        """
        select a.source, a.table_name, a.load_date, a.load_id, a.extracted, a.loaded,
               a.quarantined, a.status
        from dq.load_audit a
        qualify row_number() over (partition by a.source, a.table_name
                                   order by a.load_date desc, a.recorded_at desc) = 1
        order by a.source, a.table_name""",
    )
    results = _rows(
        con,
        """
        select v.* from dq.validation_results v
        inner join (select source, table_name, max(load_date) as load_date
                    from dq.validation_results group by all) latest
            using (source, table_name, load_date)
        order by source, table_name""",
    )
    for load in loads:
        mine = [
            r
            for r in results
            if (r["source"], r["table_name"]) == (load["source"], load["table_name"])
        ]
        failed = [r for r in mine if not r["success"]]
        load["checks"] = len(mine)
        load["failed"] = len(failed)
        worst = min((SEVERITY_ORDER[r["severity"]] for r in failed), default=None)
        load["status_code"] = "ok" if worst is None else [*SEVERITY_ORDER][worst]
    failing = sorted(
        (r for r in results if not r["success"]),
        key=lambda r: (SEVERITY_ORDER[r["severity"]], r["source"], r["table_name"]),
    )
    for r in failing:
        r["examples"] = json.loads(r["partial_unexpected_json"] or "[]")[:5]
    quarantine = _rows(
        con,
        """
        select source, table_name, reason, count(*) as rows, any_value(row_json) as example
        from dq.quarantine q
        where load_id in (select load_id from dq.load_audit)
        group by all order by rows desc""",
    )
    return {"loads": loads, "failing": failing, "quarantine": quarantine}


def render_steward_report(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    con = engine.connect_warehouse(settings.warehouse)
    try:
        data = collect(con)
    finally:
        con.close()
    path = rendering.render(
        "quality.html",
        settings.reports / "quality" / "index.html",
        languages=LANGUAGES,
        text=TEXT,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **data,
    )
    log.info(
        "steward report: %s (%d tables, %d failing expectations, %d quarantine reasons)",
        path,
        len(data["loads"]),
        len(data["failing"]),
        len(data["quarantine"]),
    )
    return path
