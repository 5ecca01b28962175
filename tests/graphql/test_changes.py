"""Cancelling, changing bandwidth, tickets, and the operations mutations, with tenancy."""

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import to_base64

from tests.factories import Caller, make_order, make_product
from tests.graphql.conftest import Post, data

CANCEL = """mutation($i: CancelOrderInput!) { cancelOrder(input: $i) {
  order { id state cancellationReason } userErrors { field code } } }"""
CHANGE = """mutation($i: ChangeBandwidthInput!) { changeBandwidth(input: $i) {
  order { state items { action bandwidthMbps service { id } } }
  service { state bandwidthMbps } userErrors { field code alternatives } } }"""
OPEN = """mutation($i: OpenTicketInput!) { openTicket(input: $i) {
  ticket { id state severity service { id } } userErrors { field code } } }"""
NOTE = """mutation($i: AddTicketNoteInput!) { addTicketNote(input: $i) {
  ticket { notes { author text } } note { text } userErrors { field code } } }"""
CLOSE = """mutation($i: CloseTicketInput!) { closeTicket(input: $i) {
  ticket { state } userErrors { field code } } }"""
MOVE = """mutation($i: MoveTicketInput!) { moveTicket(input: $i) {
  ticket { state resolution } userErrors { field code } } }"""
ADVANCE = """mutation($i: AdvanceOrderInput!) { advanceOrder(input: $i) {
  order { state } userErrors { field code } } }"""


def gid(type_name: str, core_id: str) -> str:
    """The Relay global id of a core object."""
    return to_base64(type_name, core_id)


async def _call(gql: Post, mutation: str, caller: Caller, **fields: Any) -> dict[str, Any]:
    answer = data(await gql(mutation, {"i": fields}, caller=caller))
    payload: dict[str, Any] = next(iter(answer.values()))
    return payload


async def test_cancelling_an_order(
    gql: Post, session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    placed = await make_order(session, developer)
    order_id = gid("Order", placed.order.id)
    stolen = await _call(gql, CANCEL, other_developer, orderId=order_id)
    assert stolen == {"order": None, "userErrors": [{"field": "orderId", "code": "NOT_FOUND"}]}
    cancelled = await _call(gql, CANCEL, developer, orderId=order_id, reason="wrong site")
    assert cancelled["order"]["state"] == "ASSESSING_CANCELLATION"
    assert cancelled["order"]["cancellationReason"] == "wrong site"
    again = await _call(gql, CANCEL, developer, orderId=order_id)
    assert again["userErrors"] == [{"field": "state", "code": "ILLEGAL_TRANSITION"}]


async def test_an_id_of_another_type_is_not_found(
    gql: Post, session: AsyncSession, developer: Caller
) -> None:
    placed = await make_order(session, developer)
    refused = await _call(gql, CANCEL, developer, orderId=gid("Ticket", placed.order.id))
    assert refused["userErrors"] == [{"field": "orderId", "code": "NOT_FOUND"}]


async def test_changing_bandwidth(
    gql: Post, session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    product = await make_product(session, developer)
    service_id = gid("Service", product.id)
    stolen = await _call(gql, CHANGE, other_developer, serviceId=service_id, bandwidthMbps=10000)
    assert stolen["userErrors"] == [{"field": "serviceId", "code": "NOT_FOUND", "alternatives": []}]
    odd = await _call(gql, CHANGE, developer, serviceId=service_id, bandwidthMbps=3000)
    assert odd["userErrors"][0]["code"] == "UNSUPPORTED_BANDWIDTH"
    assert odd["userErrors"][0]["alternatives"] == ["2000 Mbps", "5000 Mbps"]
    changed = await _call(gql, CHANGE, developer, serviceId=service_id, bandwidthMbps=10000)
    assert changed["userErrors"] == []
    assert changed["service"] == {"state": "ACTIVE_PENDING_CHANGE", "bandwidthMbps": 1000}
    [item] = changed["order"]["items"]
    assert (item["action"], item["bandwidthMbps"]) == ("MODIFY", 10000)
    assert item["service"]["id"] == service_id


async def test_the_ticket_lifecycle(
    gql: Post, session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    product = await make_product(session, developer)
    stolen = await _call(
        gql,
        OPEN,
        other_developer,
        serviceId=gid("Service", product.id),
        summary="Down",
        description="No light",
    )
    assert stolen["userErrors"] == [{"field": "serviceId", "code": "NOT_FOUND"}]
    blank = await _call(gql, OPEN, developer, summary=" ", description="x")
    assert blank["userErrors"] == [{"field": "summary", "code": "INVALID_REQUEST"}]

    opened = await _call(
        gql,
        OPEN,
        developer,
        serviceId=gid("Service", product.id),
        summary="Down",
        description="No light",
        severity="SIGNIFICANT",
    )
    ticket = opened["ticket"]
    assert (ticket["state"], ticket["severity"]) == ("ACKNOWLEDGED", "SIGNIFICANT")
    noted = await _call(gql, NOTE, developer, ticketId=ticket["id"], text="Since 09:00 UTC")
    assert noted["note"] == {"text": "Since 09:00 UTC"}
    assert noted["ticket"]["notes"] == [{"author": "Nimbus Labs", "text": "Since 09:00 UTC"}]
    for intruder_call in (
        await _call(gql, NOTE, other_developer, ticketId=ticket["id"], text="hi"),
        await _call(gql, CLOSE, other_developer, ticketId=ticket["id"]),
    ):
        assert intruder_call["userErrors"] == [{"field": "ticketId", "code": "NOT_FOUND"}]

    early = await _call(gql, CLOSE, developer, ticketId=ticket["id"])
    assert early["userErrors"] == [{"field": "state", "code": "ILLEGAL_TRANSITION"}]
    forbidden = await gql(
        MOVE, {"i": {"ticketId": ticket["id"], "state": "RESOLVED"}}, caller=developer
    )
    assert forbidden["errors"][0]["extensions"]["code"] == "NOT_AUTHORIZED"
    unresolved = await _call(gql, MOVE, ops, ticketId=ticket["id"], state="RESOLVED")
    assert unresolved["userErrors"] == [{"field": "resolution", "code": "INVALID_REQUEST"}]
    resolved = await _call(
        gql, MOVE, ops, ticketId=ticket["id"], state="RESOLVED", resolution="Replaced the optic"
    )
    assert resolved["ticket"] == {"state": "RESOLVED", "resolution": "Replaced the optic"}
    closed = await _call(gql, CLOSE, developer, ticketId=ticket["id"])
    assert closed["ticket"] == {"state": "CLOSED"}


async def test_ops_move_orders_by_hand(
    gql: Post, session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    placed = await make_order(session, developer)
    order_id = gid("Order", placed.order.id)
    refused = await gql(ADVANCE, {"i": {"orderId": order_id}}, caller=developer)
    assert refused["errors"][0]["extensions"]["code"] == "NOT_AUTHORIZED"
    moved = await _call(gql, ADVANCE, ops, orderId=order_id)
    assert moved["order"] == {"state": "IN_PROGRESS"}
    moved = await _call(gql, ADVANCE, ops, orderId=order_id)
    assert moved["order"] == {"state": "COMPLETED"}
    done = await _call(gql, ADVANCE, ops, orderId=order_id)
    assert done["userErrors"] == [{"field": "state", "code": "ILLEGAL_TRANSITION"}]
