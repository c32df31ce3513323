"""Changes of a day in the demo's unified record system that a daily build must merge."""

import sqlite3
from datetime import date


def edit_the_record_system(data, day: date) -> dict:
    """Changes of the day in the unified record system that reach the merged marts through
    another table than their own: a patient with visits and one with home-care visits move, an
    appointment's booking changes; and a visit, a home-care visit and a free slot are
    soft-deleted, and a visit corrected."""
    stamp = f"{day.isoformat()} 12:00:00"
    con = sqlite3.connect(data / "sources" / "unified_record.sqlite")
    try:
        patient, home, _ = con.execute(
            "select patients.patient_id, municipality_code, count(*) from patients "
            "join visits using (patient_id) where not is_deleted "
            "group by 1, 2 having count(*) >= 2 order by 1 limit 1"
        ).fetchone()
        moved_to = con.execute(
            "select min(municipality_code) from patients where municipality_code <> ?", [home]
        ).fetchone()[0]
        con.execute(
            "update patients set municipality_code = ?, updated_at = ? where patient_id = ?",
            [moved_to, stamp, patient],
        )
        moved_visits = {
            v
            for (v,) in con.execute(
                "select visit_id from visits where patient_id = ? and not is_deleted", [patient]
            )
        }
        others = [
            row
            for row in con.execute(
                "select visit_id, appointment_id from visits where patient_id <> ? "
                "and not is_deleted order by visit_id limit 200",
                [patient],
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
        home_care_client, deleted_home_care_visit = con.execute(
            "select patient_id, max(visit_id) from home_care_visits where not is_deleted "
            "and patient_id <> ? group by 1 having count(*) >= 2 order by 1 limit 1",
            [patient],
        ).fetchone()
        con.execute(
            "update patients set municipality_code = ?, updated_at = ? where patient_id = ?",
            [moved_to, stamp, home_care_client],
        )
        con.execute(
            "update home_care_visits set is_deleted = 1, updated_at = ? where visit_id = ?",
            [stamp, deleted_home_care_visit],
        )
        client_visits = {
            v
            for (v,) in con.execute(
                "select visit_id from home_care_visits where patient_id = ? and not is_deleted",
                [home_care_client],
            )
        }
        (deleted_slot,) = con.execute(
            "select min(appointment_id) from appointments where status = 'free' and not is_deleted"
        ).fetchone()
        con.execute(
            "update appointments set is_deleted = 1, updated_at = ? where appointment_id = ?",
            [stamp, deleted_slot],
        )
        con.commit()
    finally:
        con.close()
    return {
        "moved_visits": moved_visits,
        "moved_to": moved_to,
        "deleted_visit": deleted,
        "corrected_visit": corrected,
        "corrected_start": corrected_start,
        "rebooked_visit": rebooked,
        "booked_at": booked_at,
        "home_care_client_visits": client_visits,
        "deleted_home_care_visit": deleted_home_care_visit,
        "deleted_slot": deleted_slot,
    }
