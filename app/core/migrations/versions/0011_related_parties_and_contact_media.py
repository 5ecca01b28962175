"""related parties, contact media and credit limits kept in tables and columns the core owns

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 09:36:34.451400
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contactmedium',
    sa.Column('medium_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('preferred', sa.Boolean(), nullable=True),
    sa.Column('contact_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('email_address', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('phone_number', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('fax_number', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('street1', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('street2', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('city', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('state_or_province', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('post_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('valid_from', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=20), nullable=False),
    sa.Column('holder_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contactmedium', schema=None) as batch_op:
        batch_op.create_index('ix_contactmedium_holder', ['holder', 'holder_id'], unique=False)

    op.create_table('relatedpartyref',
    sa.Column('ref_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('referred_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('href', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=20), nullable=False),
    sa.Column('holder_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('relatedpartyref', schema=None) as batch_op:
        batch_op.create_index('ix_relatedpartyref_holder', ['holder', 'holder_id'], unique=False)

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_limit_value', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('credit_limit_unit', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))

    with op.batch_alter_table('billingaccount', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_limit_value', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('credit_limit_unit', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))

    _move_out_of_extra()


# What a TMF related party, contact medium and medium characteristic keep in columns, by name.
_REF = {'id': 'ref_id', 'role': 'role', '@referredType': 'referred_type', 'name': 'name', 'href': 'href'}
_MEDIUM = {'mediumType': 'medium_type', 'preferred': 'preferred'}
_CHARACTERISTIC = {
    'contactType': 'contact_type', 'emailAddress': 'email_address', 'phoneNumber': 'phone_number',
    'faxNumber': 'fax_number', 'street1': 'street1', 'street2': 'street2', 'city': 'city',
    'stateOrProvince': 'state_or_province', 'postCode': 'post_code', 'country': 'country',
}


def _split(given: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    values = {names[k]: v for k, v in given.items() if k in names}
    values['extra'] = {k: v for k, v in given.items() if k not in names}
    return values


def _medium(given: dict[str, Any]) -> dict[str, Any]:
    # A validity period stays in `extra`, as given (nothing filters on it).
    values = _split({k: v for k, v in given.items() if k != 'characteristic'}, _MEDIUM)
    characteristic = given.get('characteristic')
    if isinstance(characteristic, dict):
        found = _split(characteristic, _CHARACTERISTIC)
        values['extra']['characteristic'] = found.pop('extra')
        values |= found
    return values


def _move_out_of_extra() -> None:
    """Rows written before this revision kept related parties, contact media and credit limits
    in `extra`: move them to their tables and columns."""
    bind = op.get_bind()
    owned = ('holder', 'holder_id', 'position')
    refs = sa.table(
        'relatedpartyref', *(sa.column(c) for c in _REF.values()),
        sa.column('extra', sa.JSON()), *(sa.column(c) for c in owned),
    )
    media = sa.table(
        'contactmedium', *(sa.column(c) for c in (*_MEDIUM.values(), *_CHARACTERISTIC.values())),
        sa.column('extra', sa.JSON()), *(sa.column(c) for c in owned),
    )
    for name, holder, with_media, with_credit in (
        ('person', 'person', True, False),
        ('organization', 'organization', True, False),
        ('account', 'account', False, True),
        ('billingaccount', 'billing_account', False, True),
    ):
        table = sa.table(
            name, sa.column('id'), sa.column('extra', sa.JSON()),
            sa.column('credit_limit_value'), sa.column('credit_limit_unit'),
        )
        for row_id, extra in bind.execute(sa.select(table.c.id, table.c.extra)).all():
            if not isinstance(extra, dict):
                continue
            kept = dict(extra)
            of = {'holder': holder, 'holder_id': row_id}
            related = kept.pop('relatedParty', None) or []
            given = [r for r in related if isinstance(r, dict) and r.get('id')]
            for position, ref in enumerate(given):
                bind.execute(sa.insert(refs).values(**_split(ref, _REF), **of, position=position))
            if with_media:
                reached = [m for m in kept.pop('contactMedium', None) or [] if isinstance(m, dict)]
                for position, medium in enumerate(reached):
                    bind.execute(sa.insert(media).values(**_medium(medium), **of, position=position))
            changes: dict[str, Any] = {}
            limit = kept.get('creditLimit') if with_credit else None
            if isinstance(limit, dict):
                del kept['creditLimit']
                changes = {'credit_limit_value': limit.get('value'), 'credit_limit_unit': limit.get('unit')}
            if kept != extra:
                bind.execute(sa.update(table).where(table.c.id == row_id).values(extra=kept, **changes))


def downgrade() -> None:
    with op.batch_alter_table('billingaccount', schema=None) as batch_op:
        batch_op.drop_column('credit_limit_unit')
        batch_op.drop_column('credit_limit_value')

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('credit_limit_unit')
        batch_op.drop_column('credit_limit_value')

    with op.batch_alter_table('relatedpartyref', schema=None) as batch_op:
        batch_op.drop_index('ix_relatedpartyref_holder')

    op.drop_table('relatedpartyref')
    with op.batch_alter_table('contactmedium', schema=None) as batch_op:
        batch_op.drop_index('ix_contactmedium_holder')

    op.drop_table('contactmedium')
