"""Text that no table can hold never reaches the database."""

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import InvalidRequest
from app.core.geography import Site
from app.core.text import check_text
from tests.factories import CHICAGO, Caller, location_id


async def test_the_core_refuses_text_its_tables_cannot_hold(
    session: AsyncSession, developer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    for name, code in (
        ("x" * 201, "TEXT_TOO_LONG"),
        ("a\x00b", "INVALID_CHARACTER"),
        ("a\ud800b", "INVALID_CHARACTER"),
    ):
        session.add(Site(party_id=developer.party_id, location_id=chicago, name=name))
        with pytest.raises(InvalidRequest) as refused:
            await session.commit()
        assert (refused.value.code, refused.value.field) == (code, "name")
        await session.rollback()


def test_text_is_checked_for_length_and_unstorable_characters() -> None:
    check_text("Chicago", field="city", max_chars=7)
    check_text(None, field="city", max_chars=7)
    with pytest.raises(InvalidRequest) as too_long:
        check_text("Chicago!", field="city", max_chars=7)
    assert (too_long.value.code, too_long.value.field) == ("TEXT_TOO_LONG", "city")
    with pytest.raises(InvalidRequest) as nul:
        check_text("Chi\x00", field="city", max_chars=None)
    assert nul.value.code == "INVALID_CHARACTER"
    for lone in ("\ud800", "x\udfff", "\udc00\ud83d"):
        with pytest.raises(InvalidRequest) as surrogate:
            check_text(lone, field="city", max_chars=None)
        assert surrogate.value.code == "INVALID_CHARACTER"
    # A character outside the basic plane is text like any other.
    check_text("Caf\u00e9 \U0001f600", field="city", max_chars=None)
