"""US postal addresses: a table of real-looking addresses across many states, and parsing that
never raises nor stalls on any text."""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import postal
from app.core.postal import Problem

pytestmark = pytest.mark.once


@pytest.fixture(scope="module", autouse=True)
def _zip_database() -> None:
    postal.load()


# (address as a buyer types it, its Pub 28 line or None, the problems said about it)
VALID = [
    ("1 Main St, Springfield, IL 62701", "1 MAIN ST, SPRINGFIELD, IL 62701", []),
    (
        "1600 Pennsylvania Avenue Northwest, Washington, DC 20500",
        "1600 PENNSYLVANIA AVE NW, WASHINGTON, DC 20500",
        [],
    ),
    ("233 South Wacker Drive, Chicago, IL 60606-6306", "233 S WACKER DR, CHICAGO, IL 60606", []),
    ("500 Boylston Street, Boston, MA 02116", "500 BOYLSTON ST, BOSTON, MA 02116", []),
    ("1 Infinite Loop, Cupertino, CA 95014", "1 INFINITE LOOP, CUPERTINO, CA 95014", []),
    ("400 Broad St, Seattle, WA 98109", "400 BROAD ST, SEATTLE, WA 98109", []),
    ("2200 Post Oak Boulevard, Houston, TX 77056", "2200 POST OAK BLVD, HOUSTON, TX 77056", []),
    ("100 N Tryon St, Charlotte, NC 28202", "100 N TRYON ST, CHARLOTTE, NC 28202", []),
    ("1 e main st madison wi 53703", "1 E MAIN ST, MADISON, WI 53703", []),
    (
        "200 Central Ave, St. Petersburg, FL 33701",
        "200 CENTRAL AVE, SAINT PETERSBURG, FL 33701",
        [],
    ),
    ("701 Pike Street Suite 1500, Seattle, WA 98101", "701 PIKE ST, SEATTLE, WA 98101", []),
    ("1 Main St, Springfeild, IL 62701", "1 MAIN ST, SPRINGFIELD, IL 62701", ["city_spelling"]),
    (
        "120 Congress St, Portlnd, ME 04101",
        "120 CONGRESS ST, PORTLAND, ME 04101",
        ["city_spelling"],
    ),
]
NOT_VALID = [
    ("1 Main St, Chicago, IL 62701", ["city_zip_mismatch"], "1 MAIN ST, SPRINGFIELD, IL 62701"),
    (
        "1 Main St, Springfield, MO 62701",
        ["state_zip_mismatch"],
        "1 MAIN ST, SPRINGFIELD, IL 62701",
    ),
    ("1 Main St, Springfield, IL 99999", ["unknown_zip"], "1 MAIN ST, SPRINGFIELD, IL 62701"),
    ("12 Elm St, Denver, CO", ["no_zip"], "12 ELM ST, DENVER, CO 80"),
    ("1 Main St, Springfield, IL 62705", ["not_a_street_zip"], "1 MAIN ST, SPRINGFIELD, IL 627"),
    ("PO Box 123, Austin, TX 78701", ["po_box"], None),
    ("P.O. Box 9, Boise, ID 83702", ["po_box"], None),
    ("Main Street, Springfield, IL 62701", ["unparseable"], None),
    ("Elm St & 5th Ave, Denver, CO 80202", ["no_house_number"], None),
    ("10 Downing Street, London SW1A 2AA, UK", ["unknown_state"], None),
    ("", ["unparseable"], None),
    ("1 Main St, Springfield, IL 62701 " * 10, ["too_long"], None),
]


@pytest.mark.parametrize(("text", "line", "problems"), VALID)
def test_well_formed_us_addresses_validate_to_pub_28_at_their_zip_centroid(
    text: str, line: str, problems: list[str]
) -> None:
    checked = postal.check(text)
    assert checked.valid is not None, checked.reasons
    assert checked.valid.line == line
    assert [r.problem.value for r in checked.reasons] == problems
    # The centroid of the ZIP code: somewhere in the United States.
    assert 17 < checked.valid.latitude < 72
    assert -180 < checked.valid.longitude < -64


@pytest.mark.parametrize(("text", "problems", "first_alternative"), NOT_VALID)
def test_bad_addresses_say_why_and_what_they_may_have_meant(
    text: str, problems: list[str], first_alternative: str | None
) -> None:
    checked = postal.check(text)
    assert checked.valid is None
    assert [r.problem.value for r in checked.reasons] == problems
    assert all(r.message for r in checked.reasons)
    if first_alternative is None:
        assert checked.alternatives == []
    else:
        assert checked.alternatives[0].line.startswith(first_alternative)
        assert len(checked.alternatives) <= postal.MAX_ALTERNATIVES
        # Every alternative is itself a valid address.
        for alternative in checked.alternatives:
            assert postal.check(alternative.line).valid == alternative


def test_every_problem_is_named_by_the_table() -> None:
    named = {p for _, problems, _ in NOT_VALID for p in problems} | {"city_spelling", "not_us"}
    assert named == {p.value for p in Problem}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.from_regex(r"\d{1,6} [A-Za-z ]{1,30}, [A-Za-z ]{1,20}, [A-Z]{2} \d{5}", fullmatch=True),
    )
)
def test_parsing_never_raises_nor_stalls_on_any_text(text: str) -> None:
    started = time.process_time()
    checked = postal.check(text)
    assert checked.valid is not None or checked.reasons
    assert time.process_time() - started < 0.5
