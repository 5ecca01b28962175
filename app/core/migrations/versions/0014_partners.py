"""partner carriers we buy off-net access from: their registry, coverage and the work of
buying access for order items

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('partner',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('base_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('auth', sa.String(length=30), nullable=False),
    sa.Column('api_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('oauth_token_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('oauth_client_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('oauth_client_secret', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('buyer_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('margin_basis_points', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('listener_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('partnercoverage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('partner_id', 'kind', 'value')
    )
    with op.batch_alter_table('partnercoverage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partnercoverage_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partnercoverage_value'), ['value'], unique=False)

    op.create_table('partnerwork',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('partner_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('order_item_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('location_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('bandwidth_mbps', sa.Integer(), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('partner_order_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['productorder.id'], ),
    sa.ForeignKeyConstraint(['order_item_id'], ['orderitem.id'], ),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('partnerwork', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partnerwork_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_partnerwork_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partnerwork_order_item_id'), ['order_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partnerwork_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partnerwork_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('partnerwork', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partnerwork_state'))
        batch_op.drop_index(batch_op.f('ix_partnerwork_partner_id'))
        batch_op.drop_index(batch_op.f('ix_partnerwork_order_item_id'))
        batch_op.drop_index(batch_op.f('ix_partnerwork_order_id'))
        batch_op.drop_index(batch_op.f('ix_partnerwork_next_attempt_at'))

    op.drop_table('partnerwork')
    with op.batch_alter_table('partnercoverage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partnercoverage_value'))
        batch_op.drop_index(batch_op.f('ix_partnercoverage_partner_id'))

    op.drop_table('partnercoverage')
    op.drop_table('partner')
