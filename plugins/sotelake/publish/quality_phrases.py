"""What a failing check means, in Finnish, Swedish and English, for the steward report.

Every Great Expectations type the suites use, every reason code a quarantined row can carry
(extraction: ``missing``, ``bad_type``, ``parse_error``; henkilötunnus: ``hetu_*``; a failed
expectation of severity error: ``dq_<check>``) and every dbt test the project uses has a phrase:
what it means, what to do, and who usually fixes it (``OWNERS``).
tests/publish/test_steward_report.py checks that nothing the suites, the readers and the dbt
project can produce is missing here.
"""

from __future__ import annotations

LANGUAGES = ("fi", "sv", "en")

OWNERS = {
    "source": {
        "fi": "lähdejärjestelmän omistaja",
        "sv": "källsystemets ägare",
        "en": "the source system's owner",
    },
    "steward": {"fi": "tietovastaava", "sv": "dataförvaltaren", "en": "the data steward"},
    "engineer": {"fi": "data-insinööri", "sv": "dataingenjören", "en": "the data engineer"},
}


def _phrase(owner: str, **texts: tuple[str, str]) -> dict:
    """``texts``: language -> (what it means, what to do)."""
    return {
        "owner": owner,
        **{lang: {"meaning": m, "action": a} for lang, (m, a) in texts.items()},
    }


EXPECTATIONS = {
    "expect_column_values_to_not_be_null": _phrase(
        "source",
        fi=(
            "Pakollinen tieto puuttuu riviltä.",
            "Pyydä lähdejärjestelmää täydentämään tieto; tarkista, onko kirjauskäytäntö muuttunut.",
        ),
        sv=(
            "En obligatorisk uppgift saknas på raden.",
            "Be källsystemet komplettera uppgiften; kontrollera om registreringspraxis ändrats.",
        ),
        en=(
            "A required value is missing from the row.",
            "Ask the source system to fill it in; check whether the recording practice changed.",
        ),
    ),
    "expect_column_values_to_be_null": _phrase(
        "source",
        fi=(
            "Kentässä on arvo, jonka pitäisi olla tyhjä.",
            "Selvitä lähteen kanssa, miksi kenttä täyttyy.",
        ),
        sv=("Fältet har ett värde som borde vara tomt.", "Utred med källan varför fältet fylls i."),
        en=(
            "The field holds a value where none is expected.",
            "Find out with the source why it is filled.",
        ),
    ),
    "expect_column_values_to_be_unique": _phrase(
        "source",
        fi=(
            "Sama tunniste esiintyy useammalla rivillä (kaksoiskappale).",
            "Pyydä lähdettä poistamaan kaksoiskappaleet; jos "
            "toimitus tuli kahdesti, aja lataus uudelleen.",
        ),
        sv=(
            "Samma identifierare finns på flera rader (dubblett).",
            "Be källan ta bort dubbletterna; om leveransen kom två gånger, kör laddningen igen.",
        ),
        en=(
            "The same identifier appears on more than one row (a duplicate).",
            "Ask the source to remove the duplicates; if a delivery came twice, replay the load.",
        ),
    ),
    "expect_compound_columns_to_be_unique": _phrase(
        "source",
        fi=(
            "Sarakkeiden yhdistelmä, jonka pitäisi olla yksilöllinen, toistuu.",
            "Pyydä lähdettä korjaamaan päällekkäiset rivit.",
        ),
        sv=(
            "En kombination av kolumner som borde vara unik upprepas.",
            "Be källan rätta de överlappande raderna.",
        ),
        en=(
            "A combination of columns that should be unique repeats.",
            "Ask the source to correct the overlapping rows.",
        ),
    ),
    "expect_column_values_to_be_in_set": _phrase(
        "steward",
        fi=(
            "Koodi ei kuulu sallittuihin (tuntematon tai uusi koodi).",
            "Jos koodi on uusi ja oikea, lisää se koodistoon; muuten pyydä lähdettä korjaamaan.",
        ),
        sv=(
            "Koden hör inte till de tillåtna (okänd eller ny kod).",
            "Är koden ny och korrekt, lägg till den i kodverket; annars be källan rätta den.",
        ),
        en=(
            "The code is not among the allowed ones (unknown or new).",
            "If the code is new and right, add it to the code set; else ask the source to fix it.",
        ),
    ),
    "expect_column_values_to_be_between": _phrase(
        "source",
        fi=(
            "Arvo on sallitun vaihteluvälin ulkopuolella (esim. negatiivinen kesto).",
            "Tarkista esimerkkirivit ja pyydä lähdettä korjaamaan virheelliset kirjaukset.",
        ),
        sv=(
            "Värdet ligger utanför det tillåtna intervallet (t.ex. negativ längd).",
            "Granska exempelraderna och be källan rätta de felaktiga registreringarna.",
        ),
        en=(
            "The value is outside its allowed range (e.g. a negative duration).",
            "Look at the example rows and ask the source to correct the wrong entries.",
        ),
    ),
    "expect_column_values_to_match_regex": _phrase(
        "source",
        fi=(
            "Arvon muoto on väärä (esim. kunta- tai yksikkökoodi).",
            "Vertaa muotoja odotettuun; pyydä lähdettä korjaamaan muoto.",
        ),
        sv=(
            "Värdet har fel form (t.ex. kommun- eller enhetskod).",
            "Jämför formerna med den väntade; be källan rätta formen.",
        ),
        en=(
            "The value has the wrong form (e.g. a municipality or unit code).",
            "Compare the shapes with the expected one; ask the source to fix the form.",
        ),
    ),
    "expect_column_pair_values_a_to_be_greater_than_b": _phrase(
        "source",
        fi=(
            "Kahden sarakkeen järjestys on väärä (esim. päättyy "
            "ennen alkua tai on tulevaisuudessa).",
            "Tarkista esimerkkirivien päivämäärät; pyydä lähdettä korjaamaan kirjaukset.",
        ),
        sv=(
            "Två kolumner står i fel ordning (t.ex. slutar före start eller ligger i framtiden).",
            "Kontrollera datumen i exempelraderna; be källan rätta registreringarna.",
        ),
        en=(
            "Two columns are in the wrong order (e.g. ends before "
            "it starts, or lies in the future).",
            "Check the dates of the example rows; ask the source to correct the entries.",
        ),
    ),
    "expect_table_row_count_to_be_between": _phrase(
        "engineer",
        fi=(
            "Toimituksen rivimäärä poikkeaa odotetusta (vajaa tai tyhjä toimitus).",
            "Tarkista, tuliko toimitus kokonaan; pyydä puuttuva osa ja aja lataus uudelleen.",
        ),
        sv=(
            "Leveransens radantal avviker från det väntade (ofullständig eller tom leverans).",
            "Kontrollera att hela leveransen kom; begär det som saknas och kör laddningen igen.",
        ),
        en=(
            "The delivery's row count is not what is expected (partial or empty delivery).",
            "Check the whole delivery came; request what is missing and replay the load.",
        ),
    ),
}

