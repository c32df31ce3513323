"""Fault injection: the errors real source systems deliver, at chosen rates, counted exactly.

``inject(data_dir, rates, seed)`` changes a generated demo in place and returns, per fault, how
many rows (or files) it touched and where, so a test can check that each fault is caught with
its exact count. Invalid henkilötunnus come from the generator itself (``invalid_hetu_rate``).

- impossible_dates: visits.visit_start on 30 February; caught at extraction (bad_type)
- future_dates: visits in 2031, recorded before they happen; expectation (error): quarantine
- unknown_codes: visits.professional_group 'XX'; expectation (error): quarantine
- negative_durations: home_care_visits.duration_min -15; expectation (error): quarantine
- absurd_amounts: ledger amounts of 987 654 321,00; expectation (warning): reported
- duplicate_keys: ledger lines delivered twice; expectation (critical): the batch is rejected
- missing_column: one HR file without sick_leave_days; the HR load fails naming both
- codes_in_free_text: the patient's henkilötunnus written into the legacy visit's diagnosis text
  (``J06 soitto 100349-164T``, every other one in lower case); the load replaces each with a
  marker and counts it in the load audit (codes_withheld)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from sotelake.demo.legacy_system import COLUMNS, ENCODING
from sotelake.privacy.hetu import check

DEFAULT_RATES = {
    "impossible_dates": 0.001,
    "future_dates": 0.001,
    "unknown_codes": 0.001,
    "negative_durations": 0.002,
    "absurd_amounts": 0.001,
    "duplicate_keys": 0.001,
    "missing_column": 1,
    "codes_in_free_text": 0.002,
}


def _pick(rng: np.random.Generator, ids: list, rate: float, taken: set) -> list:
    free = [i for i in ids if i not in taken]
    count = max(1, int(round(len(ids) * rate))) if rate > 0 else 0
    chosen = sorted(rng.choice(free, size=min(count, len(free)), replace=False).tolist())
    taken.update(chosen)
    return chosen


def inject(data_dir: Path, rates: dict[str, float], seed: int) -> dict[str, dict]:
    unknown = set(rates) - set(DEFAULT_RATES)
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)}; choose from {sorted(DEFAULT_RATES)}")
    rng = np.random.default_rng([seed, 404])
    injected: dict[str, dict] = {}
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    visits = [v for (v,) in con.execute("select visit_id from visits order by visit_id")]
    taken: set = set()
    if rates.get("impossible_dates"):
        rows = _pick(rng, visits, rates["impossible_dates"], taken)
        con.executemany(
            "update visits set visit_start = substr(visit_start, 1, 4) || '-02-30'"
            " || substr(visit_start, 11) where visit_id = ?",
            [(v,) for v in rows],
        )
        injected["impossible_dates"] = {"table": "unified_record.visits", "count": len(rows)}
    if rates.get("future_dates"):
        rows = _pick(rng, visits, rates["future_dates"], taken)
        con.executemany(
            "update visits set visit_start = '2031' || substr(visit_start, 5) where visit_id = ?",
            [(v,) for v in rows],
        )
        injected["future_dates"] = {"table": "unified_record.visits", "count": len(rows)}
    if rates.get("unknown_codes"):
        rows = _pick(rng, visits, rates["unknown_codes"], taken)
        con.executemany(
            "update visits set professional_group = 'XX' where visit_id = ?", [(v,) for v in rows]
        )
        injected["unknown_codes"] = {"table": "unified_record.visits", "count": len(rows)}
    if rates.get("negative_durations"):
        home = [v for (v,) in con.execute("select visit_id from home_care_visits order by 1")]
        rows = _pick(rng, home, rates["negative_durations"], set())
        con.executemany(
            "update home_care_visits set duration_min = -15 where visit_id = ?",
            [(v,) for v in rows],
        )
        injected["negative_durations"] = {
            "table": "unified_record.home_care_visits",
            "count": len(rows),
        }
    con.commit()
    con.close()

    ledger = sorted((data_dir / "landing" / "finance").glob("gl_*.csv"))
    lines = {path: path.read_text(encoding="utf-8").splitlines() for path in ledger}
    positions = [(path, i) for path in ledger for i in range(1, len(lines[path]))]
    taken_lines: set = set()
    if rates.get("absurd_amounts"):
        chosen = _pick(rng, list(range(len(positions))), rates["absurd_amounts"], taken_lines)
        for k in chosen:
            path, i = positions[k]
            fields = lines[path][i].split(";")
            fields[5] = "987654321,00"
            lines[path][i] = ";".join(fields)
        injected["absurd_amounts"] = {"table": "finance.ledger_postings", "count": len(chosen)}
    if rates.get("duplicate_keys"):
        chosen = _pick(rng, list(range(len(positions))), rates["duplicate_keys"], taken_lines)
        for k in chosen:
            path, i = positions[k]
            lines[path].append(lines[path][i])
        injected["duplicate_keys"] = {
            "table": "finance.ledger_postings",
            "count": len(chosen),
            "rows_with_a_duplicated_key": 2 * len(chosen),
        }
    for path, text in lines.items():
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
    if rates.get("missing_column"):
        path = sorted((data_dir / "landing" / "hr").glob("hr_*.csv"))[-1]
        rows = [line.split(";")[:3] for line in path.read_text(encoding="utf-8").splitlines()]
        path.write_text("\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")
        injected["missing_column"] = {
            "table": "hr.staff_months",
            "file": path.name,
            "column": "sick_leave_days",
            "count": 1,
        }
    if rates.get("codes_in_free_text"):
        injected["codes_in_free_text"] = _codes_in_free_text(
            data_dir, rng, rates["codes_in_free_text"]
        )
    return injected


def _codes_in_free_text(data_dir: Path, rng: np.random.Generator, rate: float) -> dict:
    """Write the patient's (valid) code into the diagnosis text of some legacy visits."""
    files = sorted((data_dir / "landing" / "legacy_record").glob("kaynnit_*.csv"))
    encoding = {p: ENCODING.get(p.name.split("_")[1], "utf-8-sig") for p in files}
    lines = {}
    for p in files:  # newline="": the files' own CRLF line ends
        with open(p, encoding=encoding[p], newline="") as f:
            lines[p] = f.read().split("\r\n")
    hetu, text = COLUMNS.index("HETU"), COLUMNS.index("DIAGNOOSI")
    positions = [
        (p, i)
        for p in files
        for i in range(1, len(lines[p]))
        if lines[p][i] and check(lines[p][i].split(";")[hetu])[0]
    ]
    chosen = _pick(rng, list(range(len(positions))), rate, set())
    for n, k in enumerate(chosen):
        path, i = positions[k]
        fields = lines[path][i].split(";")
        code = fields[hetu] if n % 2 == 0 else fields[hetu].lower()
        fields[text] = f"{fields[text]} soitto {code}"
        lines[path][i] = ";".join(fields)
    for path in {positions[k][0] for k in chosen}:
        with open(path, "w", encoding=encoding[path], newline="") as f:
            f.write("\r\n".join(lines[path]))
    return {
        "table": "legacy_record.visits",
        "count": len(chosen),
        "lower_case": len(chosen) // 2,
    }
