"""Access to places off our network: what a partner carrier offers there, if any."""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import partners
from app.core.db import config_of
from app.core.geography import Location


@dataclass(frozen=True)
class OffNetOffer:
    """A partner carrier's offer of access at a place off our network."""

    partner: str
    # The fastest access the partner sells there.
    max_mbps: int


async def off_net_offer(session: AsyncSession, *, location: Location) -> OffNetOffer | None:
    """The partner offer of access at an off-net location; None when no enabled partner covers
    it (or partners are switched off), so that the place is not serviceable and gets no price."""
    if config_of(session).partners is None:
        return None
    partner = await partners.covering_partner(session, location)
    if partner is None:
        return None
    return OffNetOffer(partner=partner.name, max_mbps=partners.PORT_SPEEDS_MBPS[-1])
