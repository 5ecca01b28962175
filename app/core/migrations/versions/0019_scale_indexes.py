"""indexes that keep a party's reads flat as its history grows: its orders newest first, the
items of some of its orders, the events of some of its entities

Revision ID: 0019_scale_indexes
Revises: 0018_partner_quotes
Create Date: 2026-11-30
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0019_scale_indexes'
down_revision: str | None = '0018_partner_quotes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_productorder_party_newest', 'productorder', ['party_id', 'created_at', 'id'], unique=False
    )
    op.create_index(
        'ix_orderitem_party_order', 'orderitem', ['party_id', 'order_id', 'position'], unique=False
    )
    op.create_index('ix_event_party_entity', 'event', ['party_id', 'entity_id', 'seq'], unique=False)
    # The planner's statistics: without them SQLite reads an order's history through the
    # party's index (every event of the party) rather than the one made for it.
    if op.get_bind().dialect.name == 'sqlite':
        # A sample of each index is enough for the planner, and quick on a big file.
        op.execute('PRAGMA analysis_limit=1000')
    op.execute('ANALYZE')


def downgrade() -> None:
    op.drop_index('ix_event_party_entity', table_name='event')
    op.drop_index('ix_orderitem_party_order', table_name='orderitem')
    op.drop_index('ix_productorder_party_newest', table_name='productorder')