REASONS = {
    "missing": _phrase(
        "source",
        fi=("Pakollinen sarake on rivillä tyhjä.", "Pyydä lähdettä täydentämään tieto."),
        sv=("En obligatorisk kolumn är tom på raden.", "Be källan komplettera uppgiften."),
        en=("A required column is empty on the row.", "Ask the source to fill it in."),
    ),
    "bad_type": _phrase(
        "source",
        fi=(
            "Arvoa ei voi lukea oikeana tyyppinä (esim. 30. helmikuuta tai teksti luvun paikalla).",
            "Pyydä lähdettä korjaamaan arvo; rivi tulee mukaan korjatussa toimituksessa.",
        ),
        sv=(
            "Värdet kan inte läsas som rätt typ (t.ex. 30 februari eller text i stället för tal).",
            "Be källan rätta värdet; raden kommer med i en rättad leverans.",
        ),
        en=(
            "The value cannot be read as its type (e.g. 30 February, or text for a number).",
            "Ask the source to correct the value; the row comes in with a corrected delivery.",
        ),
    ),
    "parse_error": _phrase(
        "engineer",
        fi=(
            "Riviä ei voitu jäsentää (rikkinäinen CSV- tai FHIR-rivi).",
            "Tarkista tiedoston muoto ja merkistö; pyydä tarvittaessa uusi toimitus.",
        ),
        sv=(
            "Raden kunde inte tolkas (trasig CSV- eller FHIR-rad).",
            "Kontrollera filens format och teckenkodning; begär vid behov en ny leverans.",
        ),
        en=(
            "The row could not be parsed (a broken CSV or FHIR line).",
            "Check the file's format and encoding; request a new delivery if needed.",
        ),
    ),
    "hetu_missing": _phrase(
        "source",
        fi=(
            "Henkilötunnus puuttuu, joten henkilöä ei voi yhdistää.",
            "Pyydä lähdettä kirjaamaan henkilötunnus tai tilapäinen tunniste.",
        ),
        sv=(
            "Personbeteckningen saknas, så personen kan inte kopplas.",
            "Be källan registrera personbeteckningen eller en tillfällig identifierare.",
        ),
        en=(
            "The henkilötunnus (personal identity code) is missing: the person cannot be linked.",
            "Ask the source to record the identity code or a temporary identifier.",
        ),
    ),
    "hetu_bad_format": _phrase(
        "source",
        fi=("Henkilötunnuksen muoto on väärä.", "Pyydä lähdettä korjaamaan tunnus."),
        sv=("Personbeteckningen har fel form.", "Be källan rätta beteckningen."),
        en=("The identity code has the wrong form.", "Ask the source to correct the code."),
    ),
    "hetu_bad_date_or_number": _phrase(
        "source",
        fi=(
            "Henkilötunnuksen syntymäaikaa ei ole tai yksilönumero on mahdoton.",
            "Pyydä lähdettä korjaamaan tunnus.",
        ),
        sv=(
            "Personbeteckningens födelsedatum finns inte eller individnumret är omöjligt.",
            "Be källan rätta beteckningen.",
        ),
        en=(
            "The identity code's birth date does not exist or its individual number is impossible.",
            "Ask the source to correct the code.",
        ),
    ),
    "hetu_bad_checksum": _phrase(
        "source",
        fi=(
            "Henkilötunnuksen tarkistusmerkki ei täsmää (todennäköisesti kirjoitusvirhe).",
            "Pyydä lähdettä tarkistamaan ja korjaamaan tunnus.",
        ),
        sv=(
            "Personbeteckningens kontrolltecken stämmer inte (troligen ett skrivfel).",
            "Be källan kontrollera och rätta beteckningen.",
        ),
        en=(
            "The identity code's check character does not match (most likely a typing error).",
            "Ask the source to check and correct the code.",
        ),
    ),
}

