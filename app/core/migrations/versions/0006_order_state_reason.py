"""an order keeps why the seller put it in its state (e.g. why it was rejected)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('productorder', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('state_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('productorder', schema=None) as batch_op:
        batch_op.drop_column('state_reason')
