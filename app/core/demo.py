"""Demo data: parties with reproducible API keys, and a history of orders, products and bills."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import accounts, billing, clock, geography, ordering, partners, tickets
from app.core.catalog import ClassOfService, ProductSpec, seed_catalog
from app.core.db import Database
from app.core.events import Channel
from app.core.fulfilment import step
from app.core.geography import AddressInput, resolve_address
from app.core.inventory import list_products
from app.core.parties import (
    Audience,
    Party,
    Principal,
    Scope,
    create_party,
    issue_api_key,
    revoke_seeded_keys,
    seeded_key,
)


@dataclass(frozen=True)
class DemoParty:
    """A demo party: its key in `lumen demo-keys`, fixed id, name and audience."""

    role: str
    party_id: str
    name: str
    audience: Audience
    channel: Channel


DEMO_PARTIES = [
    DemoParty(
        "developer", "pty_demo_developer", "Nimbus Labs", Audience.DEVELOPER, Channel.GRAPHQL
    ),
    DemoParty(
        "other_developer",
        "pty_demo_developer2",
        "Quanta Devices",
        Audience.DEVELOPER,
        Channel.GRAPHQL,
    ),
    DemoParty(
        "carrier", "pty_demo_carrier", "Meridian Wholesale", Audience.CARRIER, Channel.SONATA
    ),
    DemoParty(
        "other_carrier",
        "pty_demo_carrier2",
        "Northwind Carrier Services",
        Audience.CARRIER,
        Channel.SONATA,
    ),
    DemoParty(
        "enterprise", "pty_demo_enterprise", "Acme Manufacturing", Audience.ENTERPRISE, Channel.TMF
    ),
    DemoParty(
        "other_enterprise",
        "pty_demo_enterprise2",
        "Globex Retail",
        Audience.ENTERPRISE,
        Channel.TMF,
    ),
    DemoParty("ops", "pty_demo_ops", "Lumen Operations", Audience.OPS, Channel.INTERNAL),
]

# (A end, Z end or None, offering, Mbps, months) delivered to every customer party.
HISTORY = [
    (
        "350 E Cermak Rd, Chicago, IL 60616",
        "60 Hudson St, New York, NY 10013",
        "ethernet-line",
        1000,
        12,
    ),
    ("1950 N Stemmons Fwy, Dallas, TX 75207", None, "internet-access", 500, 36),
    ("624 S Grand Ave, Los Angeles, CA 90017", None, "ethernet-port", 10000, 24),
]
_IN_FLIGHT = (
    "56 Marietta St NW, Atlanta, GA 30303",
    "50 NE 9th St, Miami, FL 33132",
    "ethernet-line",
    200,
    24,
)


DEMO_PARTNER_ID = "ptn_demo_cascade"
DEMO_PARTNER_URL = "http://127.0.0.1:8001"
# The metros of the address book that our network does not reach (a demo partner's).
DEMO_PARTNER_METROS = (
    "Houston, TX",
    "Tampa, FL",
    "Salt Lake City, UT",
    "Las Vegas, NV",
    "Columbus, OH",
)


async def seed_reference_data(session: AsyncSession, *, as_partner: bool = False) -> None:
    """The address book, the catalog and the billing standards, which every installation
    needs; `as_partner` seeds the demo partner carrier's network instead of ours."""
    await geography.seed_address_book(session, network_inverted=as_partner)
    await seed_catalog(session)
    await accounts.seed_billing_standards(session)


async def seed_demo_partner(session: AsyncSession, *, secret: str, url: str | None) -> None:
    """Register (once) the demo partner carrier: a second instance of this platform that
    `lumen serve --as-partner` starts, which knows us as its demo carrier. It is enabled only
    when its URL is given: a laptop without it never calls it (its off-net places are then not
    serviceable)."""
    if await session.get(partners.Partner, DEMO_PARTNER_ID) is not None:
        return
    ops = Principal(party_id="pty_demo_ops", audience=Audience.OPS, scopes=frozenset(Scope))
    await partners.register_partner(
        session,
        principal=ops,
        partner_id=DEMO_PARTNER_ID,
        given=partners.PartnerInput(
            name="Cascade Access Networks",
            base_url=url or DEMO_PARTNER_URL,
            auth=partners.PartnerAuth.API_KEY,
            api_key=seeded_key(secret, "pty_demo_carrier", "demo"),
            margin_percent=Decimal(15),
            enabled=url is not None,
            metros=DEMO_PARTNER_METROS,
        ),
    )


