"""mailbox_status: when each mailbox was last read (for `status`)

Revision ID: 0003_mailbox_status
Revises: 0002
Create Date: 2026-12-03 10:20:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_mailbox_status"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailbox_status",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("last_fetch_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("mailbox_status")
