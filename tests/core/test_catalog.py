"""The catalog: offerings, the characteristics they sell, and deterministic pricing."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock
from app.core.catalog import (
    CURRENCY,
    LINE_BANDWIDTHS_MBPS,
    STANDARD_OFFERINGS,
    ClassOfService,
    LifecycleStatus,
    Offering,
    OfferingBase,
    OfferingUpdate,
    Price,
    ProductKind,
    ProductSpec,
    check_characteristics,
    create_offering,
    get_offering,
    list_offerings,
    offering_details,
    price,
    retire_offering,
    seed_catalog,
    update_offering,
)
from app.core.errors import Conflict, InvalidRequest, NotAuthorized, NotFound
from app.core.geography import Location, Serviceability, load_address_book
from tests.factories import CHICAGO, LA_NEAR_NET, LAS_VEGAS, NEW_YORK, Caller

ON, NEAR, OFF = Serviceability.ON_NET, Serviceability.NEAR_NET, Serviceability.OFF_NET
HUDSON_ST = NEW_YORK
EIGHTH_AVE = "111 8th Ave, New York, NY 10011"  # 3 km from 60 Hudson: metro
SEATTLE = "2001 6th Ave, Seattle, WA 98121"
PORTLAND = "921 SW Washington St, Portland, OR 97205"  # 230 km from Seattle: regional

_BOOK = {
    location.line: location
    for location in (Location.model_validate(entry) for entry in load_address_book())
}


def standard(offering_id: str) -> Offering:
    """A standard offering of the catalog, built in memory."""
    return Offering.model_validate(next(e for e in STANDARD_OFFERINGS if e["id"] == offering_id))


LINE, PORT, INTERNET = (
    standard("ethernet-line"),
    standard("ethernet-port"),
    standard("internet-access"),
)


def at(address: str, level: Serviceability = ON) -> tuple[Location, Serviceability]:
    """An end of a product: a location of the address book and its serviceability."""
    return _BOOK[address], level


def line(
    a: str = CHICAGO,
    z: str | None = NEW_YORK,
    *,
    mbps: int = 1000,
    months: int = 12,
    cos: ClassOfService = ClassOfService.STANDARD,
) -> ProductSpec:
    """An Ethernet line between two addresses of the address book."""
    return ProductSpec(
        offering_id="ethernet-line",
        a_location_id=_BOOK[a].id,
        z_location_id=_BOOK[z].id if z else None,
        bandwidth_mbps=mbps,
        term_months=months,
        class_of_service=cos,
    )


def one_end(offering: Offering, address: str = CHICAGO, *, mbps: int = 1000) -> ProductSpec:
    """A one-ended product (port or internet access) at an address."""
    return ProductSpec(
        offering_id=offering.id,
        a_location_id=_BOOK[address].id,
        z_location_id=None,
        bandwidth_mbps=mbps,
        term_months=12,
    )


def line_price(
    *,
    a: tuple[Location, Serviceability] | None = None,
    z: tuple[Location, Serviceability] | None = None,
    mbps: int = 1000,
    months: int = 12,
    cos: ClassOfService = ClassOfService.STANDARD,
) -> Price:
    """The price of a line, Chicago to New York (both on-net) unless told otherwise."""
    a, z = a or at(CHICAGO), z or at(NEW_YORK)
    spec = line(a[0].line, z[0].line, mbps=mbps, months=months, cos=cos)
    return price(LINE, spec, [a, z])


def frozen(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at `moment`."""
    return lambda: moment


def refusal(offering: Offering, spec: ProductSpec) -> InvalidRequest:
    """The error that `check_characteristics` raises."""
    with pytest.raises(InvalidRequest) as caught:
        check_characteristics(offering, spec)
    return caught.value


async def test_the_catalog_lists_the_standard_offerings(session: AsyncSession) -> None:
    offerings = await list_offerings(session)
    assert [o.id for o in offerings] == ["ethernet-line", "ethernet-port", "internet-access"]
    assert {o.kind for o in offerings} == set(ProductKind)
    assert all(o.status is LifecycleStatus.ACTIVE and o.version == 1 for o in offerings)
    line_offering = await get_offering(session, "ethernet-line")
    assert line_offering.bandwidths_mbps == LINE_BANDWIDTHS_MBPS
    assert line_offering.needs_two_ends
    assert not (await get_offering(session, "ethernet-port")).needs_two_ends
    with pytest.raises(NotFound) as unknown:
        await get_offering(session, "carrier-pigeon")
    assert unknown.value.field == "offering"


