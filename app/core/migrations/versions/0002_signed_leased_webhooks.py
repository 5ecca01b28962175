"""signed, leased webhook deliveries

Subscriptions get a signing secret; deliveries get a lease (`locked_until`, `locked_by`) so that
one process of several claims each, and the time of their last attempt.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""
import base64
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True))
    # Listeners registered earlier get a secret too; their owners learn it by registering again.
    subscription = sa.table('subscription', sa.column('id', sa.String), sa.column('secret', sa.String))
    connection = op.get_bind()
    for (subscription_id,) in connection.execute(sa.select(subscription.c.id)).all():
        secret = 'whsec_' + base64.b64encode(secrets.token_bytes(32)).decode()
        connection.execute(
            subscription.update().where(subscription.c.id == subscription_id).values(secret=secret)
        )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False)

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_attempt_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locked_until', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locked_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('locked_by')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('last_attempt_at')

    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_column('secret')
