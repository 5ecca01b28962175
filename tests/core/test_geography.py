"""Address validation, serviceability, location search and sites."""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock
from app.core.errors import Conflict, InvalidRequest, NotFound
from app.core.geography import (
    AddressInput,
    Location,
    LocationKind,
    MatchQuality,
    Serviceability,
    SiteFilter,
    address_checks_query,
    check_address,
    create_site,
    delete_site,
    get_address_check,
    get_location,
    get_site,
    list_sites,
    load_address_book,
    resolve_address,
    search_locations,
    serviceability,
    sites_query,
    update_site,
    validate_address,
)
from app.core.parties import Principal, party_names
from tests.factories import (
    CHICAGO,
    DALLAS,
    LA_NEAR_NET,
    LAS_VEGAS,
    NEW_YORK,
    Caller,
    location_id,
    make_caller,
    make_order,
)

ONE_WILSHIRE = "624 S Grand Ave, Los Angeles, CA 90017"


async def validate(session: AsyncSession, text: str) -> tuple[MatchQuality, str | None, list[str]]:
    """Quality, best match and alternates of a free-text address, as one-line addresses."""
    result = await validate_address(session, AddressInput(text=text))
    best = result.best.line if result.best else None
    return result.quality, best, [loc.line for loc in result.alternates]


