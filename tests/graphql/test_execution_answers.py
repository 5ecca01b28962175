"""The platform's own queries answer the same, data and errors, whether plain subtrees are
completed in place or by strawberry's stock execution."""

from typing import Any

import pytest
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_abstract_type,
    is_leaf_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.core.catalog import ProductSpec
from schema.execution import LeanExecutionContext
from schema.root import schema
from tests.factories import CHICAGO, Caller, location_id, make_order, make_ticket
from tests.graphql.conftest import Answer, Post


def _named(kind: GraphQLOutputType) -> Any:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def every_field(type_name: str, depth: int = 3, skip: frozenset[str] = frozenset()) -> str:
    """A selection of every field of a type that takes no arguments, objects `depth` deep,
    but those named in `skip` (as `Type.field`)."""
    kind = schema._schema.get_type(type_name)
    assert isinstance(kind, GraphQLObjectType)
    selected = ["__typename"]
    for name, field in kind.fields.items():
        named = _named(field.type)
        if field.args or f"{type_name}.{name}" in skip:
            continue
        if is_leaf_type(named):
            selected.append(name)
        elif is_abstract_type(named):
            selected.append(f"{name} {{ __typename ... on Node {{ id }} }}")
        elif depth > 1:
            selected.append(f"{name} {{ {every_field(named.name, depth - 1, skip)} }}")
    return " ".join(selected)


ORDER = every_field("Order")
# A quote's items are read by a coroutine: the rest of an order is plain.
PLAIN_ORDER = every_field("Order", skip=frozenset({"Quote.items"}))
QUERIES = [
    # Lists with every Order, OrderItem, Ticket and Quote field, through nodes and edges.
    f"{{ viewer {{ orders(first: 5) {{ totalCount pageInfo {{ hasNextPage endCursor }}"
    f" nodes {{ {ORDER} }} edges {{ cursor node {{ {ORDER} }} }} }} }} }}",
    f"{{ viewer {{ tickets(first: 5) {{ nodes {{ {every_field('Ticket')} }} }} }} }}",
    f"{{ viewer {{ quotes(first: 5) {{ nodes {{ {every_field('Quote')} }} }} }} }}",
    f"{{ viewer {{ party {{ {every_field('Party', 2)} }} }} }}",
    # `node`, fragments (named, inline, on the interface), aliases, __typename.
    "query N($id: ID!) { node(id: $id) { __typename ...O ... on Node { id } } }"
    " fragment O on Order { state lines: items { ... on OrderItem { s: state, state"
    " product { code } } } again: items { price { currency } } quote { id } }",
    # Directives and variables.
    "query D($yes: Boolean!) { viewer { orders(first: 5) { nodes { id @include(if: $yes)"
    " state @skip(if: $yes) items { state aEnd @include(if: $yes) { name } } } } } }",
    # Errors: a refused page size, and a field for operations staff only, beside data.
    "{ viewer { orders(first: 1000) { nodes { id } } } }",
    "{ ops { ordersByState { state count } } viewer { orders(first: 2) { nodes { id } } } }",
    'query N($id: ID!) { node(id: "T3JkZXI6bm9uZQ==") { id } other: node(id: $id) { id } }',
]


async def _both(
    gql: Post, monkeypatch: pytest.MonkeyPatch, caller: Caller, query: str, variables: Any
) -> tuple[Answer, Answer]:
    """The answer of strawberry's stock execution, and of the lean one."""
    monkeypatch.setattr(schema, "execution_context_class", StrawberryGraphQLCoreExecutionContext)
    stock = await gql(query, variables, caller=caller)
    monkeypatch.setattr(schema, "execution_context_class", LeanExecutionContext)
    lean = await gql(query, variables, caller=caller)
    return stock, lean


@pytest.fixture
async def orders(session: AsyncSession, developer: Caller) -> str:
    """A few orders (one point-to-point, one on a single site) and a ticket; an order's id."""
    placed = await make_order(session, developer)
    port = ProductSpec(
        offering_id="ethernet-port",
        a_location_id=await location_id(session, CHICAGO),
        z_location_id=None,
        bandwidth_mbps=1000,
        term_months=12,
    )
    await make_order(session, developer, spec=port)
    await make_ticket(session, developer)
    return placed.order.id


