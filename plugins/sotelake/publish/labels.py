"""Names of the codes the reports show (areas, units, breakdown classes), in Finnish and Swedish,
from the warehouse's dimensions."""

from __future__ import annotations


def names_by_code(con) -> dict[str, dict[str, str]]:
    """Names of areas and breakdown codes in each language, from the warehouse dimensions."""
    labels: dict[str, dict[str, str]] = {"fi": {}, "sv": {}}
    queries = [
        "select municipality_code, name_fi, name_sv from marts.dim_municipality where is_current",
        "select organiser_code, any_value(organiser_name_fi), any_value(organiser_name_sv) "
        "from marts.dim_municipality where is_current group by organiser_code",
        "select unit_code, name_fi, name_sv from marts.dim_unit",
        "select professional_group_code, name_fi, name_sv from marts.dim_professional_group",
        "select service_class_code, name_fi, name_sv from marts.dim_service_class",
        "select specialty_code, name_fi, name_sv from marts.dim_specialty",
        "select service_type_code, name_fi, name_sv from marts.dim_social_service_type",
    ]
    for query in queries:
        for code, fi, sv in con.execute(query).fetchall():
            labels["fi"][code], labels["sv"][code] = fi, sv
    labels["fi"]["total"], labels["sv"]["total"] = "Yhteensä", "Totalt"
    for group in ("0-6", "7-17", "18-64", "65-74"):  # the age_group macro's classes
        labels["fi"][group], labels["sv"][group] = f"{group}-vuotiaat", f"{group} år"
    labels["fi"]["75+"], labels["sv"]["75+"] = "75 vuotta täyttäneet", "75 år fyllda"
    return labels
