"""retention and erasure: Twilio's recording deleted, the ages retention deletes by, and
the digests of records erased here (so an import does not bring them back)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.models.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erased_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('erased_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('erased_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erased_record_digest'), ['digest'], unique=True)
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.add_column(sa.Column('twilio_deleted_at',
                                      bot.models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('inbound_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_event_received_at'), ['received_at'],
                              unique=False)
    with op.batch_alter_table('conversation_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_state_updated_at'), ['updated_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conversation_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_state_updated_at'))
    with op.batch_alter_table('inbound_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_event_received_at'))
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.drop_column('twilio_deleted_at')
    with op.batch_alter_table('erased_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erased_record_digest'))
    op.drop_table('erased_record')
