"""work orders and appointments

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('workorder',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('order_item_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('ticket_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('location_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('site_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('task', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('appointment_required', sa.Boolean(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('planned_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['order_item_id'], ['orderitem.id'], ),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('workorder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workorder_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workorder_order_item_id'), ['order_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workorder_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workorder_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workorder_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_workorder_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('appointment',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('work_order_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('starts_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('contact_number', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.ForeignKeyConstraint(['work_order_id'], ['workorder.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_work_order_id'), ['work_order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_work_order_id'))
        batch_op.drop_index(batch_op.f('ix_appointment_state'))
        batch_op.drop_index(batch_op.f('ix_appointment_starts_at'))
        batch_op.drop_index(batch_op.f('ix_appointment_party_id'))

    op.drop_table('appointment')
    with op.batch_alter_table('workorder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workorder_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_workorder_state'))
        batch_op.drop_index(batch_op.f('ix_workorder_site_id'))
        batch_op.drop_index(batch_op.f('ix_workorder_party_id'))
        batch_op.drop_index(batch_op.f('ix_workorder_order_item_id'))
        batch_op.drop_index(batch_op.f('ix_workorder_location_id'))

    op.drop_table('workorder')
