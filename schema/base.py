"""Shared GraphQL types: connections, money, user errors, and node resolution."""

import functools
from asyncio import Future
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.utils.aio import resolve_awaitable
from strawberry.utils.await_maybe import AwaitableOrValue

NodeT = TypeVar("NodeT")
Row = TypeVar("Row")
T = TypeVar("T")
U = TypeVar("U")


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A node and the cursor that points at it.")
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


def _total_count(root: "Connection[Any]") -> int:
    # The rows are counted only when a query asks for the count (see `paginate`).
    if root.total is None:
        raise LookupError("the list was not counted")
    return root.total


@strawberry.type(description="A page of a list, Relay style; at most 100 nodes a page.")
class Connection(Generic[NodeT]):
    total_count: int = strawberry.field(
        resolver=_total_count, description="Nodes in the whole list."
    )
    page_info: PageInfo
    edges: list[Edge[NodeT]]
    total: strawberry.Private[int | None]

    @strawberry.field(description="The nodes of this page, without cursors.")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


@functools.lru_cache(maxsize=4096)
def cents(amount: int) -> Decimal:
    """Cents as a decimal amount with two places."""
    # Kept: a page's prices repeat, and a Decimal is immutable.
    return Decimal(amount).scaleb(-2)


@strawberry.type(description="An amount of money.")
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount_cents: int, currency: str = "USD") -> "Money":
        """Money from cents."""
        return cls(amount=cents(amount_cents), currency=currency)


@strawberry.type(description="What a product costs: monthly and once.")
class Price:
    monthly_recurring: Decimal
    one_time: Decimal
    currency: str

    @classmethod
    def of(cls, monthly_cents: int, one_time_cents: int, currency: str = "USD") -> "Price":
        """A price from cents."""
        return cls(
            monthly_recurring=cents(monthly_cents),
            one_time=cents(one_time_cents),
            currency=currency,
        )


@strawberry.type(description="Why a mutation refused its input; nothing was changed.")
class UserError:
    field: str | None = strawberry.field(description="Path of the offending input field.")
    code: str = strawberry.field(description="Stable, machine-readable reason.")
    message: str
    alternatives: list[str] = strawberry.field(
        default_factory=list, description="Values that would be accepted instead, if any."
    )


async def resolve_many(
    load: Callable[[list[str]], Awaitable[list[Row | None]]],
    node_ids: Iterable[str],
    convert: Callable[[Row], T],
) -> list[T | None]:
    """Nodes by id through a loader; ids the caller may not see resolve to None."""
    rows = await load(list(node_ids))
    return [convert(row) if row is not None else None for row in rows]


def optional(value: Any, convert: Callable[[Any], T]) -> T | None:
    """`convert(value)` unless value is None."""
    return None if value is None else convert(value)


def then(value: T | Future[T], convert: Callable[[T], U]) -> AwaitableOrValue[U]:
    """`convert(value)`: at once for a value already loaded, once loaded for a future."""
    if isinstance(value, Future):
        return resolve_awaitable(value, convert)
    return convert(value)
