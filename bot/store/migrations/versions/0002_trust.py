"""trust: held actions, the admin's digest of refused mail, case flags

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 12:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('held_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('case_number', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('inbound_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['inbound_id'], ['inbound_mail.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('held_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_action_status'), ['status'], unique=False)
    op.create_table('trust_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('case_number', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('told', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('trust_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trust_event_told'), ['told'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        # the per-recipient cap counts a recipient's recent mail on every answer queued
        batch_op.create_index('ix_outbox_recipients_created', ['recipients', 'created_at'], unique=False)
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flags', sqlmodel.sql.sqltypes.AutoString(length=300),
                                      nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_recipients_created')
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_column('flags')
    op.drop_table('trust_event')
    op.drop_table('held_action')
