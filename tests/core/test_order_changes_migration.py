"""Migration 0006 moves what the MEF face kept in annotations into the core's columns and tables."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import create_engine
from sqlalchemy.engine.interfaces import ReflectedColumn

from app.core.migrate import upgrade

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _filler(column: ReflectedColumn) -> Any:
    """A value for a required column the test does not care about."""
    kind = column["type"]
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.DateTime):
        return NOW
    return "x"


def _insert(connection: sa.Connection, table: str, **values: Any) -> None:
    """A row with the given values and fillers for the other required columns."""
    columns = {c["name"]: c for c in sa.inspect(connection).get_columns(table)}
    row = {n: _filler(c) for n, c in columns.items() if not c["nullable"]} | values
    typed = sa.table(table, *(sa.column(n, columns[n]["type"]) for n in row))
    connection.execute(typed.insert().values(row))


def test_requests_kept_in_annotations_move_to_their_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0003")
    engine = create_engine(url)
    asked = {
        "id": "ord_1-cancel",
        "cancellationReasonType": "technical",
        "relatedContactInformation": [{"name": "Ada", "role": "buyerContactInformation"}],
    }
    moved = {
        "id": "ord_1-date-1",
        "creationDate": "2026-11-02T10:00:00Z",
        "requestedCompletionDate": "2027-01-15T00:00:00Z",
        "expediteIndicator": True,
        "productOrderItem": {"productOrderId": "ord_1", "productOrderItemId": "A"},
        "state": "done",
    }
    with engine.begin() as connection:
        _insert(
            connection,
            "productorder",
            id="ord_1",
            party_id="pty_1",
            channel="sonata",
            state="cancelled",
            cancellation_reason="site not ready",
            annotations={
                "projectId": "rollout",
                "note": "kept",
                "cancellation": asked,
                "dateChanges": [moved],
            },
        )
        _insert(connection, "orderitem", id="oi_1", order_id="ord_1", position=1, external_id="A")
        _insert(connection, "qualification", id="poq_1", annotations={"projectId": "p2"})
    upgrade(url)
    with engine.connect() as connection:
        order = connection.execute(
            sa.text("SELECT project_id, annotations, cancelled_at FROM productorder")
        ).one()
        cancellation = connection.execute(
            sa.text("SELECT id, order_id, state, reason, reason_kind FROM ordercancellation")
        ).one()
        change = connection.execute(
            sa.text("SELECT id, order_item_id, state, expedite FROM orderdatechange")
        ).one()
        poq = connection.execute(sa.text("SELECT project_id FROM qualification")).one()
    engine.dispose()
    assert order.project_id == "rollout"
    assert set(json.loads(order.annotations)) == {"note"}
    assert order.cancelled_at is not None
    assert tuple(cancellation) == ("ord_1-cancel", "ord_1", "done", "site not ready", "technical")
    assert tuple(change) == ("ord_1-date-1", "oi_1", "done", 1)
    assert poq.project_id == "p2"
