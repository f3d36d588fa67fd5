"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.models.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('channel', sa.Enum('sms', 'voice', name='ck_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('flow', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('turn', sa.Integer(), nullable=False),
    sa.Column('verified_until', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('conversation_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_state_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_state_key'), ['key'], unique=True)

    op.create_table('person',
    sa.Column('ais_contact_method', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('ais_information_format', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('ais_communication_support', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('ais_communication_professional', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('speech_rate', sa.Integer(), nullable=False),
    sa.Column('extra_time', sa.Boolean(), nullable=False),
    sa.Column('uses_relay', sa.Boolean(), nullable=False),
    sa.Column('contact_window_start', sa.Time(), nullable=False),
    sa.Column('contact_window_end', sa.Time(), nullable=False),
    sa.Column('discreet', sa.Boolean(), nullable=False),
    sa.Column('no_phone_calls', sa.Boolean(), nullable=False),
    sa.Column('contact_via_representative', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('first_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('last_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('pin_hash', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('contact_paused_until', sa.Date(), nullable=True),
    sa.Column('deceased', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_ref'), ['ref'], unique=True)

    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('duty_number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('out_of_hours_number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('office_days', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('office_opens', sa.Time(), nullable=False),
    sa.Column('office_closes', sa.Time(), nullable=False),
    sa.Column('manager_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('manager_contact', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_ref'), ['ref'], unique=True)

    op.create_table('person_phone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('line_type', sa.Enum('mobile', 'landline', 'other', name='ck_linetype', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('person_id', 'number', name='uq_person_phone')
    )
    with op.batch_alter_table('person_phone', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_phone_number'), ['number'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_phone_person_id'), ['person_id'], unique=False)

    op.create_table('representative',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('first_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('last_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('relationship', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('line_type', sa.Enum('mobile', 'landline', 'other', name='ck_linetype', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('pin_hash', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('consent_scopes', sa.JSON(), nullable=False),
    sa.Column('authority', sa.Enum('none', 'lpa_health_welfare', 'lpa_property_finance', 'deputy', 'advocate', name='ck_authority', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('consent_recorded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('consent_recorded_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('representative', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_representative_number'), ['number'], unique=False)
        batch_op.create_index(batch_op.f('ix_representative_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_representative_ref'), ['ref'], unique=True)

    op.create_table('worker',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('first_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('last_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('direct_number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('away_until', sa.Date(), nullable=True),
    sa.Column('cover_worker_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cover_worker_id'], ['worker.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_ref'), ['ref'], unique=True)
        batch_op.create_index(batch_op.f('ix_worker_team_id'), ['team_id'], unique=False)

    op.create_table('safeguarding_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Enum('concern', 'enquiry', 'plan', 'review', 'closed', name='ck_stage', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('latest_news', sa.Text(), nullable=False),
    sa.Column('news_updated_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_contact_by', sa.Date(), nullable=True),
    sa.Column('desired_outcome', sa.Text(), nullable=False),
    sa.Column('withhold_details', sa.Boolean(), nullable=False),
    sa.Column('check_in_every_days', sa.Integer(), nullable=False),
    sa.Column('opened_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closure_summary', sa.Text(), nullable=False),
    sa.Column('msp_asked', sa.Enum('Yes they were asked and outcomes were expressed', 'Yes they were asked but no outcomes were expressed', 'No', "Don't Know", 'Not Recorded', name='ck_mspasked', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('msp_achieved', sa.Enum('Fully Achieved', 'Partially Achieved', 'Not Achieved', name='ck_mspachieved', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('risk_result', sa.Enum('Risk remained', 'Risk reduced', 'Risk removed', name='ck_riskresult', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('safeguarding_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safeguarding_case_closed_at'), ['closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_safeguarding_case_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_safeguarding_case_ref'), ['ref'], unique=True)
        batch_op.create_index(batch_op.f('ix_safeguarding_case_worker_id'), ['worker_id'], unique=False)

    op.create_table('case_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['safeguarding_case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_update_case_id'), ['case_id'], unique=False)

    op.create_table('feedback_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('respondent_kind', sa.Enum('person', 'representative', name='ck_respondentkind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('respondent_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['safeguarding_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'question', 'respondent_kind', 'respondent_id', name='uq_feedback_answer')
    )
    with op.batch_alter_table('feedback_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_answer_case_id'), ['case_id'], unique=False)

    op.create_table('interaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('representative_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('sms', 'voice', name='ck_channel', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('direction', sa.Enum('inbound', 'outbound', 'internal', name='ck_direction', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('twilio_sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['safeguarding_case.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['representative_id'], ['representative.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('interaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_twilio_sid'), ['twilio_sid'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('channel', sa.Enum('sms', 'voice', name='ck_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('to_number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('from_number', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('flow', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('representative_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'delivered', 'answered', 'not_answered', 'failed', 'needs_check', 'cancelled', name='ck_outboxstatus', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('not_before', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('enqueued_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempt_count', sa.Integer(), nullable=False),
    sa.Column('call_outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['safeguarding_case.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['representative_id'], ['representative.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_key'), ['key'], unique=True)
        batch_op.create_index(batch_op.f('ix_outbox_message_not_before'), ['not_before'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_to_number'), ['to_number'], unique=False)

    op.create_table('staff_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('urgency', sa.Enum('normal', 'urgent', name='ck_actionurgency', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', name='ck_actionstatus', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('worker_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['safeguarding_case.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('staff_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_action_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_action_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_action_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_action_worker_id'), ['worker_id'], unique=False)

    op.create_table('disclosure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('recipient_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('sms', 'voice', name='ck_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['safeguarding_case.id'], ),
    sa.ForeignKeyConstraint(['interaction_id'], ['interaction.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('disclosure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disclosure_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disclosure_interaction_id'), ['interaction_id'], unique=False)

    op.create_table('send_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('twilio_sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('started_at', bot.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('requested_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', bot.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox_message.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('outbox_id', 'number', name='uq_send_attempt'),
    sa.UniqueConstraint('twilio_sid')
    )
    with op.batch_alter_table('send_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_send_attempt_outbox_id'), ['outbox_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('send_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_send_attempt_outbox_id'))

    op.drop_table('send_attempt')
    with op.batch_alter_table('disclosure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disclosure_interaction_id'))
        batch_op.drop_index(batch_op.f('ix_disclosure_case_id'))

    op.drop_table('disclosure')
    with op.batch_alter_table('staff_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_action_worker_id'))
        batch_op.drop_index(batch_op.f('ix_staff_action_status'))
        batch_op.drop_index(batch_op.f('ix_staff_action_kind'))
        batch_op.drop_index(batch_op.f('ix_staff_action_case_id'))

    op.drop_table('staff_action')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_to_number'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_not_before'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_key'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_case_id'))

    op.drop_table('outbox_message')
    with op.batch_alter_table('interaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_twilio_sid'))
        batch_op.drop_index(batch_op.f('ix_interaction_person_id'))
        batch_op.drop_index(batch_op.f('ix_interaction_kind'))
        batch_op.drop_index(batch_op.f('ix_interaction_case_id'))

    op.drop_table('interaction')
    with op.batch_alter_table('feedback_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_answer_case_id'))

    op.drop_table('feedback_answer')
    with op.batch_alter_table('case_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_update_case_id'))

    op.drop_table('case_update')
    with op.batch_alter_table('safeguarding_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safeguarding_case_worker_id'))
        batch_op.drop_index(batch_op.f('ix_safeguarding_case_ref'))
        batch_op.drop_index(batch_op.f('ix_safeguarding_case_person_id'))
        batch_op.drop_index(batch_op.f('ix_safeguarding_case_closed_at'))

    op.drop_table('safeguarding_case')
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_team_id'))
        batch_op.drop_index(batch_op.f('ix_worker_ref'))

    op.drop_table('worker')
    with op.batch_alter_table('representative', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_representative_ref'))
        batch_op.drop_index(batch_op.f('ix_representative_person_id'))
        batch_op.drop_index(batch_op.f('ix_representative_number'))

    op.drop_table('representative')
    with op.batch_alter_table('person_phone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_phone_person_id'))
        batch_op.drop_index(batch_op.f('ix_person_phone_number'))

    op.drop_table('person_phone')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_ref'))

    op.drop_table('team')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_ref'))

    op.drop_table('person')
    with op.batch_alter_table('conversation_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_state_key'))
        batch_op.drop_index(batch_op.f('ix_conversation_state_expires_at'))

    op.drop_table('conversation_state')
