"""Service ratings (好差评) and the indexes the bureau's reports count by.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_applications_submitted_at", "applications", ["submitted_at"]),
    ("ix_applications_decided_at", "applications", ["decided_at"]),
    ("ix_decisions_decided_at", "decisions", ["decided_at"]),
    ("ix_audit_log_action_at", "audit_log", ["action", "at"]),
    ("ix_outbox_created_at", "outbox", ["created_at"]),
)


def upgrade() -> None:
    op.create_table(
        "service_ratings",
        sa.Column("application_id", sa.String(36), sa.ForeignKey("applications.id"), primary_key=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment_enc", sa.LargeBinary()),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_service_ratings_score"),
    )
    op.create_index("ix_service_ratings_created_at", "service_ratings", ["created_at"])
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_service_ratings_created_at", table_name="service_ratings")
    op.drop_table("service_ratings")
