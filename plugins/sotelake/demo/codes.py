"""Codes the demo source systems use, as a county's systems would record them.

The record system uses its own short codes for professional groups and urgency (the warehouse
maps them to conformed codes in ``dbt/seeds/professional_groups.csv`` and staging); service and
contact type follow THL's Avohilmo code sets (PTHAVO palvelumuoto T11 = avosairaanhoito,
outpatient curative care; yhteystapa R10 = asiakkaan käynti vastaanotolla, visit at reception).
"""

PHYSICIAN = "LK"  # lääkäri
NURSE = "SH"  # sairaanhoitaja / terveydenhoitaja (psychiatric nurses too)
DENTIST = "HLK"  # hammaslääkäri
DENTAL_HYGIENIST = "SHY"  # suuhygienisti
PSYCHOLOGIST = "PSY"  # psykologi
URGENT = "kiireellinen"
NON_URGENT = "kiireeton"
SERVICE_PRIMARY_CARE = "T11"  # PTHAVO palvelumuoto: avosairaanhoito
SERVICE_SPECIALIST = "ESH"  # the record system's own codes from here on
SERVICE_HOME_CARE = "KH"
SERVICE_ROUND_THE_CLOCK = "YVH"
SERVICE_CHILD_WELFARE = "LS"
SERVICE_DISABILITY = "VP"
SERVICE_ADULT_SOCIAL_WORK = "AS"
SERVICE_ORAL_HEALTH = "SUU"  # the project's own codes: no national code confirmed
SERVICE_MENTAL_HEALTH = "MT"
SERVICE_SUBSTANCE_ABUSE = "PA"
CONTACT_AT_RECEPTION = "R10"  # Avohilmo yhteystapa: asiakkaan käynti vastaanotolla
CONTACT_PHONE = "R50"  # puhelinyhteys
CONTACT_VIDEO = "R52"  # reaaliaikainen etäasiointi
CONTACT_DIGITAL = "R56"  # etäasiointi ilman reaaliaikaista kontaktia (e-services, messages)

# Disability services (vammaispalvelut): the record system's codes of the service types
DISABILITY_TRANSPORT = "kuljetuspalvelu"  # transport services
DISABILITY_PERSONAL_ASSISTANCE = "henkilokohtainen_apu"  # personal assistance
DISABILITY_HOUSING = "ymparivuorokautinen_asuminen"  # housing with round-the-clock support
DISABILITY_DAY_ACTIVITIES = "paivatoiminta"  # day activities
# Social assistance (toimeentulotuki) the county decides on, and the decision's outcome
ASSISTANCE_SUPPLEMENTARY = "taydentava"  # täydentävä toimeentulotuki
ASSISTANCE_PREVENTIVE = "ehkaiseva"  # ehkäisevä toimeentulotuki
DECISION_GRANTED = "myonteinen"
DECISION_REFUSED = "kielteinen"
# Care types of the outpatient episodes of mental health and substance abuse services
CARE_MENTAL_HEALTH = "mental_health"  # mielenterveyspalvelut
CARE_SUBSTANCE_ABUSE = "substance_abuse"  # päihdepalvelut

# Specialties (erikoisalat) of the demo hospital, with the codes of THL's specialty
# classification as the record system records them; names fi, sv.
SPECIALTIES = {
    "10": ("Sisätaudit", "Inre medicin"),
    "20": ("Kirurgia", "Kirurgi"),
    "30": ("Naistentaudit ja synnytykset", "Kvinnosjukdomar och förlossningar"),
    "40": ("Lastentaudit", "Barnsjukdomar"),
    "50": ("Silmätaudit", "Ögonsjukdomar"),
    "55": ("Korva-, nenä- ja kurkkutaudit", "Öron-, näs- och halssjukdomar"),
    "70": ("Psykiatria", "Psykiatri"),
}
# Frequent diagnoses: ICD-10 (physicians, hospital) and ICPC-2 (primary care nurses).
ICD10 = [
    "J06.9",
    "I10",
    "E11.9",
    "M54.5",
    "J45.9",
    "F32.9",
    "K21.9",
    "N39.0",
    "R05",
    "Z00.0",
    "M17.9",
    "I48.9",
    "J18.9",
    "S52.5",
    "H52.1",
    "O80",
]
ICPC2 = ["R74", "K86", "T90", "L03", "P76", "A97", "S18", "U71", "R05", "L15"]

# Service classes (palveluluokka) of the demo ledger. The codes are this project's demo codes:
# replace them with the Valtiokonttori classification (Liite 2) through the steward-maintained
# mapping dbt/seeds/cost_centre_service_classes.csv when pointing at a real ledger.
# code: (annual net cost per resident in euros, number of cost centres)
SERVICE_CLASS_COSTS = {
    "PTH_AVO": (430.0, 0),  # primary care outpatient: one cost centre per health station
    "SUUN_TH": (140.0, 2),  # oral health care
    "ESH": (1650.0, 3),  # specialist care
    "PAIVYSTYS": (210.0, 1),  # emergency care
    "KOTIHOITO": (340.0, 3),  # home care
    "YMPARIVUOROKAUTINEN": (610.0, 3),  # round-the-clock care for older people
    "LASTENSUOJELU": (220.0, 2),  # child welfare
    "VAMMAISPALVELUT": (430.0, 2),  # disability services
    "MIELENTERVEYS_PAIHDE": (200.0, 2),  # mental health and substance abuse services
    "AIKUISSOSIAALITYO": (150.0, 1),  # adult social work
    "HALLINTO": (260.0, 1),  # administration and support (allocated)
}

# Share of a service class's gross cost bought as client services from others (ostopalvelut and
# palvelusetelit), roughly as in county financial statements: round-the-clock care, child-welfare
# placements and disability services are bought much more than primary or emergency care.
PURCHASED_SHARE = {
    "PTH_AVO": 0.07,
    "SUUN_TH": 0.15,
    "ESH": 0.12,
    "PAIVYSTYS": 0.05,
    "KOTIHOITO": 0.18,
    "YMPARIVUOROKAUTINEN": 0.42,
    "LASTENSUOJELU": 0.55,
    "VAMMAISPALVELUT": 0.58,
    "MIELENTERVEYS_PAIHDE": 0.30,
    "AIKUISSOSIAALITYO": 0.10,
    "HALLINTO": 0.02,
}

# Accounts (tili) of the demo chart, after the municipal chart's income-statement lines
# (JHS 192 / JHS 207): share of the service class's gross cost; revenues are negative. The
# purchases account's share is the class's PURCHASED_SHARE; personnel accounts give way to it.
ACCOUNTS = {
    "4000": ("Palkat ja palkkiot", 0.42),
    "4100": ("Eläkekulut", 0.08),
    "4200": ("Muut henkilösivukulut", 0.03),
    "4300": ("Asiakaspalvelujen ostot", 0.20),
    "4400": ("Muiden palvelujen ostot", 0.10),
    "4500": ("Aineet, tarvikkeet ja tavarat", 0.09),
    "4800": ("Muut toimintakulut", 0.08),
    "3000": ("Myyntituotot", -0.02),
    "3100": ("Maksutuotot", -0.05),
}


def health_station_cost_centre(municipality_code: str, number: int) -> str:
    return f"PTH-{municipality_code}-{number:02d}"


def cost_centre(service_class: str, number: int) -> str:
    return f"{service_class}-{number:02d}"
