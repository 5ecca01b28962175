"""Public reference data: the address book and the product catalog (no key needed)."""

import strawberry
from graphql import GraphQLError

from app.core import catalog, geography
from app.core.errors import CoreError
from resolvers.context import Info
from resolvers.pagination import paginate_list
from schema.base import Connection
from schema.catalog import ProductOffering
from schema.geography import Location, NearInput

MAX_LOCATIONS = 500


async def locations(
    info: Info,
    search: str | None = None,
    near: NearInput | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[Location]:
    """Known buildings by name or address text, and/or nearest first around a point."""
    try:
        rows = await geography.search_locations(
            info.context.session,
            text=search,
            limit=MAX_LOCATIONS,
            near=(near.latitude, near.longitude) if near else None,
            radius_km=near.radius_km if near else None,
        )
    except CoreError as exc:
        raise GraphQLError(
            f"search: {exc.message}", extensions={"code": "BAD_USER_INPUT", "field": "search"}
        ) from exc
    return paginate_list(
        rows, Location.from_row, first=first, after=after, last=last, before=before
    )


async def product_offerings(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[ProductOffering]:
    """Every product on sale."""
    rows = await catalog.list_offerings(info.context.session)
    return paginate_list(
        rows, ProductOffering.from_row, first=first, after=after, last=last, before=before
    )


def viewer_id(info: Info) -> strawberry.ID:
    """The caller's party id (authentication required)."""
    return strawberry.ID(info.context.caller().party_id)