DBT_TESTS = {
    "not_null": _phrase(
        "engineer",
        fi=(
            "Tietovaraston sarakkeessa on tyhjä arvo.",
            "Selvitä, mikä muunnos jättää arvon tyhjäksi.",
        ),
        sv=(
            "En kolumn i informationslagret har ett tomt värde.",
            "Utred vilken transformation lämnar det tomt.",
        ),
        en=("A warehouse column has an empty value.", "Find which transformation leaves it empty."),
    ),
    "unique": _phrase(
        "engineer",
        fi=("Tietovaraston avain toistuu.", "Etsi muunnos, joka monistaa rivejä (liitos)."),
        sv=(
            "En nyckel i informationslagret upprepas.",
            "Sök transformationen som dubblerar rader (join).",
        ),
        en=("A warehouse key repeats.", "Find the transformation that duplicates rows (a join)."),
    ),
    "unique_combination": _phrase(
        "engineer",
        fi=(
            "Sarakkeiden yhdistelmä toistuu tietovarastossa.",
            "Etsi muunnos, joka monistaa rivejä.",
        ),
        sv=(
            "En kombination av kolumner upprepas i lagret.",
            "Sök transformationen som dubblerar rader.",
        ),
        en=("A combination of columns repeats in the warehouse.", "Find what duplicates the rows."),
    ),
    "accepted_values": _phrase(
        "steward",
        fi=(
            "Tietovarastossa on koodi, jota ei ole sallittujen joukossa.",
            "Lisää uusi koodi koodistoon tai korjaa lähde.",
        ),
        sv=(
            "Lagret har en kod som inte är tillåten.",
            "Lägg till den nya koden i kodverket eller rätta källan.",
        ),
        en=(
            "The warehouse holds a code that is not allowed.",
            "Add the new code to the code set or fix the source.",
        ),
    ),
    "relationships": _phrase(
        "steward",
        fi=(
            "Rivi viittaa tietoon, jota ei ole (esim. käynti potilaaseen, joka on karanteenissa).",
            "Katso karanteeni: kun viitattu rivi korjataan lähteessä, viittaus täsmää.",
        ),
        sv=(
            "Raden hänvisar till något som saknas (t.ex. besök till en patient i karantän).",
            "Se karantänen: när den hänvisade raden rättas i källan stämmer hänvisningen.",
        ),
        en=(
            "A row refers to something that is not there (e.g. a "
            "visit whose patient is quarantined).",
            "See the quarantine: once the referred row is corrected at the source, it matches.",
        ),
    ),
    "expression_is_true": _phrase(
        "engineer",
        fi=(
            "Tietovaraston sääntö ei päde kaikilla riveillä.",
            "Tarkista säännön rivit ja niiden lähde.",
        ),
        sv=("En regel i lagret gäller inte alla rader.", "Granska raderna och deras källa."),
        en=(
            "A warehouse rule does not hold on every row.",
            "Look at the failing rows and where they come from.",
        ),
    ),
}

UNKNOWN = _phrase(
    "engineer",
    fi=("Tarkistus ei mennyt läpi.", "Katso tarkistuksen määrittely ja esimerkkirivit."),
    sv=("Kontrollen gick inte igenom.", "Se kontrollens definition och exempelraderna."),
    en=("The check did not pass.", "See the check's definition and the example rows."),
)


def for_expectation(expectation_type: str) -> dict:
    return EXPECTATIONS.get(expectation_type, UNKNOWN)


def for_reason(reason: str) -> dict:
    """A quarantine reason: an extraction or henkilötunnus code, or ``dq_<check>`` of a failed
    expectation (validate.reason_code), whose phrase is its expectation's."""
    if reason in REASONS:
        return REASONS[reason]
    if reason.startswith("dq_"):
        from sotelake.quality.validate import reason_code

        check = reason.split(":")[0]
        for expectation, phrase in EXPECTATIONS.items():
            if reason_code({"expectation_type": expectation, "column_name": None}) == check:
                return phrase
    return UNKNOWN


def for_dbt_test(test_name: str) -> dict:
    return DBT_TESTS.get(test_name, UNKNOWN)
