"""Browsing the catalog as buyers do: offerings and categories by criteria, in SQL."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col
from sqlmodel.sql.expression import SelectOfScalar

from app.core.catalog import (
    Category,
    LifecycleStatus,
    Offering,
    ProductKind,
    categories_query,
    offerings_query,
)
from app.core.parties import Principal


@dataclass(frozen=True)
class OfferingFilter:
    """Criteria of an offering search; each one given must hold (dates compare strictly)."""

    name: str | None = None
    statuses: frozenset[LifecycleStatus] | None = None
    kinds: frozenset[ProductKind] | None = None
    category: str | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None


def offering_search(
    *, principal: Principal, where: OfferingFilter | None = None
) -> SelectOfScalar[Offering]:
    """The offerings a caller may browse (see `offerings_query`) meeting `where`, by id, to
    page through."""
    statement = offerings_query(principal=principal)
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
    return statement


def category_search(
    *,
    parent_id: str | None = None,
    updated_after: datetime | None = None,
    updated_before: datetime | None = None,
) -> SelectOfScalar[Category]:
    """The categories of the catalog below a parent (when named), changed within the dates
    given (compared strictly), by id, to page through."""
    statement = categories_query()
    conditions = [
        Category.parent_id == parent_id if parent_id is not None else None,
        col(Category.updated_at) > updated_after if updated_after else None,
        col(Category.updated_at) < updated_before if updated_before else None,
    ]
    return statement.where(*(c for c in conditions if c is not None))