@pytest.mark.parametrize(
    ("offering", "mbps", "alternatives"),
    [
        (LINE, 300, [200, 500]),
        (LINE, 5, [10]),
        (LINE, 400_000, [100_000]),
        (PORT, 500, [1000]),
        (PORT, 2000, [1000, 10000]),
    ],
)
def test_a_bandwidth_that_is_not_sold_is_refused_with_the_nearest_alternatives(
    offering: Offering, mbps: int, alternatives: list[int]
) -> None:
    spec = line(mbps=mbps) if offering.needs_two_ends else one_end(offering, mbps=mbps)
    error = refusal(offering, spec)
    assert error.code == "UNSUPPORTED_BANDWIDTH"
    assert error.field == "bandwidth_mbps"
    assert error.details == {"alternatives_mbps": alternatives}
    assert f"{mbps} Mbps" in error.message


@pytest.mark.parametrize("months", [0, -12, 61, 120])
def test_a_term_outside_one_to_sixty_months_is_refused(months: int) -> None:
    error = refusal(LINE, line(months=months))
    assert (error.code, error.field) == ("UNSUPPORTED_TERM", "term_months")


@pytest.mark.parametrize("months", [1, 12, 36, 60])
def test_terms_from_one_to_sixty_months_are_sold(months: int) -> None:
    check_characteristics(LINE, line(months=months))


@pytest.mark.parametrize(
    ("offering", "cos"),
    [(PORT, ClassOfService.PRIORITY), (INTERNET, ClassOfService.REAL_TIME)],
)
def test_a_class_of_service_the_offering_lacks_is_refused(
    offering: Offering, cos: ClassOfService
) -> None:
    spec = ProductSpec(
        offering_id=offering.id,
        a_location_id=_BOOK[CHICAGO].id,
        z_location_id=None,
        bandwidth_mbps=1000,
        term_months=12,
        class_of_service=cos,
    )
    error = refusal(offering, spec)
    assert (error.code, error.field) == ("UNSUPPORTED_CLASS_OF_SERVICE", "class_of_service")


def test_every_class_of_service_is_sold_on_a_line() -> None:
    for cos in ClassOfService:
        check_characteristics(LINE, line(cos=cos))


def test_a_line_needs_a_z_end_different_from_its_a_end() -> None:
    missing = refusal(LINE, line(z=None))
    assert missing.field == "z_end"
    assert "Z end" in missing.message
    identical = refusal(LINE, line(CHICAGO, CHICAGO))
    assert identical.field == "z_end"


def test_a_one_ended_product_refuses_a_z_end() -> None:
    spec = ProductSpec(
        offering_id="ethernet-port",
        a_location_id=_BOOK[CHICAGO].id,
        z_location_id=_BOOK[NEW_YORK].id,
        bandwidth_mbps=1000,
        term_months=12,
    )
    assert refusal(PORT, spec).field == "z_end"
    check_characteristics(PORT, one_end(PORT))
    check_characteristics(INTERNET, one_end(INTERNET, mbps=500))


def test_prices_are_in_us_dollars_and_cents() -> None:
    quoted = line_price()
    assert quoted.currency == CURRENCY == "USD"
    assert quoted.monthly_cents > 0
    assert quoted.monthly == Decimal(quoted.monthly_cents) / 100
    assert quoted.one_time == Decimal(quoted.one_time_cents) / 100


def test_the_same_inputs_always_give_the_same_price() -> None:
    ends = [at(LA_NEAR_NET, NEAR), at(LAS_VEGAS, OFF)]
    spec = line(LA_NEAR_NET, LAS_VEGAS, mbps=2000, months=24, cos=ClassOfService.PRIORITY)
    first = price(LINE, spec, ends)
    # Rebuilt from scratch, as another request would.
    again = price(
        standard("ethernet-line"),
        line(LA_NEAR_NET, LAS_VEGAS, mbps=2000, months=24, cos=ClassOfService.PRIORITY),
        [at(LA_NEAR_NET, NEAR), at(LAS_VEGAS, OFF)],
    )
    assert first == again


