"""import ownership, reopened cases, relatives' contact window, PIN lock sources

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.models.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_baseline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('updated_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'record_id', name='uq_import_baseline')
    )
    with op.batch_alter_table('safeguarding_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reopened_at', bot.models.types.UTCDateTime(timezone=True),
                                      nullable=True))
    # Existing relatives keep the window they had (10:00 to 19:00).
    with op.batch_alter_table('representative', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_window_start', sa.Time(), nullable=False,
                                      server_default='10:00:00'))
        batch_op.add_column(sa.Column('contact_window_end', sa.Time(), nullable=False,
                                      server_default='19:00:00'))
    with op.batch_alter_table('pin_guard', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sources', sa.JSON(), nullable=False,
                                      server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('pin_guard', schema=None) as batch_op:
        batch_op.drop_column('sources')
    with op.batch_alter_table('representative', schema=None) as batch_op:
        batch_op.drop_column('contact_window_end')
        batch_op.drop_column('contact_window_start')
    with op.batch_alter_table('safeguarding_case', schema=None) as batch_op:
        batch_op.drop_column('reopened_at')
    op.drop_table('import_baseline')
