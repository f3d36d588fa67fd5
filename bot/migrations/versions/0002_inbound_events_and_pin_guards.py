"""inbound events and PIN guards

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.models.types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('channel', sa.Enum('sms', 'voice', name='ck_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('received_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('inbound_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_event_key'), ['key'], unique=True)

    op.create_table('pin_guard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('first_failure_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_until', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pin_guard', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pin_guard_number'), ['number'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('pin_guard', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pin_guard_number'))

    op.drop_table('pin_guard')
    with op.batch_alter_table('inbound_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_event_key'))

    op.drop_table('inbound_event')