def test_the_components_explain_the_price() -> None:
    quoted = line_price(z=at(LAS_VEGAS, OFF))
    names = [c.name for c in quoted.components]
    assert names == ["ethernet line (long haul)", "off-net access at Decatur campus"]
    # A one-year term at standard class adds no modifier: the components add up.
    assert quoted.monthly_cents == sum(c.monthly_cents for c in quoted.components)
    assert quoted.one_time_cents == sum(c.one_time_cents for c in quoted.components)


def test_more_bandwidth_costs_more_each_month() -> None:
    monthly = [line_price(mbps=mbps).monthly_cents for mbps in LINE_BANDWIDTHS_MBPS]
    assert monthly == sorted(set(monthly))
    ports = [
        price(PORT, one_end(PORT, mbps=m), [at(CHICAGO)]).monthly_cents
        for m in (1000, 10000, 100000)
    ]
    assert ports == sorted(set(ports))
    internet = [
        price(INTERNET, one_end(INTERNET, mbps=m), [at(CHICAGO)]).monthly_cents
        for m in LINE_BANDWIDTHS_MBPS
    ]
    assert internet == sorted(set(internet))


def test_a_longer_term_costs_less_each_month() -> None:
    monthly = {months: line_price(months=months).monthly_cents for months in (1, 12, 24, 36, 60)}
    assert monthly[1] > monthly[12] > monthly[24] > monthly[36] > monthly[60]


def test_installation_is_waived_on_terms_of_three_years_or_more() -> None:
    assert line_price(months=24).one_time_cents == 1000_00  # two ends at $500
    assert line_price(months=36).one_time_cents == 0
    # The partner's fee for off-net access is still due.
    assert line_price(z=at(LAS_VEGAS, OFF), months=36).one_time_cents == 1000_00


def test_near_net_and_off_net_ends_cost_more_than_on_net_ones() -> None:
    on_net = line_price(z=at(LAS_VEGAS, ON))
    near_net = line_price(z=at(LAS_VEGAS, NEAR))
    off_net = line_price(z=at(LAS_VEGAS, OFF))
    assert on_net.monthly_cents < near_net.monthly_cents < off_net.monthly_cents
    assert on_net.one_time_cents < off_net.one_time_cents
    assert on_net.one_time_cents < near_net.one_time_cents
    both_off = line_price(a=at(CHICAGO, OFF), z=at(LAS_VEGAS, OFF))
    assert both_off.monthly_cents > off_net.monthly_cents


def test_long_haul_costs_more_than_regional_and_regional_more_than_metro() -> None:
    metro = line_price(a=at(HUDSON_ST), z=at(EIGHTH_AVE))
    regional = line_price(a=at(SEATTLE), z=at(PORTLAND))
    long_haul = line_price(a=at(CHICAGO), z=at(NEW_YORK))
    assert metro.monthly_cents < regional.monthly_cents < long_haul.monthly_cents
    assert metro.components[0].name == "ethernet line (metro)"
    assert regional.components[0].name == "ethernet line (regional)"
    assert long_haul.components[0].name == "ethernet line (long haul)"


def test_a_better_class_of_service_costs_more() -> None:
    standard_, priority, real_time = (line_price(cos=cos).monthly_cents for cos in ClassOfService)
    assert standard_ < priority < real_time


@settings(max_examples=100, deadline=None)
@given(
    bandwidths=st.lists(st.sampled_from(LINE_BANDWIDTHS_MBPS), min_size=2, max_size=2, unique=True),
    terms=st.lists(st.integers(1, 60), min_size=2, max_size=2, unique=True),
    cos=st.sampled_from(list(ClassOfService)),
    addresses=st.lists(st.sampled_from(sorted(_BOOK)), min_size=2, max_size=2, unique=True),
    a_level=st.sampled_from(list(Serviceability)),
)
def test_prices_are_deterministic_and_monotonic(
    bandwidths: list[int],
    terms: list[int],
    cos: ClassOfService,
    addresses: list[str],
    a_level: Serviceability,
) -> None:
    a, z = addresses
    low_bw, high_bw = sorted(bandwidths)
    short, long = sorted(terms)

    def monthly(mbps: int, months: int, z_level: Serviceability = ON) -> int:
        spec = line(a, z, mbps=mbps, months=months, cos=cos)
        quoted = price(LINE, spec, [at(a, a_level), at(z, z_level)])
        # A second pricing, from equal but separately built inputs, agrees to the cent.
        again = line(a, z, mbps=mbps, months=months, cos=cos)
        assert quoted == price(LINE, again, [at(a, a_level), at(z, z_level)])
        return quoted.monthly_cents

    assert monthly(low_bw, short) < monthly(high_bw, short)
    assert monthly(low_bw, long) < monthly(high_bw, long)
    assert monthly(low_bw, short) >= monthly(low_bw, long)
    assert monthly(high_bw, short) >= monthly(high_bw, long)
    assert monthly(low_bw, short, ON) < monthly(low_bw, short, NEAR) < monthly(low_bw, short, OFF)


