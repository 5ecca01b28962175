"""Relay connections over the core's scoped statements, with opaque offset cursors."""

import base64
import binascii
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from sqlmodel.sql.expression import SelectOfScalar

from app.core.paging import count, fetch_page, fetch_window
from resolvers.context import Info
from resolvers.selections import below, fields_of
from schema.base import Connection, Edge, PageInfo

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
Row = TypeVar("Row")
Node = TypeVar("Node")


def encode_cursor(offset: int) -> str:
    """The cursor of the row at `offset`."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The offset a cursor stands for; a malformed cursor is the caller's error."""
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "offset" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise GraphQLError(
        f"'{cursor}' is not a cursor from this API", extensions={"code": "BAD_USER_INPUT"}
    )


def window(
    total: int,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    default: int | None = DEFAULT_PAGE_SIZE,
) -> tuple[int, int]:
    """The `[start, end)` offsets that Relay's arguments select out of `total` rows."""
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
            raise GraphQLError(
                f"'{name}' must be between 0 and {MAX_PAGE_SIZE}",
                extensions={"code": "BAD_USER_INPUT"},
            )
    start = decode_cursor(after) + 1 if after else 0
    end = min(decode_cursor(before), total) if before else total
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    if first is None and last is None and default is not None:
        end = min(end, start + default)
    return start, max(start, end)


def connection(
    nodes: list[Node], *, start: int, total: int | None, more: bool | None = None
) -> Connection[Node]:
    """A connection of the nodes found at offset `start` of `total` (None: not counted, and
    `more` says whether nodes follow)."""
    edges = [Edge(cursor=encode_cursor(start + i), node=node) for i, node in enumerate(nodes)]
    if more is None:
        more = total is not None and start + len(edges) < total
    return Connection(
        total=total,
        edges=edges,
        page_info=PageInfo(
            has_previous_page=start > 0,
            has_next_page=more,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


async def paginate(
    info: Info,
    statement: SelectOfScalar[Row],
    convert: Callable[[Row], Node],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Node]:
    """One page of a statement as a connection; `first`/`last` are capped at 100. The rows
    are counted only for a query that asks for `totalCount` or pages back from the end."""
    session = info.context.session
    if last is not None or "totalCount" in fields_of(below(info.selected_fields)):
        total = await count(session, statement)
        start, end = window(total, first=first, after=after, last=last, before=before)
        page = await fetch_page(session, statement, offset=start, limit=end - start, total=total)
        return connection([convert(row) for row in page.items], start=start, total=total)
    # A count reads every row of the list; a page without one reads the page and one row more.
    start, end = window(sys.maxsize, first=first, after=after, last=None, before=before)
    rows, more = await fetch_window(session, statement, offset=start, limit=end - start)
    return connection([convert(row) for row in rows], start=start, total=None, more=more)


def paginate_list(
    rows: list[Row],
    convert: Callable[[Row], Node],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Node]:
    """A connection over rows already in memory (small, fixed lists such as the catalog)."""
    start, end = window(len(rows), first=first, after=after, last=last, before=before, default=None)
    return connection([convert(r) for r in rows[start:end]], start=start, total=len(rows))


def connection_field(
    node: type[Node],
    convert: Callable[[Row], Node],
    statement: Callable[[Info], SelectOfScalar[Row]],
    *,
    description: str,
) -> Any:
    """A Relay connection field (`first`/`after`/`last`/`before`) over a scoped statement."""

    async def resolve(
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Node]:
        return await paginate(info, statement(info), convert, first, after, last, before)

    # strawberry reads the node type from the annotation, which a generic alias cannot give.
    resolve.__annotations__["return"] = Connection[node]  # type: ignore[valid-type]
    return strawberry.field(resolver=resolve, description=description)
