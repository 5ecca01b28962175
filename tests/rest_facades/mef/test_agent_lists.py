"""A caller acting for several buyers names one with `buyerId`: each MEF list then shows that
buyer's objects only."""

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import qualification, quoting
from app.core.events import Channel
from app.core.quoting import QuoteKind
from rest_facades.mef.flavours import SONATA
from tests.factories import Caller, line_spec, make_caller
from tests.rest_facades.mef.conformance import check_response


async def _poq(session: AsyncSession, buyer: Caller) -> str:
    made, _ = await qualification.qualify(
        session, principal=buyer.principal, specs=[await line_spec(session)], channel=Channel.SONATA
    )
    return made.id


async def _quote(session: AsyncSession, buyer: Caller) -> str:
    made = await quoting.request_quote(
        session,
        principal=buyer.principal,
        specs=[await line_spec(session)],
        kind=QuoteKind.BUDGETARY,
        channel=Channel.SONATA,
    )
    return made.quote.id


LISTS = {
    "qualifications": ("product_offering_qualification", "/productOfferingQualification", _poq),
    "quotes": ("quote", "/quote", _quote),
}


@pytest.mark.parametrize("name", sorted(LISTS))
async def test_an_agent_lists_what_the_buyer_it_names_asked_for(
    client: httpx.AsyncClient,
    session: AsyncSession,
    carrier: Caller,
    other_carrier: Caller,
    name: str,
) -> None:
    api, path, make = LISTS[name]
    agent = await make_caller(
        session, "carrier", name="Agent", acting_for=[carrier.party_id, other_carrier.party_id]
    )
    made = {buyer.party_id: await make(session, buyer) for buyer in (carrier, other_carrier)}
    url = f"{SONATA.base_path(api).rstrip('/')}{path}"
    for buyer_id, object_id in made.items():
        listed = await client.get(url, headers=agent.headers, params={"buyerId": buyer_id})
        assert listed.status_code == 200, listed.text
        check_response("sonata", api, path, "get", 200, listed.json())
        assert [found["id"] for found in listed.json()] == [object_id]
        assert listed.headers["X-Total-Count"] == "1"
