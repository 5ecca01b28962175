"""catalog administration (specifications, categories, catalogs, list prices) and named bills

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('catalog',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('catalog_type', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_from', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('category',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('parent_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_from', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['category.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('offeringprice',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('period_months', sa.Integer(), nullable=True),
    sa.Column('unit_of_measure', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_from', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('specification',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('brand', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_from', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('catalogcategory',
    sa.Column('catalog_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('category_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.ForeignKeyConstraint(['catalog_id'], ['catalog.id'], ),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], ),
    sa.PrimaryKeyConstraint('catalog_id', 'category_id')
    )
    op.create_table('speccharacteristic',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('specification_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('value_type', sa.String(length=12), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('value_from', sa.Integer(), nullable=True),
    sa.Column('value_to', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['specification_id'], ['specification.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('speccharacteristic', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_speccharacteristic_specification_id'), ['specification_id'], unique=False)

    op.create_table('characteristicvalue',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('characteristic_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['characteristic_id'], ['speccharacteristic.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('characteristicvalue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_characteristicvalue_characteristic_id'), ['characteristic_id'], unique=False)

    # Existing offerings get their specification and list prices from the catalog seed, which
    # runs at every start.
    op.create_table('offeringpricelink',
    sa.Column('offering_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('price_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.ForeignKeyConstraint(['offering_id'], ['offering.id'], ),
    sa.ForeignKeyConstraint(['price_id'], ['offeringprice.id'], ),
    sa.PrimaryKeyConstraint('offering_id', 'price_id')
    )
    with op.batch_alter_table('bill', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False, server_default=''))

    with op.batch_alter_table('offering', schema=None) as batch_op:
        batch_op.add_column(sa.Column('valid_from', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('valid_to', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('specification_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('status_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False, server_default=''))
        batch_op.alter_column('kind',
               existing_type=sa.VARCHAR(length=20),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_offering_specification_id'), ['specification_id'], unique=False)
        batch_op.create_foreign_key('fk_offering_specification_id', 'specification', ['specification_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('offering', schema=None) as batch_op:
        batch_op.drop_constraint('fk_offering_specification_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_offering_specification_id'))
        batch_op.alter_column('kind',
               existing_type=sa.VARCHAR(length=20),
               nullable=False)
        batch_op.drop_column('status_reason')
        batch_op.drop_column('valid_to')
        batch_op.drop_column('valid_from')
        batch_op.drop_column('specification_id')

    with op.batch_alter_table('bill', schema=None) as batch_op:
        batch_op.drop_column('description')
        batch_op.drop_column('name')

    op.drop_table('offeringpricelink')
    with op.batch_alter_table('characteristicvalue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_characteristicvalue_characteristic_id'))

    op.drop_table('characteristicvalue')
    with op.batch_alter_table('speccharacteristic', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_speccharacteristic_specification_id'))

    op.drop_table('speccharacteristic')
    op.drop_table('catalogcategory')
    op.drop_table('specification')
    op.drop_table('offeringprice')
    op.drop_table('category')
    op.drop_table('catalog')
