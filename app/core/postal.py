"""US postal addresses: parsed and normalised to USPS Publication 28 form, their ZIP code, city
and state checked against the ZIP database that ships with the `zipcodes` package (nothing is
fetched at run time), and geocoded to the ZIP code's centroid."""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from enum import StrEnum
from functools import cache
from typing import Any

import usaddress  # type: ignore[import-untyped]  # the package ships no type information
import zipcodes
from scourgify import normalize_address_record  # type: ignore[import-untyped]  # no types

# Longer text is no postal address (USPS lines are at most 64 characters each); it is refused
# before the parser, whose work grows with the text, ever sees it.
MAX_POSTAL_CHARS = 200
MAX_ALTERNATIVES = 5
# A city name this close to the ZIP code's city is taken as a misspelling of it.
CITY_SPELLING_RATIO = 0.8
_ZIP = re.compile(r"\d{5}")


class Problem(StrEnum):
    """Why an address is not a valid US street address as given."""

    NOT_US = "not_us"
    TOO_LONG = "too_long"
    UNPARSEABLE = "unparseable"
    PO_BOX = "po_box"
    NO_HOUSE_NUMBER = "no_house_number"
    UNKNOWN_STATE = "unknown_state"
    NO_ZIP = "no_zip"
    UNKNOWN_ZIP = "unknown_zip"
    NOT_A_STREET_ZIP = "not_a_street_zip"
    STATE_ZIP_MISMATCH = "state_zip_mismatch"
    CITY_ZIP_MISMATCH = "city_zip_mismatch"
    CITY_SPELLING = "city_spelling"


@dataclass(frozen=True)
class Reason:
    """One thing said about an address: what is wrong with it, or what was corrected."""

    problem: Problem
    message: str


@dataclass(frozen=True)
class PostalAddress:
    """A normalised US street address and the centroid of its ZIP code."""

    street_number: str
    street_name: str
    city: str
    state: str
    postcode: str
    latitude: float
    longitude: float

    @property
    def line(self) -> str:
        """The one-line form, e.g. `1 MAIN ST, SPRINGFIELD, IL 62701`."""
        return f"{self.street_number} {self.street_name}, {self.city}, {self.state} {self.postcode}"


@dataclass(frozen=True)
class PostalCheck:
    """The outcome: the valid address (if it is one), addresses it may have meant, and why."""

    valid: PostalAddress | None
    alternatives: list[PostalAddress] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)


@dataclass(frozen=True)
class _Zip:
    code: str
    kind: str
    city: str
    cities: frozenset[str]
    state: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class _ZipBook:
    by_code: dict[str, _Zip]
    by_city: dict[tuple[str, str], list[_Zip]]
    states: frozenset[str]


@cache
def _zip_book() -> _ZipBook:
    """The ZIP database indexed by code and by (city, state); read once per process."""
    by_code: dict[str, _Zip] = {}
    by_city: dict[tuple[str, str], list[_Zip]] = defaultdict(list)
    rows: list[dict[str, Any]] = zipcodes.list_all()  # type: ignore[no-untyped-call]  # untyped
    for row in rows:
        if not row["active"] or not row["lat"] or not row["long"]:
            continue
        cities = frozenset(c.upper() for c in [row["city"], *row["acceptable_cities"]])
        entry = _Zip(
            code=row["zip_code"],
            kind=row["zip_code_type"],
            city=row["city"].upper(),
            cities=cities,
            state=row["state"],
            latitude=float(row["lat"]),
            longitude=float(row["long"]),
        )
        by_code[entry.code] = entry
        if entry.kind == "STANDARD":
            for city in cities:
                by_city[(city, entry.state)].append(entry)
    # A city's own ZIP codes first, then those where its name is only accepted.
    for (city, _), found in by_city.items():
        found.sort(key=lambda z: (z.city != city, z.code))
    return _ZipBook(by_code, dict(by_city), frozenset(z.state for z in by_code.values()))


def load() -> None:
    """Read the ZIP database now (it takes a second or two), rather than on first use."""
    _zip_book()


