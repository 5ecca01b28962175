"""events say whose listeners hear of them (the owner's, everyone's or operations staff's);
catalog entries keep the attributes the core does not interpret

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATALOG_TABLES = ('offering', 'specification', 'category', 'catalog', 'offeringprice')


def upgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('audience', sa.String(length=12), nullable=False, server_default='owner')
        )
    for table in CATALOG_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            # Existing entries kept nothing: an empty object.
            batch_op.add_column(
                sa.Column('annotations', sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
            )


def downgrade() -> None:
    for table in CATALOG_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('annotations')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('audience')
