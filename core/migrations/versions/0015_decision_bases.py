"""What each decision was judged on (rule set, digests, encrypted records snapshot), for replay.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_bases",
        sa.Column("decision_id", sa.String(36), sa.ForeignKey("decisions.id"), primary_key=True),
        sa.Column("ruleset", sa.String(1000), nullable=False),
        sa.Column("input_digest", sa.String(71), nullable=False),
        sa.Column("records_digest", sa.String(71), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("already_holds", sa.Boolean(), nullable=False),
        sa.Column("records_enc", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("decision_bases")
