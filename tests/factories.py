"""Factories that build callers and objects through the core's public functions."""

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import ordering, tickets
from app.core.catalog import ClassOfService, ProductSpec
from app.core.events import Channel
from app.core.fulfilment import step
from app.core.geography import AddressInput, resolve_address
from app.core.inventory import ProductInstance, get_product
from app.core.parties import Audience, Principal, authenticate, create_party, issue_api_key

CHICAGO = "350 E Cermak Rd, Chicago, IL 60616"
NEW_YORK = "60 Hudson St, New York, NY 10013"
DALLAS = "1950 N Stemmons Fwy, Dallas, TX 75207"
LAS_VEGAS = "7135 S Decatur Blvd, Las Vegas, NV 89118"  # off-net
LA_NEAR_NET = "600 W 7th St, Los Angeles, CA 90017"  # near-net (next to One Wilshire)


@dataclass(frozen=True)
class Caller:
    """A party, its principal and its API key."""

    principal: Principal
    key: str

    @property
    def party_id(self) -> str:
        """The caller's party."""
        return self.principal.party_id

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers that authenticate as this caller."""
        return {"Authorization": f"Bearer {self.key}"}


async def make_caller(
    session: AsyncSession, audience: str, *, name: str, acting_for: list[str] | None = None
) -> Caller:
    """A new party of the given audience with an API key."""
    party = await create_party(
        session, name=name, audience=Audience(audience), acting_for=acting_for or []
    )
    key = await issue_api_key(session, party_id=party.id)
    return Caller(await authenticate(session, key), key)


async def location_id(session: AsyncSession, text: str) -> str:
    """The address-book id of a well-known address."""
    return (await resolve_address(session, AddressInput(text=text))).id


async def line_spec(
    session: AsyncSession,
    a: str = CHICAGO,
    z: str = NEW_YORK,
    *,
    mbps: int = 1000,
    months: int = 12,
    cos: ClassOfService = ClassOfService.STANDARD,
) -> ProductSpec:
    """An Ethernet line between two addresses."""
    return ProductSpec(
        offering_id="ethernet-line",
        a_location_id=await location_id(session, a),
        z_location_id=await location_id(session, z),
        bandwidth_mbps=mbps,
        term_months=months,
        class_of_service=cos,
    )


async def make_order(
    session: AsyncSession,
    caller: Caller,
    *,
    spec: ProductSpec | None = None,
    channel: Channel = Channel.GRAPHQL,
    **kwargs: object,
) -> ordering.OrderWithItems:
    """An acknowledged order for one Ethernet line (by default)."""
    spec = spec or await line_spec(session)
    return await ordering.place(
        session,
        principal=caller.principal,
        channel=channel,
        items=[ordering.ItemRequest(spec=spec)],
        **kwargs,  # type: ignore[arg-type]
    )


async def complete(session: AsyncSession, order: ordering.Order) -> ordering.Order:
    """Drive an order through fulfilment to its final state."""
    from datetime import timedelta

    while order.state not in ordering.TERMINAL_STATES:
        assert await step(session, order, complete_after=timedelta(0))
        await session.commit()
    return order


async def make_product(
    session: AsyncSession, caller: Caller, *, spec: ProductSpec | None = None
) -> ProductInstance:
    """An active product, delivered by a completed order."""
    placed = await make_order(session, caller, spec=spec)
    await complete(session, placed.order)
    items = await ordering.items_of(session, placed.order.id)
    assert items[0].product_id is not None
    return await get_product(session, principal=caller.principal, product_id=items[0].product_id)


async def make_ticket(session: AsyncSession, caller: Caller, **kwargs: object) -> tickets.Ticket:
    """An acknowledged ticket, about one of the caller's products unless told otherwise."""
    if "product_id" not in kwargs:
        kwargs["product_id"] = (await make_product(session, caller)).id
    defaults: dict[str, object] = {"summary": "Link down", "description": "No light on port 1."}
    return await tickets.open_ticket(
        session,
        principal=caller.principal,
        channel=Channel.GRAPHQL,
        **(defaults | kwargs),  # type: ignore[arg-type]
    )


async def tmf622_line_order(session: AsyncSession) -> dict[str, Any]:
    """A TMF622 order body for a 100 Mbps, 12-month line from Chicago to New York."""
    places = [
        {"id": await location_id(session, CHICAGO), "role": "A-End"},
        {"id": await location_id(session, NEW_YORK), "role": "Z-End"},
    ]
    characteristics = [{"name": "bandwidth", "value": 100}, {"name": "termMonths", "value": 12}]
    item = {
        "id": "1",
        "action": "add",
        "productOffering": {"id": "ethernet-line"},
        "product": {"productCharacteristic": characteristics, "place": places},
    }
    return {"productOrderItem": [item]}
