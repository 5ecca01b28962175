"""every process hears of committed events: on PostgreSQL a trigger on the event table sends
the new events' seqs on the `lumen_events` channel (NOTIFY), delivered when they commit

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One notification per 300 events of a statement: a payload must stay under 8000 bytes, and a
# bulk load of history makes few notifications rather than one per row.
NOTIFY_FUNCTION = """
CREATE FUNCTION lumen_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lumen_events', string_agg(seq::text, ',' ORDER BY seq))
    FROM inserted GROUP BY seq / 300 ORDER BY seq / 300;
    RETURN NULL;
END
$$
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER event_notify AFTER INSERT ON event
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION lumen_notify_events()
"""


def upgrade() -> None:
    # SQLite serves one process, which hears its events in-process.
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(NOTIFY_FUNCTION)
    op.execute(NOTIFY_TRIGGER)
    # Subscribers hear events from the notifications now, not from a dispatcher handler.
    op.execute("DELETE FROM delivery WHERE receiver = 'graphql-live' AND status = 'pending'")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP TRIGGER IF EXISTS event_notify ON event')
    op.execute('DROP FUNCTION IF EXISTS lumen_notify_events()')
