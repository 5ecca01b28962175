"""Operations staff manage the partner carriers we buy off-net access from."""

import strawberry
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import partners
from app.core.db import config_of
from app.core.errors import CoreError
from resolvers.context import Info
from resolvers.errors import node_id, user_errors
from schema.partners import Partner, PartnerInput, PartnerPayload


def _core_input(given: PartnerInput) -> partners.PartnerInput:
    return partners.PartnerInput(
        name=given.name,
        base_url=given.base_url,
        auth=given.auth,
        api_key=given.api_key,
        oauth_token_url=given.oauth_token_url,
        oauth_client_id=given.oauth_client_id,
        oauth_client_secret=given.oauth_client_secret,
        buyer_id=given.buyer_id,
        margin_percent=given.margin_percent,
        enabled=given.enabled,
        metros=given.metros,
        postcodes=given.postcodes,
        address_ids=None
        if given.address_ids is None
        else [node_id(a, "Location", field="address_ids") for a in given.address_ids],
    )


async def shown(session: AsyncSession, rows: list[partners.Partner]) -> list[Partner]:
    """Partners with their coverage, waiting work and health (two statements in all)."""
    ids = [row.id for row in rows]
    coverage = await partners.coverage_of(session, ids)
    waiting = await partners.waiting_counts(session, ids)
    gateway = config_of(session).partners
    return [
        Partner.of(
            row,
            coverage[row.id],
            waiting[row.id],
            gateway.health(row.id) if gateway is not None else None,
        )
        for row in rows
    ]


async def list_partners(info: Info) -> list[Partner]:
    """Every partner carrier, with its health and the orders waiting on it."""
    session = info.context.session
    return await shown(session, await partners.list_partners(session, principal=info.context.ops()))


_RENAME = {"base_url": "baseUrl", "api_key": "apiKey", "address_ids": "addressIds"}


async def register_partner(info: Info, input: PartnerInput) -> PartnerPayload:
    """Operations staff: register a partner carrier (its credentials are stored, never shown)."""
    principal = info.context.ops()
    session = info.context.session
    try:
        row = await partners.register_partner(
            session, principal=principal, given=_core_input(input)
        )
    except CoreError as exc:
        await session.rollback()
        return PartnerPayload(user_errors=user_errors(exc, rename=_RENAME))
    [partner] = await shown(session, [row])
    return PartnerPayload(partner=partner)


async def update_partner(info: Info, id: strawberry.ID, input: PartnerInput) -> PartnerPayload:
    """Operations staff: change a partner carrier; fields left out stay as they are."""
    principal = info.context.ops()
    session = info.context.session
    try:
        row = await partners.update_partner(
            session, principal=principal, partner_id=str(id), given=_core_input(input)
        )
    except CoreError as exc:
        await session.rollback()
        return PartnerPayload(user_errors=user_errors(exc, rename=_RENAME))
    [partner] = await shown(session, [row])
    return PartnerPayload(partner=partner)