async def test_queries_answer_as_stock_execution(
    gql: Post, monkeypatch: pytest.MonkeyPatch, developer: Caller, orders: str
) -> None:
    listed = await gql("{ viewer { orders(first: 1) { nodes { id } } } }", caller=developer)
    node_id = listed["data"]["viewer"]["orders"]["nodes"][0]["id"]
    for query in QUERIES:
        for yes in (True, False):
            variables = {"id": node_id, "yes": yes}
            stock, lean = await _both(gql, monkeypatch, developer, query, variables)
            assert lean == stock, query
    # The queries do reach data and errors both.
    stock, _ = await _both(gql, monkeypatch, developer, QUERIES[7], {})
    assert stock["errors"][0]["path"] == ["ops"]


async def test_orders_are_completed_in_place(
    gql: Post,
    monkeypatch: pytest.MonkeyPatch,
    developer: Caller,
    orders: str,
    completions: list[str],
) -> None:
    completed = completions
    query = QUERIES[0].replace(ORDER, PLAIN_ORDER)
    stock, lean = await _both(gql, monkeypatch, developer, query, {})
    assert lean == stock
    assert len(lean["data"]["viewer"]["orders"]["nodes"]) == 3
    assert lean["data"]["viewer"]["orders"]["nodes"][0]["items"][0]["product"]["code"]
    # graphql-core completed the connection; its orders and their items were completed in place.
    assert "OrderConnection!" in completed
    assert not [kind for kind in completed if "Order" in kind and "Connection" not in kind]


ORDER_LEAVES = ["id", "state", "channel", "externalId", "createdAt", "completedAt"]
ITEM_LEAVES = ["id", "position", "state", "bandwidthMbps", "classOfService"]
ITEM_OBJECTS = {
    "product": "code bandwidthsMbps",
    "aEnd": "name",
    "zEnd": "name __typename",
    "service": "id",
    "price": "monthlyRecurring currency",
}


@st.composite
def _selection(draw: st.DrawFn, leaves: list[str], objects: dict[str, str]) -> str:
    """Some of the fields, each perhaps aliased, under a directive or in an inline fragment."""
    fields = [*leaves, *(f"{name} {{ {below} }}" for name, below in objects.items())]
    picked = draw(st.sets(st.sampled_from(fields), min_size=1))
    chosen = [field for field in fields if field in picked]
    parts = []
    for n, field in enumerate(chosen):
        how = draw(st.sampled_from(["plain", "alias", "include", "fragment"]))
        if how == "alias":
            field = f"a{n}: {field}"
        elif how == "include":
            field = f"{field.split(' ', 1)[0]} @include(if: $yes) {field.partition(' ')[2]}"
        elif how == "fragment":
            field = f"... {{ {field} }}"
        parts.append(field)
    return " ".join(parts)


@st.composite
def order_queries(draw: st.DrawFn) -> str:
    """A list of orders with a random selection of their fields and their items'."""
    items = draw(_selection(ITEM_LEAVES, ITEM_OBJECTS))
    order = draw(_selection(ORDER_LEAVES, {"items": items, "price": "oneTime currency"}))
    variables = "($yes: Boolean!)" if "$yes" in order else ""
    return f"query R{variables} {{ viewer {{ orders(first: 5) {{ nodes {{ {order} }} }} }} }}"


async def test_random_selections_of_orders_answer_as_stock_execution(
    gql: Post, monkeypatch: pytest.MonkeyPatch, developer: Caller, orders: str
) -> None:
    queries: list[str] = []

    @settings(
        max_examples=25,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(order_queries())
    def collect(query: str) -> None:
        queries.append(query)

    collect()
    assert len(queries) >= 20
    for n, query in enumerate(queries):
        variables = {"yes": n % 2 == 0} if "$yes" in query else {}
        stock, lean = await _both(gql, monkeypatch, developer, query, variables)
        assert "errors" not in stock, (query, stock)
        assert lean == stock, query