def _new_offering(**overrides: object) -> OfferingBase:
    fields: dict[str, object] = {
        "name": "Wavelength",
        "kind": ProductKind.ETHERNET_LINE,
        "description": "A dedicated 10G or 100G wave.",
        "bandwidths_mbps": [10000, 100000],
        "classes_of_service": [],
        "min_term_months": 12,
        "max_term_months": 60,
    }
    return OfferingBase.model_validate(fields | overrides)


async def test_ops_add_an_offering_to_the_catalog(session: AsyncSession, ops: Caller) -> None:
    created = await create_offering(
        session,
        principal=ops.principal,
        offering_id="wavelength",
        data=_new_offering(),
        price_ids=["ethernet-line-monthly"],
    )
    assert created.status is LifecycleStatus.ACTIVE
    assert created.version == 1
    # No class of service named: standard.
    assert created.classes_of_service == [ClassOfService.STANDARD]
    assert "wavelength" in [o.id for o in await list_offerings(session)]
    fetched = await get_offering(session, "wavelength")
    assert (fetched.name, fetched.bandwidths_mbps) == ("Wavelength", [10000, 100000])
    # The new offering sells what it says and refuses the rest.
    check_characteristics(fetched, line(mbps=10000, months=12))
    assert refusal(fetched, line(mbps=1000)).details == {"alternatives_mbps": [10000]}
    assert refusal(fetched, line(mbps=10000, months=6)).code == "UNSUPPORTED_TERM"


