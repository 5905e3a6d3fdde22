"""The plugin's own tables (Alembic branch ``sms_gateway``, revisions in ``migrations/``).

``sms_messages`` is the development backend's log: what would have been sent, the phone
masked. ``sms_sends`` is the per-number throttle's ledger for every backend: the phone
appears only as a keyed hash (core's blind index), never in clear. The provider's message
id (for reconciliation) is in the delivered outbox row's ``result``.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from govcred.core import MigrationSource, TZDateTime

BRANCH = "sms_gateway"
MIGRATIONS = Path(__file__).parent / "migrations"

metadata = sa.MetaData()

sms_messages = sa.Table(
    "sms_messages",
    metadata,
    #: the outbox message id: a redelivery finds its row and adds none
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("template", sa.String(32), nullable=False),
    sa.Column("phone_masked", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("segments", sa.Integer, nullable=False),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.PrimaryKeyConstraint("id", name="pk_sms_messages"),
    sa.Index("ix_sms_messages_created_at", "created_at"),
)

sms_sends = sa.Table(
    "sms_sends",
    metadata,
    sa.Column("message_id", sa.String(36), nullable=False),
    sa.Column("phone_key", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    #: when the slot was taken (just before the message went to the gateway)
    sa.Column("sent_at", TZDateTime, nullable=False),
    sa.PrimaryKeyConstraint("message_id", name="pk_sms_sends"),
    sa.Index("ix_sms_sends_phone_key_kind_sent_at", "phone_key", "kind", "sent_at"),
)


def migration_source() -> MigrationSource:
    return MigrationSource(label=BRANCH, directory=MIGRATIONS, metadata=metadata)
