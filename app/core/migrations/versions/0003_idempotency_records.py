"""idempotency records replace the order's own idempotency key

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('idempotencyrecord',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('party_id', 'key', name='uq_idempotencyrecord_party_key')
    )
    with op.batch_alter_table('idempotencyrecord', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotencyrecord_created_at'), ['created_at'], unique=False)

    # The order's own key (and its unique constraint, which goes with the column) is replaced
    # by the records above.
    with op.batch_alter_table('productorder', schema=None) as batch_op:
        batch_op.drop_column('request_fingerprint')
        batch_op.drop_column('idempotency_key')


def downgrade() -> None:
    with op.batch_alter_table('productorder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('request_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_unique_constraint(
            'productorder_party_id_idempotency_key_key', ['party_id', 'idempotency_key']
        )

    with op.batch_alter_table('idempotencyrecord', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotencyrecord_created_at'))

    op.drop_table('idempotencyrecord')
