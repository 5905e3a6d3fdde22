"""sms_gateway: development message log and per-number send ledger

Revision ID: sms_0001
Revises: 0001

A branch that starts *from* core's base (``down_revision``) rather than ``depends_on`` it:
with ``depends_on`` Alembic records only ``sms_0001`` in ``alembic_version`` while ``0001`` is
still a script head, and the "every head applied" check could never agree.
Create Date: 2026-11-30 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "sms_0001"
down_revision = "0001"
branch_labels = ("sms_gateway",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("template", sa.String(length=32), nullable=False),
        sa.Column("phone_masked", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sms_messages"),
    )
    op.create_index("ix_sms_messages_created_at", "sms_messages", ["created_at"])
    op.create_table(
        "sms_sends",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("phone_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_sms_sends"),
    )
    op.create_index("ix_sms_sends_phone_key_kind_sent_at", "sms_sends", ["phone_key", "kind", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_sends_phone_key_kind_sent_at", table_name="sms_sends")
    op.drop_table("sms_sends")
    op.drop_index("ix_sms_messages_created_at", table_name="sms_messages")
    op.drop_table("sms_messages")