async def seed(
    database: Database, *, secret: str, as_partner: bool = False, partner_url: str | None = None
) -> dict[str, str]:
    """Create the demo parties (once) with their history, and return their API keys by role;
    a platform that is not itself the demo partner gets the demo partner registered."""
    keys: dict[str, str] = {}
    async with database.session() as session:
        await seed_reference_data(session, as_partner=as_partner)
        if not as_partner:
            await seed_demo_partner(session, secret=secret, url=partner_url)
        for demo in DEMO_PARTIES:
            if await session.get(Party, demo.party_id) is None:
                await create_party(
                    session,
                    name=demo.name,
                    audience=demo.audience,
                    party_id=demo.party_id,
                    email=f"api@{demo.name.split()[0].lower()}.example",
                )
                # The demo partner serves us only: it needs its parties, not their history.
                if demo.audience is not Audience.OPS and not as_partner:
                    await _seed_history(session, demo)
            keys[demo.role] = await issue_api_key(
                session, party_id=demo.party_id, name="demo", secret_seed=secret
            )
        # Last month's bills, for the parties that had products then.
        last_month = clock.now().replace(day=1) - timedelta(days=1)
        ops = Principal(
            party_id="pty_demo_ops",
            audience=Audience.OPS,
            scopes=frozenset({Scope.READ, Scope.WRITE, Scope.OPS}),
        )
        await billing.run_cycle(
            session, principal=ops, year=last_month.year, month=last_month.month
        )
    return keys


async def missing_parties(database: Database) -> list[str]:
    """The roles of the demo parties that the database does not hold."""
    async with database.session() as session:
        return [
            demo.role for demo in DEMO_PARTIES if await session.get(Party, demo.party_id) is None
        ]


async def revoke_published_keys(database: Database, *, secret: str) -> int:
    """Revoke the demo keys that `secret` makes (the published default secret's, in production);
    returns how many were still valid."""
    async with database.session() as session:
        return await revoke_seeded_keys(
            session, secret_seed=secret, keys=[(demo.party_id, "demo") for demo in DEMO_PARTIES]
        )


def _frozen(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at `moment`."""
    return lambda: moment


async def place_delivered(
    session: AsyncSession,
    *,
    principal: Principal,
    channel: Channel,
    shape: int,
    moment: datetime,
    external_id: str,
) -> ordering.OrderWithItems:
    """Place one of the demo history's orders (`shape` indexes `HISTORY`) at `moment` and
    deliver it as the network would: accepted a day later, done 2 to 3 weeks after that. The
    clock is left stopped at the delivery; the caller sets it back."""
    a_text, z_text, offering, mbps, months = HISTORY[shape]
    # Each order is accepted a day after it is placed and delivered 2 to 3 weeks later,
    # so the dashboards' cycle times look like a real network's.
    timeline = iter([timedelta(days=1), timedelta(days=15 + 3 * shape)])
    clock.set_clock(_frozen(moment))
    a = await resolve_address(session, AddressInput(text=a_text))
    z = await resolve_address(session, AddressInput(text=z_text)) if z_text else None
    placed = await ordering.place(
        session,
        principal=principal,
        channel=channel,
        items=[
            ordering.ItemRequest(
                spec=ProductSpec(
                    offering_id=offering,
                    a_location_id=a.id,
                    z_location_id=z.id if z else None,
                    bandwidth_mbps=mbps,
                    term_months=months,
                    class_of_service=ClassOfService.STANDARD,
                )
            )
        ],
        external_id=external_id,
    )
    while placed.order.state not in ordering.TERMINAL_STATES:
        moment += next(timeline)
        clock.set_clock(_frozen(moment))
        await step(session, placed.order, complete_after=timedelta(0))
        await session.commit()
    return placed


async def _seed_history(session: AsyncSession, demo: DemoParty) -> None:
    """Orders placed three months ago and delivered within weeks, one order in flight, a ticket
    and a bill."""
    principal = Principal(party_id=demo.party_id, audience=demo.audience)
    real_now = clock.now()
    started = real_now.replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=95)
    try:
        for index in range(len(HISTORY)):
            await place_delivered(
                session,
                principal=principal,
                channel=demo.channel,
                shape=index,
                moment=started + timedelta(hours=index),
                external_id=f"{demo.role.upper()}-{HISTORY[index][2].upper()}",
            )
    finally:
        clock.set_clock(None)
    a_text, z_text, offering, mbps, months = _IN_FLIGHT
    a = await resolve_address(session, AddressInput(text=a_text))
    z = await resolve_address(session, AddressInput(text=z_text))
    await ordering.place(
        session,
        principal=principal,
        channel=demo.channel,
        items=[
            ordering.ItemRequest(
                spec=ProductSpec(
                    offering_id=offering,
                    a_location_id=a.id,
                    z_location_id=z.id,
                    bandwidth_mbps=mbps,
                    term_months=months,
                )
            )
        ],
        external_id=f"{demo.role.upper()}-IN-FLIGHT",
    )
    products = await list_products(session, principal=principal, limit=100)
    await tickets.open_ticket(
        session,
        principal=principal,
        channel=demo.channel,
        product_id=products[-1].id if products else None,
        summary="Intermittent packet loss",
        description="Loss of 1-2% at peak hours since Monday.",
        severity=tickets.Severity.MODERATE,
        priority=tickets.Priority.HIGH,
        impact=tickets.Impact.INTERMITTENT,
    )
