"""PostgreSQL keeps an outgoing mail's bytes uncompressed

An outbox row carries its whole mail, mostly base64, which PostgreSQL's TOAST compression tries
and hardly shrinks (4.2 MB against 4.3 MB for a 500-mail backlog's answers) at ~0.1 ms of the
server's CPU a mail: stored out of line as they are. SQLite has no such setting.

Revision ID: 0006_outbox_raw_uncompressed
Revises: 0005_sender_index
Create Date: 2026-12-07 23:45:00
"""
from alembic import op

revision = '0006_outbox_raw_uncompressed'
down_revision = '0005_sender_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE outbox ALTER COLUMN raw SET STORAGE EXTERNAL')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE outbox ALTER COLUMN raw SET STORAGE EXTENDED')
