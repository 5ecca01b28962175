"""The partner registry: which partner reaches a place, and what we charge for its access."""

import time
from decimal import Decimal
from typing import cast

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import partners
from app.core.db import CoreConfig, Database
from app.core.errors import InvalidRequest, NotAuthorized
from app.core.geography import AddressInput, resolve_address
from app.core.parties import Audience, Party, Principal, Scope
from app.settings import Settings
from tests.factories import Caller

OPS = Principal(party_id="pty_ops", audience=Audience.OPS, scopes=frozenset(Scope))
HOUSTON = "660 Greens Pkwy, Houston, TX 77067"
TAMPA = "655 N Franklin St, Tampa, FL 33602"


def _partner(name: str, **given: object) -> partners.PartnerInput:
    return partners.PartnerInput(
        name=name,
        base_url="http://127.0.0.1:9",
        auth=partners.PartnerAuth.API_KEY,
        api_key="k",
        **given,  # type: ignore[arg-type]
    )


async def test_a_place_is_reached_by_metro_zip_or_address_of_an_enabled_partner(
    session: AsyncSession,
) -> None:
    """Coverage matches a metro whatever its case and spacing, a ZIP code or an exact address;
    a disabled partner reaches nothing."""
    houston = await resolve_address(session, AddressInput(text=HOUSTON))
    tampa = await resolve_address(session, AddressInput(text=TAMPA))
    await partners.register_partner(
        session, principal=OPS, given=_partner("B metro", metros=["houston ,  TX"])
    )
    assert (await partners.covering_partner(session, tampa)) is None
    found = await partners.covering_partner(session, houston)
    assert found is not None
    assert found.name == "B metro"
    await partners.register_partner(
        session, principal=OPS, given=_partner("A by address", address_ids=[houston.id])
    )
    found = await partners.covering_partner(session, houston)
    assert found is not None
    assert found.name == "A by address"
    zip_partner = await partners.register_partner(
        session, principal=OPS, given=_partner("C zip", postcodes=["33602"])
    )
    found = await partners.covering_partner(session, tampa)
    assert found is not None
    assert found.id == zip_partner.id
    await partners.update_partner(
        session,
        principal=OPS,
        partner_id=zip_partner.id,
        given=partners.PartnerInput(enabled=False),
    )
    assert (await partners.covering_partner(session, tampa)) is None


async def test_margins_round_to_the_cent(session: AsyncSession) -> None:
    """Our margin on a partner's price, half a cent rounding up."""
    partner = await partners.register_partner(
        session, principal=OPS, given=_partner("M", margin_percent=Decimal("12.5"))
    )
    assert partners.with_margin(10001, partner) == 11251
    assert partners.port_speed(200) == 1000
    assert partners.port_speed(10000) == 10000
    assert partners.port_speed(400000) == 100000


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"api_key": ""}, "api_key"),
        ({"base_url": "file:///etc/passwd"}, "base_url"),
        ({"margin_percent": Decimal("NaN")}, "margin_percent"),
        ({"margin_percent": Decimal("-1")}, "margin_percent"),
        ({"metros": ["Houston"]}, "metros"),
        ({"address_ids": ["loc_nowhere"]}, "address_ids"),
        (
            {"auth": partners.PartnerAuth.OAUTH_CLIENT_CREDENTIALS, "oauth_client_id": "c"},
            "oauth_client_id",
        ),
    ],
)
async def test_bad_registrations_name_their_field(
    session: AsyncSession, given: dict[str, object], field: str
) -> None:
    """Each mistake is refused with the field it is in."""
    values = {"name": "X", "base_url": "http://127.0.0.1:9", "api_key": "k"} | given
    values.setdefault("auth", partners.PartnerAuth.API_KEY)
    with pytest.raises(InvalidRequest) as refused:
        await partners.register_partner(
            session,
            principal=OPS,
            given=partners.PartnerInput(**values),  # type: ignore[arg-type]
        )
    assert refused.value.field == field


async def test_only_operations_staff_manage_partners(
    session: AsyncSession, carrier: Caller
) -> None:
    """A customer cannot read or register partners."""
    with pytest.raises(NotAuthorized):
        await partners.list_partners(session, principal=carrier.principal)
    with pytest.raises(NotAuthorized):
        await partners.register_partner(session, principal=carrier.principal, given=_partner("Y"))


class CountingPartner:
    """A partner that qualifies and quotes every access at 100.00 a month, counting the asks."""

    def __init__(self) -> None:
        self.asked = 0

    async def qualify(
        self, partner: partners.PartnerAccess, request: partners.AccessRequest
    ) -> partners.PartnerQualification:
        self.asked += 1
        return partners.PartnerQualification(qualified=True)

    async def quote(
        self, partner: partners.PartnerAccess, request: partners.AccessRequest
    ) -> partners.PartnerPrice:
        return partners.PartnerPrice(monthly_cents=10000, one_time_cents=0)


async def test_a_partner_s_answer_is_kept_without_waiting_on_the_caller_s_own_writes(
    database: Database, settings: Settings
) -> None:
    """Keeping a partner's answer never waits on the transaction that asked for it (SQLite has
    one writer, which may be the caller's order in progress); the next request uses it where it
    could be kept."""
    counting = CountingPartner()
    wired = Database.connect(
        settings.database_url,
        config=CoreConfig(partners=cast(partners.PartnerGateway, counting)),
    )
    try:
        async with wired.session() as session:
            await partners.register_partner(
                session, principal=OPS, given=_partner("Counting", metros=["Houston, TX"])
            )
            houston = await resolve_address(session, AddressInput(text=HOUSTON))
            await session.commit()
        async with wired.session() as session:
            # The caller's own write, not yet committed.
            session.add(Party(name="Busy", audience=Audience.DEVELOPER))
            await session.flush()
            started = time.monotonic()
            for _ in range(2):
                found = await partners.off_net_access(
                    session, houston, bandwidth_mbps=1000, term_months=12
                )
            assert time.monotonic() - started < 5  # the busy timeout would be 10 s
            assert found is not None
            assert found.monthly_cents == 11500
            assert counting.asked == 1
        async with wired.session() as session:
            await partners.off_net_access(session, houston, bandwidth_mbps=1000, term_months=12)
    finally:
        await wired.dispose()
    # PostgreSQL keeps it beside the open transaction; SQLite gave up on it and asks again.
    assert counting.asked == (2 if wired.engine.dialect.name == "sqlite" else 1)
