"""Changes of a day in the demo's unified record system that a daily build must take in."""

import sqlite3
from datetime import date, timedelta

from sotelake.demo.changes import move_patient


def edit_the_record_system(data, day: date, moved_on: date | None = None) -> dict:
    """Changes of the day that reach the facts through another table than their own, or in
    earlier days: a patient with visits before and after ``moved_on`` (default: ten days before
    ``day``) and a home-care client move, learned of on ``day``; an appointment's booking
    changes; a visit, a home-care visit and a free slot are soft-deleted, a visit corrected, and
    a child-welfare placement ends (a fact that lasts)."""
    moved_on = moved_on or day - timedelta(days=10)
    stamp = f"{day.isoformat()} 12:00:00"
    con = sqlite3.connect(data / "sources" / "unified_record.sqlite")
    try:
        patient, home = con.execute(
            "select patients.patient_id, municipality_code from patients "
            "join visits using (patient_id) where not is_deleted group by 1, 2 "
            "having min(visit_start) < ? and max(visit_start) >= ? order by 1 limit 1",
            [f"{moved_on}", f"{moved_on}"],
        ).fetchone()
        moved_to = con.execute(
            "select min(municipality_code) from patients where municipality_code <> ?", [home]
        ).fetchone()[0]
        move_patient(con, patient, moved_to, moved_on, stamp)
        visits = con.execute(
            "select visit_id, visit_start from visits where patient_id = ? and not is_deleted",
            [patient],
        ).fetchall()
        others = [  # recent visits of others: the build need not go back further
            row
            for row in con.execute(
                "select visit_id, appointment_id from visits where patient_id <> ? "
                "and not is_deleted and visit_start >= ? order by visit_id limit 200",
                [patient, f"{moved_on}"],
            )
        ]
        deleted, corrected = others[0][0], others[1][0]
        rebooked, appointment = next((v, a) for v, a in others[2:] if a is not None)
        con.execute(
            "update visits set is_deleted = 1, updated_at = ? where visit_id = ?",
            [stamp, deleted],
        )
        (start,) = con.execute(
            "select visit_start from visits where visit_id = ?", [corrected]
        ).fetchone()
        corrected_start = f"{start[:11]}07:45:00"
        con.execute(
            "update visits set visit_start = ?, updated_at = ? where visit_id = ?",
            [corrected_start, stamp, corrected],
        )
        booked_at = f"{day.isoformat()} 09:30:00"
        con.execute(
            "update appointments set booked_at = ?, updated_at = ? where appointment_id = ?",
            [booked_at, stamp, appointment],
        )
        home_care_client, home_care_home = con.execute(
            "select patient_id, municipality_code from home_care_visits "
            "join patients using (patient_id) where not is_deleted and patient_id <> ? "
            "group by 1, 2 having count(*) >= 2 and max(visit_start) >= ? order by 1 limit 1",
            [patient, f"{moved_on}"],
        ).fetchone()
        (deleted_home_care_visit,) = con.execute(
            "select max(visit_id) from home_care_visits where patient_id = ? "
            "and not is_deleted and visit_start >= ?",
            [home_care_client, f"{moved_on}"],
        ).fetchone()
        client_to = con.execute(
            "select min(municipality_code) from patients where municipality_code <> ?",
            [home_care_home],
        ).fetchone()[0]
        move_patient(con, home_care_client, client_to, moved_on, stamp)
        con.execute(
            "update home_care_visits set is_deleted = 1, updated_at = ? where visit_id = ?",
            [stamp, deleted_home_care_visit],
        )
        client_visits = con.execute(
            "select visit_id, visit_start from home_care_visits "
            "where patient_id = ? and not is_deleted",
            [home_care_client],
        ).fetchall()
        (deleted_slot,) = con.execute(  # the free slot opened last, deleted as opened by mistake
            "select appointment_id from appointments where status = 'free' and not is_deleted "
            "order by created_at desc, appointment_id limit 1"
        ).fetchone()
        con.execute(
            "update appointments set is_deleted = 1, updated_at = ? where appointment_id = ?",
            [stamp, deleted_slot],
        )
        placement = con.execute(
            "select min(placement_id) from child_welfare_placements "
            "where end_date is null and not is_deleted"
        ).fetchone()[0]
        if placement is not None:
            con.execute(
                "update child_welfare_placements set end_date = ?, updated_at = ? "
                "where placement_id = ?",
                [f"{day - timedelta(days=3)}", stamp, placement],
            )
        con.commit()
    finally:
        con.close()
    return {
        "moved_on": moved_on,
        "moved_from": home,
        "moved_to": moved_to,
        "moved_visits": {v: date.fromisoformat(s[:10]) for v, s in visits},
        "deleted_visit": deleted,
        "corrected_visit": corrected,
        "corrected_start": corrected_start,
        "rebooked_visit": rebooked,
        "booked_at": booked_at,
        "home_care_client_from": home_care_home,
        "home_care_client_to": client_to,
        "home_care_client_visits": {v: date.fromisoformat(s[:10]) for v, s in client_visits},
        "deleted_home_care_visit": deleted_home_care_visit,
        "deleted_slot": deleted_slot,
        "ended_placement": placement,
    }
