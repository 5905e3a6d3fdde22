"""Residents' real-name identities, sign-ins through an identity provider, and the identity
each application rests on.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Issue 11: an application's name and ID number come from the signed-in person's verified
identity. ``resident_identities`` keeps that identity (encrypted, with blind indexes),
``identity_logins`` the state of a sign-in between the redirect and the callback, and
``applications.identity`` which identity source (oidc, sms, window) an application rests on.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resident_identities",
        sa.Column("resident_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("subject_index", sa.String(length=64), nullable=False),
        sa.Column("name_enc", sa.LargeBinary(), nullable=False),
        sa.Column("id_number_enc", sa.LargeBinary(), nullable=False),
        sa.Column("id_index", sa.String(length=64), nullable=False),
        sa.Column("assurance", sa.String(length=32), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_resident_identities_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_resident_identities")),
        sa.UniqueConstraint("subject_index", name=op.f("uq_resident_identities_subject_index")),
    )
    op.create_index(op.f("ix_resident_identities_id_index"), "resident_identities", ["id_index"], unique=False)
    op.create_table(
        "identity_logins",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("secrets_enc", sa.LargeBinary(), nullable=False),
        sa.Column("next_url", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_identity_logins")),
    )
    op.create_index(op.f("ix_identity_logins_expires_at"), "identity_logins", ["expires_at"], unique=False)
    # a plain ADD COLUMN on both backends (no table rebuild: applications is referenced)
    op.add_column("applications", sa.Column("identity", sa.JSON(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop a table that
    # attachments, decisions and credentials reference
    op.execute("ALTER TABLE applications DROP COLUMN identity")
    op.drop_index(op.f("ix_identity_logins_expires_at"), table_name="identity_logins")
    op.drop_table("identity_logins")
    op.drop_index(op.f("ix_resident_identities_id_index"), table_name="resident_identities")
    op.drop_table("resident_identities")
