"""the partner's quote that priced an off-net access, kept with the work of buying it

Revision ID: 0020_partner_choice
Revises: 0019_scale_indexes
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0020_partner_choice'
down_revision: str | None = '0019_scale_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('partnerwork', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('quote_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('partnerwork', schema=None) as batch_op:
        batch_op.drop_column('quote_id')
