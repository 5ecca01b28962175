"""Browsing the catalog as buyers do: offerings by criteria and the categories they fall in."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core.catalog import Offering, OfferingStatus, ProductKind


@dataclass(frozen=True)
class OfferingFilter:
    """Criteria of an offering search; each one given must hold (dates compare strictly)."""

    name: str | None = None
    statuses: frozenset[OfferingStatus] | None = None
    kinds: frozenset[ProductKind] | None = None
    category: str | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None


def offerings_query(*, where: OfferingFilter | None = None) -> SelectOfScalar[Offering]:
    """The catalog, retired offerings included, meeting `where`, by id, to page through."""
    statement = select(Offering)
    if where is not None:
        conditions = [
            Offering.name == where.name if where.name is not None else None,
            col(Offering.status).in_(where.statuses) if where.statuses is not None else None,
            col(Offering.kind).in_(where.kinds) if where.kinds is not None else None,
            Offering.category == where.category if where.category is not None else None,
            col(Offering.updated_at) > where.updated_after if where.updated_after else None,
            col(Offering.updated_at) < where.updated_before if where.updated_before else None,
        ]
        statement = statement.where(*(c for c in conditions if c is not None))
    return statement.order_by(col(Offering.id))


def categories_query(
    *, updated_after: datetime | None = None, updated_before: datetime | None = None
) -> SelectOfScalar[str]:
    """The names of the catalog's categories, in order; a category changed when one of its
    offerings last did (`updated_*` compare strictly with that)."""
    last = func.max(Offering.updated_at)
    statement = select(Offering.category).group_by(col(Offering.category))
    if updated_after is not None:
        statement = statement.having(last > updated_after)
    if updated_before is not None:
        statement = statement.having(last < updated_before)
    return statement.order_by(col(Offering.category))


async def offerings_by_category(
    session: AsyncSession, names: list[str]
) -> dict[str, list[Offering]]:
    """The offerings of each named category, by id, in one statement."""
    statement = select(Offering).where(col(Offering.category).in_(names)).order_by(col(Offering.id))
    found: dict[str, list[Offering]] = {name: [] for name in names}
    for offering in (await session.exec(statement)).all():
        found[offering.category].append(offering)
    return found
