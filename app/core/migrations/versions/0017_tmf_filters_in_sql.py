"""the attributes core rows keep as given, also kept value by value so that lists filter on them;
a ticket keeps the buyer's own word for its type

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.core.kept import Keeper, rows

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The documents whose values are kept, as `app.core.kept.register_document` names them.
DOCUMENTS = (
    ('offering', 'annotations', 'offering'),
    ('specification', 'annotations', 'specification'),
    ('category', 'annotations', 'category'),
    ('catalog', 'annotations', 'catalog'),
    ('offeringprice', 'annotations', 'price'),
    ('person', 'extra', 'person'),
    ('organization', 'extra', 'organization'),
    ('account', 'extra', 'account'),
    ('billingaccount', 'extra', 'billing_account'),
    ('site', 'annotations', 'site'),
    ('productorder', 'annotations', 'order'),
    ('orderitem', 'annotations', 'order_item'),
    ('quote', 'annotations', 'quote'),
    ('quoteitem', 'annotations', 'quote_item'),
    ('qualification', 'annotations', 'qualification'),
    ('qualificationitem', 'annotations', 'qualification_item'),
    ('ticket', 'annotations', 'ticket'),
)


def upgrade() -> None:
    kept = op.create_table('keptvalue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('keeper', sa.String(length=20), nullable=False),
    sa.Column('row_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('number', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('keptvalue', schema=None) as batch_op:
        batch_op.create_index('ix_keptvalue_path', ['keeper', 'path'], unique=False)
        batch_op.create_index('ix_keptvalue_row', ['keeper', 'row_id'], unique=False)
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('ticket_type_word', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
    connection = op.get_bind()
    for table, column, keeper in DOCUMENTS:
        source = sa.table(table, sa.column('id', sa.String()), sa.column(column, sa.JSON()))
        for row_id, document in connection.execute(sa.select(source.c.id, source.c[column])):
            found = rows(Keeper(keeper), row_id, document)
            if found:
                connection.execute(sa.insert(kept), found)


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_column('ticket_type_word')
    with op.batch_alter_table('keptvalue', schema=None) as batch_op:
        batch_op.drop_index('ix_keptvalue_row')
        batch_op.drop_index('ix_keptvalue_path')
    op.drop_table('keptvalue')
