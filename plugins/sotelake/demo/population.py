"""The demo county's residents: age, sex, municipality, language and a henkilötunnus each, and
the move that brought some of them to their municipality during the demo period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from sotelake.demo.geography import Municipality

# Share of Finland's population by five-year age group 0-4 ... 95-99 (rounded, 2020).
AGE_GROUP_SHARES = np.array(
    [
        4.9,
        5.5,
        5.7,
        5.5,
        5.8,
        6.3,
        6.5,
        6.3,
        6.0,
        5.7,
        6.5,
        6.7,
        6.8,
        6.8,
        6.2,
        4.3,
        3.0,
        1.8,
        0.7,
        0.2,
    ]
)
CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
FIRST_NAMES_FI = [
    "Aino",
    "Eino",
    "Helmi",
    "Juha",
    "Leena",
    "Mikko",
    "Sanna",
    "Timo",
    "Veera",
    "Onni",
]
FIRST_NAMES_SV = [
    "Anna",
    "Erik",
    "Ingrid",
    "Johan",
    "Karin",
    "Lars",
    "Maja",
    "Nils",
    "Sara",
    "Axel",
]
LAST_NAMES = ["Virtanen", "Korhonen", "Nieminen", "Björk", "Lindholm", "Mäkinen", "Sjöberg", "Ahl"]
LANGUAGES = np.array(["fi", "sv", "other"])


@dataclass
class Residents:
    """One row per resident; arrays of equal length (index = person number)."""

    municipality: np.ndarray  # municipality code (str)
    birth_date: np.ndarray  # datetime64[D]
    sex: np.ndarray  # 1 male, 2 female
    language: np.ndarray  # fi | sv | other
    hetu: np.ndarray  # henkilötunnus as delivered by the source (a few are invalid)
    hetu_valid: np.ndarray  # bool: the truth the pipeline must rediscover
    # A resident who moved within the county during the demo period lived in
    # ``previous_municipality`` until the day before ``moved_on``; NaT / None for the others.
    moved_on: np.ndarray = field(default=None)  # datetime64[D]
    previous_municipality: np.ndarray = field(default=None)  # municipality code (str) or None

    def __post_init__(self) -> None:
        if self.moved_on is None:
            self.moved_on = np.full(len(self.sex), np.datetime64("NaT"), "datetime64[D]")
        if self.previous_municipality is None:
            self.previous_municipality = np.full(len(self.sex), None, dtype=object)

    def __len__(self) -> int:
        return len(self.sex)

    def municipality_on(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The municipality of residence of each ``person`` on the matching ``day``."""
        person = np.asarray(person)
        before_move = np.asarray(day, "datetime64[D]") < self.moved_on[person]  # NaT: False
        return np.where(before_move, self.previous_municipality[person], self.municipality[person])

    def age_at(self, day: date) -> np.ndarray:
        born = self.birth_date.astype("datetime64[D]").astype(object)
        return np.array(
            [day.year - b.year - ((day.month, day.day) < (b.month, b.day)) for b in born]
        )


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights that add up exactly to total (largest remainder)."""
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]] += 1
    return counts


def generate_residents(
    rng: np.random.Generator,
    municipalities: list[Municipality],
    count: int,
    reference_day: date,
    invalid_hetu_rate: float,
) -> Residents:
    """Residents of the county on ``reference_day`` (the last day of the demo period)."""
    per_municipality = _apportion(
        count, np.array([m.population_2020 for m in municipalities], float)
    )
    municipality = np.repeat(np.array([m.code for m in municipalities]), per_municipality)
    language = np.concatenate(
        [
            rng.choice(LANGUAGES, size=n, p=np.array(m.language_shares) / sum(m.language_shares))
            for m, n in zip(municipalities, per_municipality, strict=True)
        ]
    )
    group = rng.choice(
        len(AGE_GROUP_SHARES), size=count, p=AGE_GROUP_SHARES / AGE_GROUP_SHARES.sum()
    )
    age = group * 5 + rng.integers(0, 5, size=count)
    # Birth date: reference day minus age years minus 0..364 days, so the age is exact on that day.
    ref = np.datetime64(reference_day, "D")
    birth_year_start = (ref - (age * 365.25).astype(int)).astype("datetime64[D]")
    birth_date = birth_year_start - rng.integers(0, 365, size=count).astype("timedelta64[D]")
    sex = rng.integers(1, 3, size=count)
    hetu = _henkilotunnus(rng, birth_date, sex)
    hetu_valid = np.ones(count, dtype=bool)
    n_invalid = int(round(count * invalid_hetu_rate))
    if n_invalid:
        bad = rng.choice(count, size=n_invalid, replace=False)
        hetu[bad] = [_corrupt(code, i) for i, code in enumerate(hetu[bad])]
        hetu_valid[bad] = False
    return Residents(municipality, birth_date, sex, language, hetu, hetu_valid)


def add_moves(
    rng: np.random.Generator,
    residents: Residents,
    municipalities: list[Municipality],
    start: date,
    end: date,
    yearly_rate: float,
) -> int:
    """Let a share of the residents (``yearly_rate`` a year of the period) have moved to their
    municipality from another municipality of the county on a day of the period (after their
    birth); the previous municipality is drawn by size. Returns how many moved."""
    n = len(residents)
    days = (end - start).days + 1
    day = np.datetime64(start, "D") + rng.integers(0, days, size=n).astype("timedelta64[D]")
    movers = (rng.random(n) < yearly_rate * days / 365) & (residents.birth_date < day)
    movers &= len(municipalities) > 1
    codes = np.array([m.code for m in municipalities])
    weights = np.array([m.population_2020 for m in municipalities], float)
    for i in np.flatnonzero(movers).tolist():
        others = codes != residents.municipality[i]
        residents.previous_municipality[i] = str(
            rng.choice(codes[others], p=weights[others] / weights[others].sum())
        )
        residents.moved_on[i] = day[i]
    return int(movers.sum())


def _henkilotunnus(rng: np.random.Generator, birth_date: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """Unique, valid codes: ddmmyy, century sign (incl. the 2023 signs), individual number, check.

    The individual number is odd for men and even for women; within one birth date and sex the
    numbers are distinct.
    """
    n = len(sex)
    day_number = birth_date.astype("datetime64[D]").astype(np.int64)
    order = np.lexsort((rng.random(n), sex, day_number))
    keys = day_number[order] * 2 + sex[order]
    starts = np.r_[0, np.flatnonzero(np.diff(keys)) + 1]
    group_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    rank = np.arange(n) - starts[group_of]
    base = rng.integers(0, 150, size=len(starts))[group_of]
    individual_sorted = 2 + 2 * (base + rank) + (sex[order] == 1)
    if individual_sorted.max() > 899:
        raise ValueError("Too many residents born on one day for distinct individual numbers")
    individual = np.empty(n, dtype=np.int64)
    individual[order] = individual_sorted

    dates = birth_date.astype("datetime64[D]").astype(object)
    new_sign = rng.random(n) < 0.01  # the century signs introduced in 2023
    codes = np.empty(n, dtype=object)
    for i, (d, nnn) in enumerate(zip(dates, individual, strict=True)):
        if d.year >= 2000:
            sign = "BCDEF"[i % 5] if new_sign[i] else "A"
        elif d.year >= 1900:
            sign = "YXWVU"[i % 5] if new_sign[i] else "-"
        else:
            sign = "+"
        ddmmyy = f"{d.day:02d}{d.month:02d}{d.year % 100:02d}"
        check = CHECK_CHARACTERS[int(f"{ddmmyy}{nnn:03d}") % 31]
        codes[i] = f"{ddmmyy}{sign}{nnn:03d}{check}"
    return codes


def _corrupt(code: str, i: int) -> str:
    """An invalid code of the kinds seen in real record systems (typo in check mark, format)."""
    kind = i % 3
    if kind == 0:  # wrong check character
        good = code[-1]
        return code[:-1] + CHECK_CHARACTERS[(CHECK_CHARACTERS.index(good) + 7) % 31]
    if kind == 1:  # separator lost
        return code[:6] + code[7:]
    return code[:2] + "13" + code[4:]  # month 13: not a birth date
