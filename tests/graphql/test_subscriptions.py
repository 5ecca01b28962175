"""Subscriptions over graphql-transport-ws, end to end: the core writes events, the dispatcher
(on SQLite) or the event feed (on PostgreSQL) delivers them to the app's live broadcaster, and
each subscriber hears only of its own objects.

The app runs under a `TestClient` with its workers off; the tests run its dispatcher and
fulfilment engine on the app's own event loop, so every delivery happens when a test says so."""

import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import pytest
from fastapi import FastAPI
from sqlalchemy.pool import QueuePool
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect
from strawberry.relay import to_base64

from app.core import ordering
from app.core.db import Database
from app.core.event_feed import EventFeed
from app.core.events import Event
from app.core.fulfilment import step
from app.main import create_app
from app.settings import Settings
from tests.factories import Caller, make_order, make_ticket

T = TypeVar("T")
PROTOCOL = "graphql-transport-ws"
WAIT = 5.0  # seconds that any one wait may take before the test fails instead of hanging

ORDER_UPDATES = """subscription($id: ID) { orderUpdates(orderId: $id) {
  id state items { state aEnd { name } service { id state bandwidthMbps } } } }"""
TICKET_UPDATES = """subscription($id: ID) { ticketUpdates(ticketId: $id) {
  id state resolution notes { text } } }"""
ORDER_CONNECTION = """mutation($i: OrderConnectionInput!) { orderConnection(input: $i) {
  order { id state } userErrors { code } } }"""
MOVE = """mutation($i: MoveTicketInput!) { moveTicket(input: $i) {
  ticket { state } userErrors { code } } }"""
NOTE = """mutation($i: AddTicketNoteInput!) { addTicketNote(input: $i) {
  note { text } userErrors { code } } }"""
CLOSE = """mutation($i: CloseTicketInput!) { closeTicket(input: $i) {
  ticket { state } userErrors { code } } }"""


def gid(type_name: str, core_id: str) -> str:
    """The Relay global id of a core object."""
    return to_base64(type_name, core_id)


def receive(ws: WebSocketTestSession) -> dict[str, Any]:
    """The next protocol message from the server; fails after `WAIT` seconds instead of hanging."""

    async def bounded() -> Any:
        with anyio.fail_after(WAIT):
            # The session's own `receive` waits forever; the stream under it can be bounded.
            return await ws._send_rx.receive()

    message = ws.portal.call(bounded)
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    answer: dict[str, Any] = json.loads(message["text"])
    return answer


def received(ws: WebSocketTestSession, op: str = "1") -> dict[str, Any]:
    """The data of the next message, which must be a `next` without errors for `op`."""
    message = receive(ws)
    assert (message["type"], message.get("id")) == ("next", op), message
    assert "errors" not in message["payload"], message
    data: dict[str, Any] = message["payload"]["data"]
    return data


def collect(
    ws: WebSocketTestSession, until: Callable[[dict[str, list[Any]]], bool]
) -> dict[str, list[Any]]:
    """Answers by operation id, read until `until` holds for them."""
    by_op: dict[str, list[Any]] = {}
    while not until(by_op):
        message = receive(ws)
        assert message["type"] == "next", message
        data = message["payload"]["data"]
        by_op.setdefault(message["id"], []).append(next(iter(data.values())))
    return by_op


async def _newest_seq(session: AsyncSession) -> int:
    newest = (await session.exec(select(func.max(Event.seq)))).one()
    return newest or 0


