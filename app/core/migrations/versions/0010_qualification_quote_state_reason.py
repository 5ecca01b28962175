"""qualifications and quotes keep why the seller put them in their state

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('qualification', 'quote'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    'state_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True
                )
            )


def downgrade() -> None:
    for table in ('quote', 'qualification'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('state_reason')
