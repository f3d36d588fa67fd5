"""retention: Twilio's recording deleted, and the ages retention deletes by

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import bot.models.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
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