async def test_only_ops_may_change_the_catalog(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    with pytest.raises(NotAuthorized):
        await create_offering(
            session, principal=developer.principal, offering_id="wavelength", data=_new_offering()
        )
    with pytest.raises(NotAuthorized):
        await update_offering(
            session,
            principal=other_developer.principal,
            offering_id="ethernet-line",
            changes=OfferingUpdate(name="Cheap line"),
        )
    with pytest.raises(NotAuthorized):
        await retire_offering(session, principal=developer.principal, offering_id="ethernet-line")
    assert [o.id for o in await list_offerings(session)] == [
        "ethernet-line",
        "ethernet-port",
        "internet-access",
    ]
    untouched = await get_offering(session, "ethernet-line")
    assert (untouched.name, untouched.version) == ("Ethernet Line (Access E-Line / EVPL)", 1)


async def test_an_offering_must_sell_what_the_network_can_deliver(
    session: AsyncSession, ops: Caller
) -> None:
    refused: list[tuple[dict[str, object], str]] = [
        ({"bandwidths_mbps": [7000]}, "bandwidths_mbps"),
        ({"bandwidths_mbps": []}, "bandwidths_mbps"),
        ({"classes_of_service": ["platinum"]}, "classes_of_service"),
        ({"min_term_months": 0}, "term_months"),
        ({"max_term_months": 72}, "term_months"),
        ({"min_term_months": 36, "max_term_months": 24}, "term_months"),
    ]
    for overrides, field in refused:
        with pytest.raises(InvalidRequest) as caught:
            await create_offering(
                session,
                principal=ops.principal,
                offering_id="wavelength",
                data=_new_offering(**overrides),
            )
        assert caught.value.field == field, overrides
    with pytest.raises(NotFound):
        await get_offering(session, "wavelength", active_only=False)
    # An id is taken once.
    with pytest.raises(Conflict) as taken:
        await create_offering(
            session, principal=ops.principal, offering_id="ethernet-line", data=_new_offering()
        )
    assert taken.value.field == "id"
    assert (await get_offering(session, "ethernet-line")).name.startswith("Ethernet Line")


async def test_an_update_changes_the_offering_and_bumps_its_version(
    session: AsyncSession, ops: Caller
) -> None:
    created_at = datetime(2025, 1, 1, tzinfo=UTC)
    clock.set_clock(frozen(created_at))
    await create_offering(
        session,
        principal=ops.principal,
        offering_id="wavelength",
        data=_new_offering(),
        price_ids=["ethernet-line-monthly"],
    )
    clock.set_clock(frozen(created_at + timedelta(days=3)))
    updated = await update_offering(
        session,
        principal=ops.principal,
        offering_id="wavelength",
        changes=OfferingUpdate(description="Now with 20G.", bandwidths_mbps=[10000, 20000, 100000]),
    )
    assert updated.version == 2
    assert updated.updated_at == created_at + timedelta(days=3)
    assert updated.created_at == created_at
    fetched = await get_offering(session, "wavelength")
    assert (fetched.description, fetched.bandwidths_mbps) == (
        "Now with 20G.",
        [10000, 20000, 100000],
    )
    # Fields left out of the update keep their values.
    assert (fetched.name, fetched.min_term_months) == ("Wavelength", 12)
    again = await update_offering(
        session,
        principal=ops.principal,
        offering_id="wavelength",
        changes=OfferingUpdate(name="Wave"),
    )
    assert again.version == 3


async def test_a_refused_update_leaves_the_offering_as_it_was(
    session: AsyncSession, ops: Caller
) -> None:
    with pytest.raises(InvalidRequest):
        await update_offering(
            session,
            principal=ops.principal,
            offering_id="ethernet-port",
            changes=OfferingUpdate(bandwidths_mbps=[7], name="Broken port"),
        )
    # Even a later commit in the same unit of work must not carry the refused change.
    await session.commit()
    port = await get_offering(session, "ethernet-port")
    await session.refresh(port)
    assert (port.name, port.bandwidths_mbps, port.version) == (
        "Ethernet Port (UNI)",
        [1000, 10000, 100000],
        1,
    )
    with pytest.raises(NotFound):
        await update_offering(
            session, principal=ops.principal, offering_id="nope", changes=OfferingUpdate(name="x")
        )


async def test_a_retired_offering_is_hidden_from_the_catalog(
    session: AsyncSession, ops: Caller
) -> None:
    await retire_offering(session, principal=ops.principal, offering_id="ethernet-port")
    assert [o.id for o in await list_offerings(session)] == ["ethernet-line", "internet-access"]
    with pytest.raises(NotFound):
        await get_offering(session, "ethernet-port")
    # Still there for the inventory that refers to it.
    retired = await get_offering(session, "ethernet-port", active_only=False)
    assert (retired.status, retired.version) == (LifecycleStatus.RETIRED, 2)
    assert "ethernet-port" in [o.id for o in await list_offerings(session, include_retired=True)]
    # And ops can put it back on sale.
    restored = await update_offering(
        session,
        principal=ops.principal,
        offering_id="ethernet-port",
        changes=OfferingUpdate(status=LifecycleStatus.ACTIVE),
    )
    assert restored.version == 3
    assert (await get_offering(session, "ethernet-port")).status is LifecycleStatus.ACTIVE


async def test_the_seed_prices_older_offerings_and_leaves_drafts_alone(
    session: AsyncSession, ops: Caller
) -> None:
    # An offering from before specifications and prices, and one that ops keep in design.
    session.add(
        Offering.model_validate(
            {**_new_offering().model_dump(), "id": "older", "specification_id": None}
        )
    )
    await session.commit()
    draft = await create_offering(
        session, principal=ops.principal, offering_id="draft", data=_new_offering()
    )
    assert draft.status is LifecycleStatus.IN_DESIGN
    assert "price" in draft.status_reason
    await seed_catalog(session)
    older = await get_offering(session, "older")
    assert older.specification_id == "ethernet_line"
    [detail] = await offering_details(session, [older])
    assert {p.id for p in detail.prices} == {"older-monthly", "older-installation"}
    assert all(p.amount_cents >= 0 for p in detail.prices)
    [untouched] = await offering_details(
        session, [await get_offering(session, "draft", active_only=False)]
    )
    assert untouched.prices == []
    assert await seed_catalog(session) == 0