def frozen(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at `moment`."""
    return lambda: moment


async def locate(session: AsyncSession, text: str) -> Location:
    """The address-book entry of a well-known address."""
    return await resolve_address(session, AddressInput(text=text))


async def test_variants_of_a_known_address_match_it_exactly(session: AsyncSession) -> None:
    variants = {
        CHICAGO: CHICAGO,
        "350 East Cermak Road Chicago IL": CHICAGO,
        "350 east cermak road, chicago, illinois 60616": CHICAGO,
        "350 E. Cermak Rd., Chicago, IL 60616, USA": CHICAGO,
        "  350 E Cermak Rd, Chicago, IL 60616  ": CHICAGO,
        # A small typo in the street name is forgiven when the rest agrees.
        "350 E Cermack Rd, Chicago, IL": CHICAGO,
        "60 Hudson Street, New York, New York": NEW_YORK,
        "111 Eighth Avenue New York NY": "111 8th Ave, New York, NY 10011",
        "2001 Sixth Avenue, Seattle WA": "2001 6th Ave, Seattle, WA 98121",
        "1950 North Stemmons Freeway, Dallas, Texas": DALLAS,
        "7135 South Decatur Boulevard Las Vegas NV": LAS_VEGAS,
    }
    for text, expected in variants.items():
        assert await validate(session, text) == (MatchQuality.EXACT, expected, []), text


async def test_five_digit_house_numbers_are_not_mistaken_for_postcodes(
    session: AsyncSession,
) -> None:
    # Ashburn's house numbers have five digits, like a postcode.
    for text in ("44470 Chilum Pl Ashburn VA", "21715 Filigree Ct, Ashburn, VA 20147"):
        quality, best, _ = await validate(session, text)
        assert quality is MatchQuality.EXACT, text
        assert best is not None
        assert best.startswith(text.split()[0])


async def test_every_address_book_entry_is_loaded_and_validates_to_itself(
    session: AsyncSession,
) -> None:
    locations = await search_locations(session, limit=1000)
    assert len(locations) == len(load_address_book())
    for location in locations:
        result = await validate_address(session, AddressInput(text=location.line))
        assert result.quality is MatchQuality.EXACT, location.line
        assert result.best is not None
        assert result.best.id == location.id


async def test_structured_address_matches_like_free_text(session: AsyncSession) -> None:
    result = await validate_address(
        session,
        AddressInput(
            street_number="350",
            street_name="East Cermak Road",
            city="Chicago",
            state="IL",
            postcode="60616",
            country="US",
        ),
    )
    assert result.quality is MatchQuality.EXACT
    assert result.best is not None
    assert result.best.line == CHICAGO
    assert result.best.id == await location_id(session, CHICAGO)


async def test_a_near_miss_is_a_partial_match_with_scored_alternates(
    session: AsyncSession,
) -> None:
    # A valid address next door to a building of the book is a place of its own, and the
    # building is pointed out.
    quality, best, alternates = await validate(session, "355 E Cermak Rd, Chicago, IL 60616")
    assert (quality, best, alternates[0]) == (
        MatchQuality.EXACT,
        "355 E CERMAK RD, CHICAGO, IL 60616",
        CHICAGO,
    )
    # Without its ZIP code an address is partial: the book's near miss first, then the city's
    # ZIP codes.
    result = await validate_address(session, AddressInput(text="625 S Grand Ave, Los Angeles, CA"))
    assert result.quality is MatchQuality.PARTIAL
    assert result.best is None
    assert result.alternates[0].line == ONE_WILSHIRE
    assert result.alternates[1].line.startswith("625 S GRAND AVE, LOS ANGELES, CA 9")
    assert [r.problem.value for r in result.reasons] == ["no_zip"]
    assert set(result.scores) <= {loc.id for loc in result.alternates}
    assert all(0 < score < 0.9 for score in result.scores.values())
    wrong_city = await validate_address(
        session,
        AddressInput(
            street_number="350", street_name="E Cermak Rd", city="Springfield", state="IL"
        ),
    )
    assert wrong_city.quality is MatchQuality.PARTIAL
    assert wrong_city.alternates[0].line == CHICAGO
    assert {loc.city for loc in wrong_city.alternates[1:]} == {"SPRINGFIELD"}


async def test_nonsense_and_foreign_addresses_match_nothing(session: AsyncSession) -> None:
    assert await validate(session, "xyzzy plugh") == (MatchQuality.NONE, None, [])
    foreign = await validate_address(
        session,
        AddressInput(street_number="350", street_name="E Cermak Rd", city="Chicago", country="CA"),
    )
    assert (foreign.quality, foreign.best) == (MatchQuality.NONE, None)
    assert [r.problem.value for r in foreign.reasons] == ["not_us"]
    # A street in a known city, without a ZIP code, is offered at the city's ZIP codes.
    unknown_street = await validate_address(
        session, AddressInput(street_number="12", street_name="Foo St", city="Chicago", state="IL")
    )
    assert (unknown_street.quality, unknown_street.best) == (MatchQuality.PARTIAL, None)
    assert unknown_street.alternates
    assert {loc.line[:25] for loc in unknown_street.alternates} == {"12 FOO ST, CHICAGO, IL 60"}
    # Text that is no address in a known city offers that city's buildings instead.
    no_number = await validate_address(session, AddressInput(street_name="Foo St", city="Chicago"))
    assert (no_number.quality, no_number.best) == (MatchQuality.NONE, None)
    assert {loc.city for loc in no_number.alternates} == {"Chicago"}


async def test_addresses_longer_than_the_book_holds_are_refused_before_matching(
    session: AsyncSession,
) -> None:
    refusals = {
        "address": AddressInput(text="350 E Cermak Rd, Chicago " * 100),
        "a_end.city": AddressInput(street_number="350", city="Chicago" * 20),
        "a_end.street_number": AddressInput(street_number="3" * 21, city="Chicago"),
    }
    for field, address in refusals.items():
        with pytest.raises(InvalidRequest) as caught:
            await resolve_address(
                session, address, field_name="address" if field == "address" else "a_end"
            )
        assert (caught.value.field, caught.value.code) == (field, "TEXT_TOO_LONG")
    with pytest.raises(InvalidRequest) as caught:
        await validate_address(session, AddressInput(text="350 E Cermak\x00 Rd"))
    assert caught.value.code == "INVALID_CHARACTER"
    with pytest.raises(InvalidRequest):
        await search_locations(session, text="Chicago " * 100)


async def test_an_empty_address_is_refused(session: AsyncSession) -> None:
    for address in (
        AddressInput(),
        AddressInput(text="   "),
        AddressInput(text="", city="", postcode=""),
    ):
        with pytest.raises(InvalidRequest) as caught:
            await validate_address(session, address)
        assert (caught.value.field, caught.value.code) == ("address", "INVALID_REQUEST"), address


async def test_resolve_address_returns_the_exact_match(session: AsyncSession) -> None:
    location = await resolve_address(session, AddressInput(text="350 East Cermak Road Chicago IL"))
    assert location.line == CHICAGO
    assert location.name == "Lakeside Technology Center"
    assert (await get_location(session, location.id, principal=None)).line == CHICAGO


async def test_resolve_address_refuses_a_near_miss_and_lists_the_alternates(
    session: AsyncSession,
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await resolve_address(
            session, AddressInput(text="355 E Cermak Rd, Chicago, IL"), field_name="a_end"
        )
    error = caught.value
    assert error.code == "ADDRESS_NOT_FOUND"
    assert error.field == "a_end"
    assert error.details["alternates"][0] == {
        "id": await location_id(session, CHICAGO),
        "address": CHICAGO,
    }
    assert error.details["reasons"] == [{"code": "no_zip", "message": "give the ZIP code"}]
    assert CHICAGO in error.message


async def test_resolve_address_refuses_nonsense_with_no_alternates(session: AsyncSession) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await resolve_address(session, AddressInput(text="xyzzy plugh"))
    assert (caught.value.code, caught.value.field) == ("ADDRESS_NOT_FOUND", "address")
    assert caught.value.details["alternates"] == []
    assert [r["code"] for r in caught.value.details["reasons"]] == ["unparseable"]
    with pytest.raises(NotFound) as unknown_id:
        await get_location(session, "loc_doesnotexist", principal=None)
    assert unknown_id.value.field == "id"


async def test_serviceability_is_on_near_or_off_net(session: AsyncSession) -> None:
    on_net = await serviceability(session, await locate(session, CHICAGO))
    assert (on_net.level, on_net.distance_km) == (Serviceability.ON_NET, 0.0)

    near = await locate(session, LA_NEAR_NET)
    assert not near.on_net
    near_net = await serviceability(session, near)
    assert near_net.level is Serviceability.NEAR_NET
    # One Wilshire is a few hundred metres away.
    assert 0 < near_net.distance_km < 1

    off_net = await serviceability(session, await locate(session, LAS_VEGAS))
    assert off_net.level is Serviceability.OFF_NET
    # The nearest on-net building is in Los Angeles or Phoenix, hundreds of kilometres away.
    assert 200 < off_net.distance_km < 600


async def test_search_by_text_finds_name_street_and_city(session: AsyncSession) -> None:
    by_name = await search_locations(session, text="Wilshire")
    assert {loc.name for loc in by_name} == {"One Wilshire", "Wilshire Grand exchange"}
    by_street = await search_locations(session, text="Eighth Avenue")
    assert [loc.line for loc in by_street] == ["111 8th Ave, New York, NY 10011"]
    by_city = await search_locations(session, text="chicago")
    assert {loc.city for loc in by_city} == {"Chicago"}
    assert len(by_city) == 2
    by_postcode = await search_locations(session, text="90017")
    assert {loc.postcode for loc in by_postcode} == {"90017"}
    assert await search_locations(session, text="Atlantis") == []


async def test_search_near_a_point_orders_by_distance_within_the_radius(
    session: AsyncSession,
) -> None:
    downtown_la = (34.0488, -118.2547)
    found = await search_locations(session, near=downtown_la, radius_km=5)
    assert [loc.name for loc in found] == [
        "One Wilshire",
        "Wilshire Grand exchange",
        "Alameda data center",
    ]
    assert await search_locations(session, near=downtown_la, radius_km=0.1) == [found[0]]
    assert await search_locations(session, near=downtown_la, limit=2) == found[:2]
    # Text and distance combine: Dallas's buildings, nearest to Bryan Street first.
    dallas = await search_locations(session, text="Dallas", near=(32.7897, -96.7941))
    assert [loc.name for loc in dallas] == ["2323 Bryan Street", "Infomart"]
    # Twenty at most unless told otherwise.
    assert len(await search_locations(session)) == 20
    assert len(await search_locations(session, limit=5)) == 5


def test_the_bundled_address_book_is_large_and_plausibly_american() -> None:
    book = load_address_book()
    assert len(book) >= 30
    lines = set()
    for entry in book:
        location = Location.model_validate(entry)
        assert location.country == "US", location.line
        # The contiguous United States, give or take.
        assert 24 < location.latitude < 50, location.line
        assert -125 < location.longitude < -66, location.line
        assert re.fullmatch(r"\d{5}", location.postcode), location.line
        assert re.fullmatch(r"[A-Z]{2}", location.state), location.line
        lines.add(location.line)
    assert len(lines) == len(book), "an address is listed twice"


def test_the_address_book_mixes_on_net_and_off_net_buildings() -> None:
    on_net = [entry["on_net"] for entry in load_address_book()]
    assert any(on_net)
    assert not all(on_net)


async def test_create_site_at_a_validated_address(session: AsyncSession, developer: Caller) -> None:
    site = await create_site(
        session,
        principal=developer.principal,
        address=AddressInput(text="350 East Cermak Road Chicago IL"),
        name="Chicago POP",
        contact_name="Ada",
        contact_phone="+1 312 555 0100",
        instructions="Loading dock on 21st St.",
    )
    assert site.party_id == developer.party_id
    assert site.location_id == await location_id(session, CHICAGO)
    assert (site.name, site.contact_name, site.contact_phone, site.instructions) == (
        "Chicago POP",
        "Ada",
        "+1 312 555 0100",
        "Loading dock on 21st St.",
    )
    assert await get_site(session, principal=developer.principal, site_id=site.id) == site


async def test_a_second_site_at_the_same_address_updates_the_first(
    session: AsyncSession, developer: Caller
) -> None:
    first = await create_site(
        session, principal=developer.principal, address=AddressInput(text=NEW_YORK)
    )
    # Unnamed, a site takes the building's name.
    assert first.name == "60 Hudson Street"
    second = await create_site(
        session,
        principal=developer.principal,
        address=AddressInput(text="60 Hudson Street, New York, NY"),
        contact_name="Grace",
    )
    assert second.id == first.id
    assert (second.name, second.contact_name) == ("60 Hudson Street", "Grace")
    assert len(await list_sites(session, principal=developer.principal)) == 1


async def test_a_site_at_an_address_that_is_not_a_street_address_is_refused(
    session: AsyncSession, developer: Caller
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await create_site(
            session,
            principal=developer.principal,
            address=AddressInput(text="PO Box 355, Chicago, IL 60616"),
        )
    assert caught.value.code == "ADDRESS_NOT_FOUND"
    assert [r["code"] for r in caught.value.details["reasons"]] == ["po_box"]
    assert await list_sites(session, principal=developer.principal) == []


async def test_list_sites_shows_the_caller_s_sites_oldest_first(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    start = datetime(2025, 3, 1, 12, tzinfo=UTC)
    created = []
    for minutes, address in enumerate((DALLAS, CHICAGO, NEW_YORK)):
        clock.set_clock(frozen(start + timedelta(minutes=minutes)))
        site = await create_site(
            session, principal=developer.principal, address=AddressInput(text=address)
        )
        created.append(site.id)
    await create_site(
        session, principal=other_developer.principal, address=AddressInput(text=CHICAGO)
    )
    listed = await list_sites(session, principal=developer.principal)
    assert [site.id for site in listed] == created
    assert len(await list_sites(session, principal=other_developer.principal)) == 1


async def test_another_party_s_site_is_not_found_like_a_missing_one(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    site = await create_site(
        session, principal=developer.principal, address=AddressInput(text=CHICAGO)
    )
    with pytest.raises(NotFound) as foreign:
        await get_site(session, principal=other_developer.principal, site_id=site.id)
    with pytest.raises(NotFound) as missing:
        await get_site(session, principal=other_developer.principal, site_id="site_missing")
    assert foreign.value.code == missing.value.code == "NOT_FOUND"
    assert foreign.value.field == missing.value.field
    assert foreign.value.details == missing.value.details == {}
    assert foreign.value.message == missing.value.message.replace("site_missing", site.id)
    assert await list_sites(session, principal=other_developer.principal) == []
    # Operations staff see every party's sites.
    assert await get_site(session, principal=ops.principal, site_id=site.id) == site
    assert site in await list_sites(session, principal=ops.principal)


async def test_a_caller_cannot_create_a_site_for_a_buyer_it_does_not_act_for(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    with pytest.raises(NotFound) as caught:
        await create_site(
            session,
            principal=developer.principal,
            address=AddressInput(text=CHICAGO),
            buyer_party_id=other_developer.party_id,
        )
    assert caught.value.field == "buyer"
    assert await list_sites(session, principal=other_developer.principal) == []


async def test_an_agent_creates_sites_for_the_buyers_it_acts_for(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    carrier = await make_caller(
        session, "carrier", name="Meridian Wholesale", acting_for=[developer.party_id]
    )
    site = await create_site(
        session,
        principal=carrier.principal,
        address=AddressInput(text=CHICAGO),
        buyer_party_id=developer.party_id,
    )
    assert site.party_id == developer.party_id
    assert [s.id for s in await list_sites(session, principal=developer.principal)] == [site.id]
    with pytest.raises(InvalidRequest) as unnamed:
        await create_site(session, principal=carrier.principal, address=AddressInput(text=DALLAS))
    assert (unnamed.value.code, unnamed.value.field) == ("BUYER_REQUIRED", "buyer")
    with pytest.raises(NotFound):
        await create_site(
            session,
            principal=carrier.principal,
            address=AddressInput(text=DALLAS),
            buyer_party_id=other_developer.party_id,
        )


async def test_sites_are_filtered_by_their_own_and_their_address_s_attributes(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    chicago = await create_site(
        session,
        principal=developer.principal,
        address=AddressInput(text=CHICAGO),
        name="Chicago POP",
        contact_name="Ada",
        instructions="Dock on 21st St.",
    )
    dallas = await create_site(
        session, principal=developer.principal, address=AddressInput(text=DALLAS)
    )
    await create_site(
        session, principal=other_developer.principal, address=AddressInput(text=CHICAGO)
    )

    async def ids(principal: Principal, **where: Any) -> list[str]:
        statement = sites_query(principal=principal, where=SiteFilter(**where))
        return [site.id for site in (await session.exec(statement)).all()]

    mine = developer.principal
    assert await ids(mine) == [chicago.id, dallas.id]
    assert await ids(mine, name="chicago pop", contact_name="ADA") == [chicago.id]
    assert await ids(mine, instructions="dock on 21st st.") == [chicago.id]
    assert await ids(mine, location_id=dallas.location_id) == [dallas.id]
    assert await ids(mine, street_number="350", street_name="e cermak rd") == [chicago.id]
    assert await ids(mine, street_type="Road", city="Chicago", postcode="60616") == [chicago.id]
    assert await ids(mine, street_type="Fwy") == [dallas.id]
    assert await ids(mine, country="United States") == [chicago.id, dallas.id]
    assert await ids(mine, country="us", city="Dallas") == [dallas.id]
    assert await ids(mine, country="CA") == []
    assert await ids(mine, location_kinds=frozenset({LocationKind.BUILDING})) == []
    assert await ids(mine, party_name="Nimbus Labs") == [chicago.id, dallas.id]
    assert await ids(mine, party_name="Quanta Devices") == []
    # Filters never widen what the caller may see; `party_id` narrows what operations see.
    assert len(await ids(ops.principal, city="Chicago")) == 2
    assert await ids(ops.principal, city="Chicago", party_id=developer.party_id) == [chicago.id]


async def test_party_names_are_those_the_caller_may_see(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    both = [developer.party_id, other_developer.party_id, "pty_missing"]
    assert await party_names(session, principal=developer.principal, party_ids=both) == {
        developer.party_id: "Nimbus Labs"
    }
    assert await party_names(session, principal=ops.principal, party_ids=both) == {
        developer.party_id: "Nimbus Labs",
        other_developer.party_id: "Quanta Devices",
    }


async def test_a_site_is_updated_and_deleted_unless_in_use(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    site = await create_site(
        session, principal=developer.principal, address=AddressInput(text=DALLAS)
    )
    with pytest.raises(NotFound):
        await update_site(session, principal=other_developer.principal, site_id=site.id, name="x")
    with pytest.raises(InvalidRequest):
        await update_site(session, principal=developer.principal, site_id=site.id, name=" ")
    updated = await update_site(
        session, principal=developer.principal, site_id=site.id, name="DFW", contact_name="Ann"
    )
    assert (updated.name, updated.contact_name) == ("DFW", "Ann")
    with pytest.raises(NotFound):
        await delete_site(session, principal=other_developer.principal, site_id=site.id)
    await delete_site(session, principal=developer.principal, site_id=site.id)
    assert await list_sites(session, principal=developer.principal) == []

    await make_order(session, developer)
    [used, *_] = await list_sites(session, principal=developer.principal)
    with pytest.raises(Conflict) as refused:
        await delete_site(session, principal=developer.principal, site_id=used.id)
    assert refused.value.code == "SITE_IN_USE"


async def test_address_checks_are_kept_per_party(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    exact = await check_address(
        session, principal=developer.principal, address=AddressInput(text=CHICAGO)
    )
    assert exact.quality is MatchQuality.EXACT
    assert exact.best_location_id == await location_id(session, CHICAGO)
    vague = AddressInput(text="350 Cermak, Chicago")
    kept = await check_address(session, principal=developer.principal, address=vague)
    assert kept.alternates
    assert kept.query == vague
    bare = await check_address(
        session, principal=developer.principal, address=vague, provide_alternatives=False
    )
    assert bare.alternates == []
    found = await get_address_check(session, principal=developer.principal, check_id=kept.id)
    assert found.id == kept.id
    with pytest.raises(NotFound):
        await get_address_check(session, principal=other_developer.principal, check_id=kept.id)
    mine = (await session.exec(address_checks_query(principal=developer.principal))).all()
    assert [c.id for c in mine] == [exact.id, kept.id, bare.id]
    theirs = (await session.exec(address_checks_query(principal=other_developer.principal))).all()
    assert theirs == []