class Live:
    """The app under a `TestClient`: its WebSocket, its dispatcher and its fulfilment engine."""

    def __init__(self, client: TestClient, app: FastAPI) -> None:
        self.client = client
        self.app = app

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine on the app's event loop, bounded in time."""

        async def bounded() -> T:
            with anyio.fail_after(WAIT):
                return await work()

        assert self.client.portal is not None
        return self.client.portal.call(bounded)

    def core(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run core functions in a session of the app's own database, on the app's loop."""
        database: Database = self.app.state.database

        async def in_session() -> T:
            async with database.session() as session:
                return await work(session)

        return self.run(in_session)

    def dispatch(self) -> None:
        """Deliver every pending event, as the dispatcher's loop would; on PostgreSQL the app's
        event feed hands them to subscribers, so wait until it has heard the newest."""
        self.run(self.app.state.dispatcher.run_once)
        feed: EventFeed | None = self.app.state.feed
        if feed is not None:
            newest = self.core(_newest_seq)
            self.until(lambda: feed.heard >= newest)

    def fulfil(self) -> None:
        """Take every due order one step, then deliver the events."""
        assert self.run(self.app.state.fulfilment.tick) > 0
        self.dispatch()

    def post(self, caller: Caller, query: str, **variables: Any) -> dict[str, Any]:
        """One GraphQL operation over HTTP, which must succeed; its single field's value."""
        answer = self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=caller.headers
        ).json()
        assert "errors" not in answer, answer
        payload: dict[str, Any] = next(iter(answer["data"].values()))
        assert payload["userErrors"] == [], payload
        return payload

    def until(self, done: Callable[[], bool]) -> None:
        """Wait (bounded) until `done()` holds, checked on the app's loop."""

        async def poll() -> None:
            # The app signals none of the conditions the tests wait for: poll them.
            while not done():  # noqa: ASYNC110
                await anyio.sleep(0.005)

        self.run(poll)

    @contextlib.contextmanager
    def connect(self, payload: dict[str, Any] | None = None) -> Iterator[WebSocketTestSession]:
        """An acknowledged graphql-transport-ws connection."""
        with self.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
            assert ws.accepted_subprotocol == PROTOCOL
            ws.send_json({"type": "connection_init", "payload": payload or {}})
            assert receive(ws)["type"] == "connection_ack"
            yield ws

    def as_caller(self, caller: Caller) -> contextlib.AbstractContextManager[WebSocketTestSession]:
        """A connection that authenticated as `caller` in its `connection_init`."""
        return self.connect({"Authorization": f"Bearer {caller.key}"})

    def subscribe(
        self, ws: WebSocketTestSession, query: str, op: str = "1", **variables: Any
    ) -> None:
        """Start a subscription and wait until it listens (the protocol acknowledges none)."""
        live = self.app.state.live
        before: int = live.listeners
        ws.send_json(
            {"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
        self.until(lambda: live.listeners > before)

    def connections_in_use(self) -> int:
        """Database connections checked out of the app's pool."""
        pool = self.app.state.database.engine.pool
        assert isinstance(pool, QueuePool)
        return pool.checkedout()


@pytest.fixture
def live(settings: Settings, database: Database) -> Iterator[Live]:
    """The app with its workers off: the tests deliver events and fulfil orders themselves."""
    app = create_app(settings, run_workers=False)
    with TestClient(app) as client:
        yield Live(client, app)


def test_a_developer_follows_its_order_from_placement_to_delivery(
    live: Live, developer: Caller
) -> None:
    with live.as_caller(developer) as ws:
        # An open connection holds no database connection, before answers or between them.
        live.until(lambda: live.connections_in_use() == 0)
        live.subscribe(ws, ORDER_UPDATES)
        bought = live.post(
            developer,
            ORDER_CONNECTION,
            i={
                "aEnd": {"address": "350 E Cermak Rd, Chicago, IL 60616"},
                "zEnd": {"address": "60 Hudson St, New York, NY 10013"},
                "bandwidthMbps": 1000,
                "termMonths": 12,
            },
        )
        order_id = bought["order"]["id"]
        live.dispatch()
        placed = received(ws)["orderUpdates"]
        assert (placed["id"], placed["state"]) == (order_id, "ACKNOWLEDGED")
        [item] = placed["items"]
        assert item == {
            "state": "ACKNOWLEDGED",
            "aEnd": {"name": "Lakeside Technology Center"},
            "service": None,
        }

        # Each step changes the order and its item in one transaction: one answer per step,
        # with the items as they are now, not as the connection last read them.
        live.fulfil()
        started = received(ws)["orderUpdates"]
        assert (started["id"], started["state"]) == (order_id, "IN_PROGRESS")
        assert [i["state"] for i in started["items"]] == ["IN_PROGRESS"]
        assert started["items"][0]["service"] is None

        live.fulfil()
        done = received(ws)["orderUpdates"]
        assert (done["id"], done["state"]) == (order_id, "COMPLETED")
        [item] = done["items"]
        assert item["state"] == "COMPLETED"
        assert item["service"] is not None
        assert (item["service"]["state"], item["service"]["bandwidthMbps"]) == ("ACTIVE", 1000)

        # Nothing else was queued for that order: the next answer is about the next order.
        later = live.core(lambda s: make_order(s, developer))
        live.dispatch()
        assert received(ws)["orderUpdates"]["id"] == gid("Order", later.order.id)
        live.until(lambda: live.connections_in_use() == 0)


def test_order_updates_can_follow_one_order_beside_others_on_one_connection(
    live: Live, developer: Caller
) -> None:
    first = live.core(lambda s: make_order(s, developer)).order
    second = live.core(lambda s: make_order(s, developer)).order
    live.dispatch()  # their placement happened before anyone listened

    async def advance(session: AsyncSession, order_id: str) -> None:
        order = await session.get(ordering.Order, order_id)
        assert order is not None
        assert await step(session, order, complete_after=timedelta(0))
        await session.commit()

    with live.as_caller(developer) as ws:
        live.subscribe(ws, ORDER_UPDATES, "every")
        live.subscribe(ws, ORDER_UPDATES, "second", id=gid("Order", second.id))
        live.core(lambda s: advance(s, first.id))
        live.core(lambda s: advance(s, second.id))
        live.dispatch()
        # Both changes reach "every"; "second" hears of the first order's change before its
        # own or not at all, so reading up to its first answer is enough to know.
        by_op = collect(ws, lambda got: len(got.get("every", [])) == 2 and "second" in got)
    assert [(o["id"], o["state"]) for o in by_op["every"]] == [
        (gid("Order", first.id), "IN_PROGRESS"),
        (gid("Order", second.id), "IN_PROGRESS"),
    ]
    assert [(o["id"], o["state"]) for o in by_op["second"]] == [
        (gid("Order", second.id), "IN_PROGRESS")
    ]


def test_other_parties_hear_nothing_of_an_order_but_operations_hear_everything(
    live: Live, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    with live.as_caller(other_developer) as other, live.as_caller(ops) as staff:
        live.subscribe(other, ORDER_UPDATES)
        live.subscribe(staff, ORDER_UPDATES)
        mine = live.core(lambda s: make_order(s, developer)).order
        live.dispatch()
        assert received(staff)["orderUpdates"]["id"] == gid("Order", mine.id)
        live.run(live.app.state.fulfilment.tick)
        theirs = live.core(lambda s: make_order(s, other_developer)).order
        live.dispatch()
        # Events are heard in order: had the other developer heard of the first developer's
        # order, it would have been before its own.
        assert received(other)["orderUpdates"]["id"] == gid("Order", theirs.id)
        assert [
            (o["id"], o["state"])
            for o in collect(staff, lambda got: len(got.get("1", [])) == 2)["1"]
        ] == [(gid("Order", mine.id), "IN_PROGRESS"), (gid("Order", theirs.id), "ACKNOWLEDGED")]


def test_ticket_updates_follow_a_ticket_through_operations(
    live: Live, developer: Caller, ops: Caller
) -> None:
    ticket = live.core(lambda s: make_ticket(s, developer))
    ticket_id = gid("Ticket", ticket.id)
    live.dispatch()
    with live.as_caller(developer) as ws:
        live.subscribe(ws, TICKET_UPDATES, id=ticket_id)
        live.post(ops, MOVE, i={"ticketId": ticket_id, "state": "IN_PROGRESS"})
        live.dispatch()
        assert received(ws)["ticketUpdates"] == {
            "id": ticket_id,
            "state": "IN_PROGRESS",
            "resolution": None,
            "notes": [],
        }
        live.post(ops, NOTE, i={"ticketId": ticket_id, "text": "Optic on order"})
        live.dispatch()
        noted = received(ws)["ticketUpdates"]
        assert (noted["state"], noted["notes"]) == ("IN_PROGRESS", [{"text": "Optic on order"}])
        live.post(
            ops, MOVE, i={"ticketId": ticket_id, "state": "RESOLVED", "resolution": "New optic"}
        )
        live.dispatch()
        resolved = received(ws)["ticketUpdates"]
        assert (resolved["state"], resolved["resolution"]) == ("RESOLVED", "New optic")
        assert resolved["notes"] == [{"text": "Optic on order"}]
        live.post(developer, CLOSE, i={"ticketId": ticket_id})
        live.dispatch()
        assert received(ws)["ticketUpdates"]["state"] == "CLOSED"


def test_a_connection_with_an_unknown_key_is_refused(live: Live) -> None:
    with live.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": "Bearer lumen_x_nope"}}
        )
        with pytest.raises(WebSocketDisconnect) as refused:
            receive(ws)
    assert refused.value.code == 4403


@pytest.mark.parametrize("query", [ORDER_UPDATES, TICKET_UPDATES], ids=["orders", "tickets"])
def test_a_subscription_without_a_key_is_unauthenticated(live: Live, query: str) -> None:
    with live.connect() as ws:
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        refused = receive(ws)
        assert receive(ws) == {"id": "1", "type": "complete"}
    assert (refused["type"], refused["payload"]["data"]) == ("next", None)
    assert [e["extensions"]["code"] for e in refused["payload"]["errors"]] == ["UNAUTHENTICATED"]
    assert live.app.state.live.listeners == 0


@pytest.mark.parametrize(
    ("query", "wrong"),
    [(ORDER_UPDATES, "Ticket"), (TICKET_UPDATES, "Order")],
    ids=["orders", "tickets"],
)
def test_an_id_of_another_type_is_not_found(
    live: Live, developer: Caller, query: str, wrong: str
) -> None:
    with live.as_caller(developer) as ws:
        variables = {"id": gid(wrong, "x")}
        ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
        refused = receive(ws)
        assert receive(ws) == {"id": "1", "type": "complete"}
    assert [e["extensions"]["code"] for e in refused["payload"]["errors"]] == ["NOT_FOUND"]


OPS_EVENTS = "subscription { opsEvents { entityKind entityId kind state channel } }"


def test_operations_hear_every_partys_events_and_no_one_else_may_listen(
    live: Live, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    with live.as_caller(ops) as staff:
        live.subscribe(staff, OPS_EVENTS)
        mine = live.core(lambda s: make_order(s, developer)).order
        theirs = live.core(lambda s: make_ticket(s, other_developer))
        live.dispatch()
        heard = collect(
            staff,
            lambda got: any(e["entityKind"] == "TICKET" for e in got.get("1", [])),
        )["1"]
    placed = {"entityKind": "ORDER", "entityId": mine.id, "kind": "CREATED"}
    assert any(placed.items() <= event.items() for event in heard), heard
    assert {"entityKind": "TICKET", "entityId": theirs.id}.items() <= heard[-1].items()
    assert {e["entityKind"] for e in heard} >= {"ORDER", "ORDER_ITEM", "PRODUCT", "TICKET"}

    with live.as_caller(developer) as ws:
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": OPS_EVENTS}})
        refused = receive(ws)
        assert receive(ws) == {"id": "1", "type": "complete"}
    assert [e["extensions"]["code"] for e in refused["payload"]["errors"]] == ["NOT_AUTHORIZED"]
    assert live.app.state.live.listeners == 0
