"""partners' answers about an access (POQ and firm quote) kept until they expire, and the
secret a partner signs its notifications to us with

Revision ID: 0018_partner_quotes
Revises: 0017
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0018_partner_quotes'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('listener_secret', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
    op.create_table('partnerquote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('bandwidth_mbps', sa.Integer(), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('serviceable', sa.Boolean(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('monthly_cents', sa.Integer(), nullable=False),
    sa.Column('one_time_cents', sa.Integer(), nullable=False),
    sa.Column('quote_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('valid_until', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('partner_id', 'place', 'bandwidth_mbps', 'term_months')
    )
    with op.batch_alter_table('partnerquote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partnerquote_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partnerquote_valid_until'), ['valid_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('partnerquote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partnerquote_valid_until'))
        batch_op.drop_index(batch_op.f('ix_partnerquote_partner_id'))
    op.drop_table('partnerquote')
    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.drop_column('listener_secret')
