"""contacts and accounts kept by parties

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 08:24:53.120961
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('account',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('account_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('payment_status', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_party_id'), ['party_id'], unique=False)

    op.create_table('billingcycle',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('frequency', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('billing_period', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('billing_date_shift', sa.Integer(), nullable=True),
    sa.Column('charge_date_offset', sa.Integer(), nullable=True),
    sa.Column('credit_date_offset', sa.Integer(), nullable=True),
    sa.Column('mailing_date_offset', sa.Integer(), nullable=True),
    sa.Column('payment_due_date_offset', sa.Integer(), nullable=True),
    sa.Column('valid_from', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('billingcycle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billingcycle_party_id'), ['party_id'], unique=False)

    op.create_table('billingoption',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('billingoption', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billingoption_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_billingoption_party_id'), ['party_id'], unique=False)

    op.create_table('organization',
    sa.Column('trading_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('name_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('organization_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('is_legal_entity', sa.Boolean(), nullable=True),
    sa.Column('is_head_office', sa.Boolean(), nullable=True),
    sa.Column('exists_from', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exists_until', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_party_id'), ['party_id'], unique=False)

    op.create_table('person',
    sa.Column('given_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('family_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('middle_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('family_name_prefix', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('preferred_given_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('formatted_name', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('legal_name', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('aristocratic_title', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('generation', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('gender', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('marital_status', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('nationality', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('country_of_birth', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('place_of_birth', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('birth_date', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('death_date', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_party_id'), ['party_id'], unique=False)

    with op.batch_alter_table('billingaccount', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(sa.Column('account_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('payment_status', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('extra', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('billingaccount', schema=None) as batch_op:
        batch_op.drop_column('extra')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('payment_status')
        batch_op.drop_column('account_type')
        batch_op.drop_column('description')

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_party_id'))

    op.drop_table('person')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_party_id'))

    op.drop_table('organization')
    with op.batch_alter_table('billingoption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billingoption_party_id'))
        batch_op.drop_index(batch_op.f('ix_billingoption_kind'))

    op.drop_table('billingoption')
    with op.batch_alter_table('billingcycle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billingcycle_party_id'))

    op.drop_table('billingcycle')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_party_id'))
        batch_op.drop_index(batch_op.f('ix_account_kind'))

    op.drop_table('account')
