"""related parties, contact media and credit limits kept in tables and columns the core owns

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30 09:36:34.451400
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0011'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contactmedium',
    sa.Column('medium_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('preferred', sa.Boolean(), nullable=True),
    sa.Column('contact_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('email_address', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('phone_number', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('fax_number', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('street1', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('street2', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('city', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('state_or_province', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('post_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('valid_from', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=20), nullable=False),
    sa.Column('holder_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contactmedium', schema=None) as batch_op:
        batch_op.create_index('ix_contactmedium_holder', ['holder', 'holder_id'], unique=False)

    op.create_table('relatedpartyref',
    sa.Column('ref_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('referred_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('href', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=20), nullable=False),
    sa.Column('holder_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('relatedpartyref', schema=None) as batch_op:
        batch_op.create_index('ix_relatedpartyref_holder', ['holder', 'holder_id'], unique=False)

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_limit_value', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('credit_limit_unit', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))

    with op.batch_alter_table('billingaccount', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_limit_value', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('credit_limit_unit', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('billingaccount', schema=None) as batch_op:
        batch_op.drop_column('credit_limit_unit')
        batch_op.drop_column('credit_limit_value')

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('credit_limit_unit')
        batch_op.drop_column('credit_limit_value')

    with op.batch_alter_table('relatedpartyref', schema=None) as batch_op:
        batch_op.drop_index('ix_relatedpartyref_holder')

    op.drop_table('relatedpartyref')
    with op.batch_alter_table('contactmedium', schema=None) as batch_op:
        batch_op.drop_index('ix_contactmedium_holder')

    op.drop_table('contactmedium')
