"""any US address validates: a location not in the shared address book is a place that the
parties which validated it hold, geocoded to its ZIP code's centroid

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('location', schema=None) as batch_op:
        # The address book's buildings are surveyed and everyone's.
        batch_op.add_column(
            sa.Column('precision', sa.String(length=16), nullable=False, server_default='building')
        )
        batch_op.add_column(
            sa.Column('shared', sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table('place',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('location_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('party_id', 'location_id')
    )
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_place_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_place_party_id'), ['party_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_place_party_id'))
        batch_op.drop_index(batch_op.f('ix_place_location_id'))
    op.drop_table('place')
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.drop_column('shared')
        batch_op.drop_column('precision')
