"""staff accounts, sessions and case views

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.models.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('worker_id', sa.Integer(), nullable=True),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('totp_secret', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('totp_last_step', sa.Integer(), nullable=True),
    sa.Column('failed_signins', sa.Integer(), nullable=False),
    sa.Column('locked_until', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_account_email'), ['email'], unique=True)

    op.create_table('case_view',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['staff_account.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['safeguarding_case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_view_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_view_case_id'), ['case_id'], unique=False)

    op.create_table('staff_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['staff_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_session_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_session_token_hash'), ['token_hash'], unique=True)

    with op.batch_alter_table('staff_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_at', bot.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=''))  # rows before it: nobody



def downgrade() -> None:
    with op.batch_alter_table('staff_action', schema=None) as batch_op:
        batch_op.drop_column('acknowledged_by')
        batch_op.drop_column('acknowledged_at')

    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_session_token_hash'))
        batch_op.drop_index(batch_op.f('ix_staff_session_account_id'))

    op.drop_table('staff_session')
    with op.batch_alter_table('case_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_view_case_id'))
        batch_op.drop_index(batch_op.f('ix_case_view_account_id'))

    op.drop_table('case_view')
    with op.batch_alter_table('staff_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_account_email'))

    op.drop_table('staff_account')
