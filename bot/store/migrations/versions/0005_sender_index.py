"""an index on the sender of inbound mail: the rate limit counts a sender's mail on every mail

Revision ID: 0005_sender_index
Revises: 0004_office_review
Create Date: 2026-12-03 18:00:00
"""
from alembic import op

revision = '0005_sender_index'
down_revision = '0004_office_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_mail_sender_received', ['sender', 'received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_mail_sender_received')