def _at(number: str, street: str, zip_entry: _Zip) -> PostalAddress:
    return PostalAddress(
        street_number=number,
        street_name=street,
        city=zip_entry.city,
        state=zip_entry.state,
        postcode=zip_entry.code,
        latitude=zip_entry.latitude,
        longitude=zip_entry.longitude,
    )


def _is_po_box(text: str) -> bool:
    try:
        parts, kind = usaddress.tag(text)
    except Exception:  # usaddress refuses ambiguous text with its own errors: not a box
        return False
    return bool(kind == "PO Box" or "USPSBoxID" in parts)


def _parse(text: str) -> dict[str, Any] | Reason:
    if _is_po_box(text):
        return Reason(
            Problem.PO_BOX, "a PO box takes mail, not a connection: give a street address"
        )
    try:
        parsed: dict[str, Any] = dict(normalize_address_record(text))
    # The parser signals the many ways text is not an address with many exception classes.
    except Exception:
        return Reason(
            Problem.UNPARSEABLE,
            "not a US street address: give a house number, street, city, state and ZIP code",
        )
    return parsed


def check(text: str) -> PostalCheck:
    """Parse, normalise and check one-line address text; never raises on any text."""
    text = text.strip()
    if len(text) > MAX_POSTAL_CHARS:
        return PostalCheck(
            None,
            reasons=[
                Reason(
                    Problem.TOO_LONG,
                    f"{len(text)} characters is too long for a postal address "
                    f"(at most {MAX_POSTAL_CHARS})",
                )
            ],
        )
    parsed = _parse(text)
    if isinstance(parsed, Reason):
        return PostalCheck(None, reasons=[parsed])
    number, _, street = (parsed.get("address_line_1") or "").partition(" ")
    if not number[:1].isdigit() or not street:
        return PostalCheck(
            None, reasons=[Reason(Problem.NO_HOUSE_NUMBER, "a street address needs a house number")]
        )
    book = _zip_book()
    state = (parsed.get("state") or "").upper()
    city = (parsed.get("city") or "").upper()
    if state not in book.states:
        return PostalCheck(
            None,
            reasons=[Reason(Problem.UNKNOWN_STATE, f"'{state or '?'}' is not a US state")],
        )
    in_city = book.by_city.get((city, state), [])[:MAX_ALTERNATIVES]
    city_alternatives = [_at(number, street, z) for z in in_city]
    postcode = (parsed.get("postal_code") or "")[:5]
    if not _ZIP.fullmatch(postcode):
        reason = Reason(Problem.NO_ZIP, "give the ZIP code")
        return PostalCheck(None, city_alternatives, [reason])
    zip_entry = book.by_code.get(postcode)
    if zip_entry is None:
        reason = Reason(Problem.UNKNOWN_ZIP, f"ZIP code {postcode} does not exist")
        return PostalCheck(None, city_alternatives, [reason])
    if zip_entry.kind != "STANDARD":
        kind = zip_entry.kind.lower()
        reason = Reason(
            Problem.NOT_A_STREET_ZIP,
            f"ZIP code {postcode} serves {kind} addresses only, not street addresses",
        )
        return PostalCheck(None, city_alternatives, [reason])
    if zip_entry.state != state:
        reason = Reason(
            Problem.STATE_ZIP_MISMATCH,
            f"ZIP code {postcode} is in {zip_entry.state}, not {state}",
        )
        return PostalCheck(
            None, [_at(number, street, zip_entry), *city_alternatives][:MAX_ALTERNATIVES], [reason]
        )
    if city and city not in zip_entry.cities:
        likeness = max(SequenceMatcher(None, city, c).ratio() for c in zip_entry.cities)
        if likeness < CITY_SPELLING_RATIO:
            reason = Reason(
                Problem.CITY_ZIP_MISMATCH,
                f"ZIP code {postcode} is in {zip_entry.city}, not {city}",
            )
            near = [_at(number, street, zip_entry), *city_alternatives]
            return PostalCheck(None, near[:MAX_ALTERNATIVES], [reason])
        corrected = Reason(Problem.CITY_SPELLING, f"city '{city}' read as {zip_entry.city}")
        return PostalCheck(_at(number, street, zip_entry), reasons=[corrected])
    return PostalCheck(_at(number, street, zip_entry))
