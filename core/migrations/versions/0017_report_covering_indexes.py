"""Covering indexes for the bureau's reports: a report reads the join columns of a year's
applications and decisions from the indexes alone, never the wide rows (the encrypted
documents, the findings).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_applications_report", "applications", ["id", "channel", "submitted_at", "deadline"]),
    ("ix_applications_submitted_channel", "applications", ["submitted_at", "channel"]),
    ("ix_applications_accepted_channel", "applications", ["accepted_at", "channel"]),
    ("ix_decisions_report", "decisions", ["decided_at", "application_id", "approved", "reviewer_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
