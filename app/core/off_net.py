"""Access to places off our network: what a partner carrier offers there, if any."""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.geography import Location


@dataclass(frozen=True)
class OffNetOffer:
    """A partner carrier's offer of access at a place off our network."""

    partner: str
    # The fastest access the partner sells there.
    max_mbps: int


async def off_net_offer(session: AsyncSession, *, location: Location) -> OffNetOffer | None:
    """The partner offer of access at an off-net location; None while no partner covers it.

    The seam of the Partner Interface Layer: until partner carriers are configured none covers
    any place, so an off-net place is not serviceable and gets no price on any face."""
    return None
