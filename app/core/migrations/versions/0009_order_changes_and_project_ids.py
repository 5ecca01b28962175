"""order cancellations and date changes are core entities; project ids and list dates are columns

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the MEF face kept in annotations (JSON) and now lives in columns and tables.
_REQUESTS = ('qualification', 'quote', 'productorder')
# The state of an order's cancellation request, from the order's state.
_CANCELLATION_STATE = {
    'cancelled': 'done',
    'assessing_cancellation': 'acknowledged',
    'pending_cancellation': 'assessing_charge',
}


def upgrade() -> None:
    op.create_table('ordercancellation',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('reason_kind', sa.String(length=12), nullable=True),
    sa.Column('contacts', sa.JSON(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['productorder.id'], ),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ordercancellation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ordercancellation_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ordercancellation_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ordercancellation_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ordercancellation_state'), ['state'], unique=False)

    op.create_table('orderdatechange',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('order_item_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('requested_completion_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expedite', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['productorder.id'], ),
    sa.ForeignKeyConstraint(['order_item_id'], ['orderitem.id'], ),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('orderdatechange', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orderdatechange_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_orderdatechange_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orderdatechange_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orderdatechange_requested_completion_at'), ['requested_completion_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_orderdatechange_state'), ['state'], unique=False)

    with op.batch_alter_table('productorder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_productorder_cancelled_at'), ['cancelled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_productorder_completed_at'), ['completed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_productorder_external_id'), ['external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_productorder_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('qualification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_qualification_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('quote', schema=None) as batch_op:
        batch_op.add_column(sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_quote_project_id'), ['project_id'], unique=False)

    _move_out_of_annotations()


def downgrade() -> None:
    with op.batch_alter_table('quote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quote_project_id'))
        batch_op.drop_column('project_id')

    with op.batch_alter_table('qualification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qualification_project_id'))
        batch_op.drop_column('project_id')

    with op.batch_alter_table('productorder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_productorder_project_id'))
        batch_op.drop_index(batch_op.f('ix_productorder_external_id'))
        batch_op.drop_index(batch_op.f('ix_productorder_completed_at'))
        batch_op.drop_index(batch_op.f('ix_productorder_cancelled_at'))
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('project_id')

    with op.batch_alter_table('orderdatechange', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orderdatechange_state'))
        batch_op.drop_index(batch_op.f('ix_orderdatechange_requested_completion_at'))
        batch_op.drop_index(batch_op.f('ix_orderdatechange_party_id'))
        batch_op.drop_index(batch_op.f('ix_orderdatechange_order_id'))
        batch_op.drop_index(batch_op.f('ix_orderdatechange_created_at'))

    op.drop_table('orderdatechange')
    with op.batch_alter_table('ordercancellation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ordercancellation_state'))
        batch_op.drop_index(batch_op.f('ix_ordercancellation_party_id'))
        batch_op.drop_index(batch_op.f('ix_ordercancellation_order_id'))
        batch_op.drop_index(batch_op.f('ix_ordercancellation_created_at'))

    op.drop_table('ordercancellation')


def _move_out_of_annotations() -> None:
    """Project ids, cancellation requests and date changes leave the annotations."""
    connection = op.get_bind()
    for name in _REQUESTS:
        table = sa.table(
            name, sa.column('id'), sa.column('annotations', sa.JSON), sa.column('project_id')
        )
        for row_id, notes in connection.execute(sa.select(table.c.id, table.c.annotations)).all():
            if notes and 'projectId' in notes:
                kept = {k: v for k, v in notes.items() if k != 'projectId'}
                connection.execute(
                    table.update()
                    .where(table.c.id == row_id)
                    .values(project_id=str(notes['projectId'])[:200], annotations=kept)
                )
    orders = sa.table(
        'productorder',
        sa.column('id'),
        sa.column('party_id'),
        sa.column('channel'),
        sa.column('state'),
        sa.column('annotations', sa.JSON),
        sa.column('created_at', app.core.db.UTCDateTime(timezone=True)),
        sa.column('updated_at', app.core.db.UTCDateTime(timezone=True)),
        sa.column('cancelled_at', app.core.db.UTCDateTime(timezone=True)),
        sa.column('cancellation_reason'),
    )
    connection.execute(
        orders.update().where(orders.c.state == 'cancelled').values(cancelled_at=orders.c.updated_at)
    )
    items = sa.table('orderitem', sa.column('id'), sa.column('order_id'), sa.column('position'), sa.column('external_id'))
    cancellations = sa.table(
        'ordercancellation',
        *(sa.column(c) for c in ('id', 'order_id', 'party_id', 'channel', 'state', 'reason', 'reason_kind')),
        sa.column('contacts', sa.JSON),
        sa.column('created_at', app.core.db.UTCDateTime(timezone=True)),
        sa.column('updated_at', app.core.db.UTCDateTime(timezone=True)),
    )
    changes = sa.table(
        'orderdatechange',
        *(sa.column(c) for c in ('id', 'order_id', 'order_item_id', 'party_id', 'channel', 'state')),
        sa.column('expedite', sa.Boolean),
        sa.column('requested_completion_at', app.core.db.UTCDateTime(timezone=True)),
        sa.column('created_at', app.core.db.UTCDateTime(timezone=True)),
    )
    for order in connection.execute(sa.select(orders)).all():
        notes = dict(order.annotations or {})
        asked = notes.pop('cancellation', None)
        moved = notes.pop('dateChanges', None)
        if asked is None and moved is None:
            continue
        if isinstance(asked, dict):
            connection.execute(
                cancellations.insert().values(
                    id=str(asked.get('id') or f'{order.id}-cancel')[:40],
                    order_id=order.id,
                    party_id=order.party_id,
                    channel=order.channel,
                    state=_CANCELLATION_STATE.get(order.state, 'declined'),
                    reason=order.cancellation_reason,
                    reason_kind=asked.get('cancellationReasonType'),
                    contacts=asked.get('relatedContactInformation') or [],
                    created_at=order.updated_at,
                    updated_at=order.updated_at,
                )
            )
        by_ref = {}
        for item in connection.execute(sa.select(items).where(items.c.order_id == order.id)).all():
            by_ref[str(item.position)] = item.id
            if item.external_id:
                by_ref[item.external_id] = item.id
        for change in moved if isinstance(moved, list) else []:
            ref = (change.get('productOrderItem') or {}).get('productOrderItemId')
            if ref not in by_ref or not change.get('requestedCompletionDate'):
                continue
            connection.execute(
                changes.insert().values(
                    id=str(change['id'])[:40],
                    order_id=order.id,
                    order_item_id=by_ref[ref],
                    party_id=order.party_id,
                    channel=order.channel,
                    state='done',
                    expedite=bool(change.get('expediteIndicator')),
                    requested_completion_at=_moment(change['requestedCompletionDate']),
                    created_at=_moment(change.get('creationDate')) or order.updated_at,
                )
            )
        connection.execute(orders.update().where(orders.c.id == order.id).values(annotations=notes))


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace('Z', '+00:00'))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
