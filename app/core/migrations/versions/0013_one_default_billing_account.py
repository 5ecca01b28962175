"""one default billing account per party

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Two first orders of one party could each have created a default account: the older stays
    # the default, the younger becomes an additional account (its bills and orders keep it).
    op.execute(
        "UPDATE billingaccount SET is_default = false WHERE is_default AND EXISTS ("
        " SELECT 1 FROM billingaccount older WHERE older.party_id = billingaccount.party_id"
        " AND older.is_default AND (older.created_at < billingaccount.created_at"
        " OR (older.created_at = billingaccount.created_at AND older.id < billingaccount.id)))"
    )
    op.create_index(
        'uq_billingaccount_default',
        'billingaccount',
        ['party_id'],
        unique=True,
        sqlite_where=sa.text('is_default'),
        postgresql_where=sa.text('is_default'),
    )


def downgrade() -> None:
    op.drop_index('uq_billingaccount_default', table_name='billingaccount')
