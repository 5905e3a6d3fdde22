"""Tables and their mapping onto the domain objects of ``core.models`` (SQLAlchemy 2,
imperative mapping: the domain stays plain Python).

Times are stored as aware UTC (``TZDateTime`` normalises what SQLite hands back). Rows of
``credentials`` and ``audit_log`` are never deleted: a status-list index stays taken
forever and the audit chain stays whole.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import registry

from govcred.core import models

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
mapper_registry = registry(metadata=metadata)


class TZDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is not dt.UTC:  # the clock's own times are UTC already: nothing to convert
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a TZDateTime column")
            value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


ID = sa.String(36)

residents = sa.Table(
    "residents",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("phone_index", sa.String(64), nullable=False, unique=True),
    sa.Column("phone_enc", sa.LargeBinary, nullable=False),
    sa.Column("created_at", TZDateTime, nullable=False),
)

officers = sa.Table(
    "officers",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("totp_secret_enc", sa.LargeBinary),
    sa.Column("totp_last_step", sa.BigInteger, nullable=False, default=0),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", TZDateTime, nullable=False),
    # an administrator let this clerk sign in without TOTP (audited; migration 0005)
    sa.Column("totp_exempt", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    # made by `govcred init` or `govcred demo`: production mode refuses to start while one is active
    sa.Column("demo", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.CheckConstraint("role IN ('clerk', 'reviewer', 'admin')", name="role"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    # exactly one of officer_id / resident_id: officers sign in with a password, residents
    # with an SMS code (migration 0002)
    sa.Column("officer_id", ID, sa.ForeignKey("officers.id"), nullable=True, index=True),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("expires_at", TZDateTime, nullable=False),
    sa.Column("revoked_at", TZDateTime),
    sa.Column("resident_id", ID, sa.ForeignKey("residents.id"), nullable=True, index=True),
    # idle timeout, and when the officer last gave every sign-in factor (migration 0005)
    sa.Column("last_used_at", TZDateTime),
    sa.Column("factor_at", TZDateTime),
)

#: Fixed-window counters shared by every process (the rate limits of govcred.core.ratelimit).
rate_limit_counters = sa.Table(
    "rate_limit_counters",
    metadata,
    sa.Column("key", sa.String(160), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expires_at", TZDateTime, nullable=False, index=True),
)

#: A resident's real-name identity as the provider last verified it (one row per resident
#: account signed in through a provider). The account's ``residents.phone_index`` holds the
#: keyed index of the provider's subject instead of a phone's: the column is the account's
#: look-up key, and loosening it would rebuild the table on SQLite, which the foreign keys
#: of a populated database forbid.
resident_identities = sa.Table(
    "resident_identities",
    metadata,
    sa.Column("resident_id", ID, sa.ForeignKey("residents.id"), primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("subject_index", sa.String(64), nullable=False, unique=True),
    sa.Column("name_enc", sa.LargeBinary, nullable=False),
    sa.Column("id_number_enc", sa.LargeBinary, nullable=False),
    sa.Column("id_index", sa.String(64), nullable=False, index=True),
    sa.Column("assurance", sa.String(32), nullable=False),
    sa.Column("verified_at", TZDateTime, nullable=False),
)

#: One sign-in through an identity provider, between the redirect and the callback: bound to
#: the browser by a cookie (only its SHA-256 is kept), used at most once.
identity_logins = sa.Table(
    "identity_logins",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("state_hash", sa.String(64), nullable=False),
    sa.Column("secrets_enc", sa.LargeBinary, nullable=False),
    sa.Column("next_url", sa.String(512), nullable=False),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("expires_at", TZDateTime, nullable=False, index=True),
    sa.Column("used_at", TZDateTime),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # officer | resident
    sa.Column("subject_id", ID, nullable=False, index=True),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("last_seen_at", TZDateTime, nullable=False),
    sa.Column("expires_at", TZDateTime, nullable=False),
    sa.Column("revoked_at", TZDateTime),
    sa.Column("data", sa.JSON, nullable=False, default=dict),
)

login_codes = sa.Table(
    "login_codes",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("phone_index", sa.String(64), nullable=False, index=True),
    sa.Column("code_hash", sa.String(128), nullable=False),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("expires_at", TZDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("used_at", TZDateTime),
)

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("schema", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, default="first_issue"),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("state", sa.String(12), nullable=False, index=True),
    sa.Column("document_enc", sa.LargeBinary, nullable=False),
    sa.Column("subject_index", sa.String(64), nullable=False, index=True),
    sa.Column("subject_name_masked", sa.String(64), nullable=False),
    sa.Column("subject_id_masked", sa.String(32), nullable=False),
    sa.Column("county", sa.String(12), nullable=False),
    sa.Column("owner_id", ID, sa.ForeignKey("residents.id"), index=True),
    sa.Column("created_by", ID, sa.ForeignKey("officers.id")),
    sa.Column("permit_no", sa.String(64), index=True),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("submitted_at", TZDateTime),
    sa.Column("accepted_at", TZDateTime),
    sa.Column("deadline", TZDateTime, index=True),
    sa.Column("deadline_provisional", sa.Boolean, nullable=False, default=False),
    sa.Column("decided_at", TZDateTime),
    sa.Column("version", sa.Integer, nullable=False),
    #: which identity the application rests on: ``{"source": "oidc" | "sms_code" | "window",
    #: "acting_as": "applicant" | "agent", "assurance": ...}`` -- no personal data (the
    #: verified name and ID number are the document's own, checked equal at submission)
    sa.Column("identity", sa.JSON),
    #: the 办件编号 (derived from the id, stored to be searched: core/reference.py)
    sa.Column("reference", sa.String(14), index=True),
    #: blind index of the applicant's phone (officer search); NULL until filled after 0019
    sa.Column("phone_index", sa.String(64), index=True),
    sa.CheckConstraint(
        "state IN ('draft', 'submitted', 'accepted', 'approved', 'rejected', 'withdrawn', 'returned')", name="state"
    ),
    sa.CheckConstraint("channel IN ('online', 'window')", name="channel"),
)
#: the review queue's keyset order within a state (core/services/review_queue.py)
sa.Index(
    "ix_applications_queue", applications.c.state, applications.c.deadline, applications.c.created_at, applications.c.id
)

attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("application_id", ID, sa.ForeignKey("applications.id"), index=True),
    sa.Column("owner_id", ID, sa.ForeignKey("residents.id"), index=True),
    sa.Column("uploaded_by", ID, sa.ForeignKey("officers.id")),
    sa.Column("content_type", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("original_name", sa.String(255), nullable=False),
    sa.Column("storage_name", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", TZDateTime, nullable=False),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("application_id", ID, sa.ForeignKey("applications.id"), nullable=False, unique=True),
    sa.Column("approved", sa.Boolean, nullable=False),
    sa.Column("findings", sa.JSON, nullable=False),
    sa.Column("officer_reasons", sa.JSON, nullable=False),
    sa.Column("reviewer_id", ID, sa.ForeignKey("officers.id")),
    sa.Column("decided_at", TZDateTime, nullable=False),
    sa.Column("credential_id", ID),
)

#: What a decision was judged on, so that it can be replayed: the rule set's identity
#: (core/ruleset.py), digests of the document and of the records snapshot, and the snapshot
#: itself (``records_enc``: it holds the person's registrations and permits, so it is encrypted
#: like the document, with the decision id as associated data), with the day and the
#: already-holds flag the rules were given.
decision_bases = sa.Table(
    "decision_bases",
    metadata,
    sa.Column("decision_id", ID, sa.ForeignKey("decisions.id"), primary_key=True),
    sa.Column("ruleset", sa.String(1000), nullable=False),
    sa.Column("input_digest", sa.String(71), nullable=False),
    sa.Column("records_digest", sa.String(71), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("already_holds", sa.Boolean, nullable=False),
    sa.Column("records_enc", sa.LargeBinary, nullable=False),
)

status_lists = sa.Table(
    "status_lists",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("bits", sa.Integer, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("updated_at", TZDateTime, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False, default=0),
    sa.Column("full", sa.Boolean, nullable=False, default=False),
    #: indices handed out so far (never decreases: indices are never reused)
    sa.Column("allocated", sa.Integer, nullable=False, default=0, server_default="0"),
)

credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("permit_no", sa.String(64), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("application_id", ID, sa.ForeignKey("applications.id"), nullable=False, index=True),
    sa.Column("credential_type", sa.String(64), nullable=False),
    sa.Column("subject_index", sa.String(64), nullable=False, index=True),
    sa.Column("owner_id", ID, sa.ForeignKey("residents.id"), index=True),
    sa.Column("issued_at", TZDateTime, nullable=False),
    sa.Column("not_before", TZDateTime, nullable=False),
    sa.Column("expires_at", TZDateTime, nullable=False, index=True),
    sa.Column("kid", sa.String(64), nullable=False, index=True),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("claims", sa.JSON, nullable=False),
    sa.Column("status_list_id", sa.String(16), sa.ForeignKey("status_lists.id"), nullable=False),
    sa.Column("status_idx", sa.Integer, nullable=False),
    sa.Column("status", sa.String(12), nullable=False, index=True),
    sa.Column("status_reason", sa.Text, nullable=False, default=""),
    sa.Column("status_changed_at", TZDateTime),
    sa.Column("residence_start", sa.Date),
    sa.UniqueConstraint("permit_no", "version"),
    # an index is taken forever: credentials are never deleted
    sa.UniqueConstraint("status_list_id", "status_idx"),
    sa.CheckConstraint(
        "status IN ('valid', 'suspended', 'revoked', 'replaced', 'cancelled', 'superseded')", name="status"
    ),
)

#: The lifecycle sweep's look-up: valid permits by the time their use lapses.
sa.Index("ix_credentials_status_expires_at", credentials.c.status, credentials.c.expires_at)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("alg", sa.String(16), nullable=False),
    sa.Column("public_jwk", sa.JSON, nullable=False),
    sa.Column("private_pem_enc", sa.LargeBinary, nullable=False),
    sa.Column("development", sa.Boolean, nullable=False),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("retired_at", TZDateTime),
    #: published in the JWKS until the last credential it signed has expired
    sa.Column("verify_until", TZDateTime),
    #: declared compromised: out of the JWKS's keys, listed under its revoked_keys
    sa.Column("revoked_at", TZDateTime),
    sa.Column("revocation_reason", sa.String(500)),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("aggregate_type", sa.String(32), nullable=False),
    sa.Column("aggregate_id", sa.String(64), nullable=False),
    sa.Column("aggregate_seq", sa.Integer, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("dedupe_key", sa.String(200), unique=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", TZDateTime, nullable=False),
    sa.Column("not_before_hour", sa.Integer),
    sa.Column("locked_by", sa.String(64)),
    sa.Column("lease_until", TZDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("result", sa.JSON),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("delivered_at", TZDateTime),
    sa.UniqueConstraint("aggregate_type", "aggregate_id", "channel", "aggregate_seq"),
    sa.Index("ix_outbox_due", "status", "next_attempt_at"),
    sa.CheckConstraint("status IN ('pending', 'inflight', 'delivered', 'dead')", name="status"),
)

#: Database-assigned ``seq`` (a sequence on PostgreSQL, AUTOINCREMENT on SQLite): appending
#: one entry is one INSERT and locks no shared row. The order of the Merkle tree is not
#: ``seq`` order but the order in which the checkpointer integrates entries (``audit_tree``),
#: because on PostgreSQL a transaction holding a smaller ``seq`` may commit later.
AUDIT_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", AUDIT_SEQ, primary_key=True, autoincrement=True),
    sa.Column("at", TZDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object_type", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("request_id", sa.String(64)),
    sqlite_autoincrement=True,
)

#: Entries committed but not yet in the tree (Trillian's "unsequenced" queue): each append
#: adds its own row, the checkpointer removes them as it integrates them.
audit_pending = sa.Table(
    "audit_pending",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
)

#: The Merkle tree's leaves in order: position ``idx`` (0-based) holds entry ``seq``, whose
#: RFC 9162 leaf hash the checkpointer computed from the entry's content, and ``mac``, an HMAC
#: of that leaf hash under a key derived from the master secret (never stored here): whoever
#: rewrites an entry and recomputes its leaf hash without that secret is caught at the entry.
audit_tree = sa.Table(
    "audit_tree",
    metadata,
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
    sa.Column("leaf_hash", sa.String(64), nullable=False),
    sa.Column("mac", sa.String(64), nullable=False),
)

#: This database's copy of the signed checkpoints it published (the originals are with the
#: witnesses, outside the database); ``frontier`` lets the next checkpoint extend the tree.
audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root_hash", sa.String(64), nullable=False),
    sa.Column("at", TZDateTime, nullable=False),
    sa.Column("frontier", sa.JSON, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
)

#: One row: the log's identity, the origin line of its checkpoints (and the name of its
#: witness file), made by the first checkpoint.
audit_origin = sa.Table(
    "audit_origin",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("log_id", sa.String(36), nullable=False),
    sa.Column("created_at", TZDateTime, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("principal", sa.String(64), primary_key=True),
    sa.Column("route", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),  # in_flight | done
    #: who holds an in-flight key (govcred.core.idempotency); NULL once done
    sa.Column("lease_token", sa.String(32)),
    sa.Column("status_code", sa.Integer),
    sa.Column("response", sa.JSON),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("expires_at", TZDateTime, nullable=False),
)

#: Which reminders (短信定制化服务) the holder of a permit wants; no row = the defaults.
permit_reminders = sa.Table(
    "permit_reminders",
    metadata,
    sa.Column("permit_no", sa.String(64), primary_key=True),
    sa.Column("reminders", sa.JSON, nullable=False),
    sa.Column("updated_at", TZDateTime, nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False),
)

#: One row per lifecycle sweep that changed something, updated in the same transaction as
#: each batch it commits: how far it got and what it did.
lifecycle_sweeps = sa.Table(
    "lifecycle_sweeps",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("as_of", TZDateTime, nullable=False),
    sa.Column("started_at", TZDateTime, nullable=False),
    sa.Column("updated_at", TZDateTime, nullable=False),
    sa.Column("finished_at", TZDateTime),
    sa.Column("phase", sa.String(16), nullable=False),
    sa.Column("batches", sa.Integer, nullable=False, default=0),
    sa.Column("suspended", sa.Integer, nullable=False, default=0),
    sa.Column("reminders", sa.Integer, nullable=False, default=0),
    sa.Column("last_credential_id", ID),
)

#: Blocks of numbers a process has reserved (core/allocation.py): status-list indices
#: (space ``status:<list id>``) and permit numbers (``permit:<prefix>``).
reserved_blocks = sa.Table(
    "reserved_blocks",
    metadata,
    sa.Column("space", sa.String(64), primary_key=True),
    sa.Column("block", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("reserved_at", TZDateTime, nullable=False),
)

#: One row per job that runs once across processes (core/jobs.py): when it last started and
#: finished, who ran it, and how many times it ran. Its schedule is read from here, so a
#: job runs once per interval however many server processes there are.
job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("started_at", TZDateTime, nullable=False),
    sa.Column("finished_at", TZDateTime),
    sa.Column("runs", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.String(1000)),
)

#: A resident's application form in progress, kept on the server so that an expired page
#: session loses nothing: the fields as typed (``values_enc``, encrypted like documents,
#: with the row id as associated data) and the step the resident was at.
form_drafts = sa.Table(
    "form_drafts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("owner_id", ID, sa.ForeignKey("residents.id"), nullable=False),
    sa.Column("schema", sa.String(64), nullable=False),
    sa.Column("step", sa.String(16), nullable=False),
    sa.Column("values_enc", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", TZDateTime, nullable=False),
    sa.UniqueConstraint("owner_id", "schema"),
)

#: 好差评: one rating of the service per decided application, by its applicant. The comment
#: is free text a resident typed (it may name people), so it is kept encrypted.
service_ratings = sa.Table(
    "service_ratings",
    metadata,
    sa.Column("application_id", ID, sa.ForeignKey("applications.id"), primary_key=True),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("comment_enc", sa.LargeBinary),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("created_at", TZDateTime, nullable=False, index=True),
    sa.CheckConstraint("score BETWEEN 1 AND 5", name="score"),
)

# What the bureau's reports count by period (core/repository/reports.py): each query of a
# report is a range scan of one of these, so a year of a county stays well under a second.
sa.Index("ix_applications_submitted_at", applications.c.submitted_at)
sa.Index("ix_applications_decided_at", applications.c.decided_at)
sa.Index("ix_decisions_decided_at", decisions.c.decided_at)
sa.Index("ix_audit_log_action_at", audit_log.c.action, audit_log.c.at)
sa.Index("ix_outbox_created_at", outbox.c.created_at)
# covering: the report's joins read these columns from the index, not the wide rows (0017)
sa.Index(
    "ix_applications_report",
    applications.c.id,
    applications.c.channel,
    applications.c.submitted_at,
    applications.c.deadline,
)
sa.Index("ix_applications_submitted_channel", applications.c.submitted_at, applications.c.channel)
sa.Index("ix_applications_accepted_channel", applications.c.accepted_at, applications.c.channel)
sa.Index(
    "ix_decisions_report",
    decisions.c.decided_at,
    decisions.c.application_id,
    decisions.c.approved,
    decisions.c.reviewer_id,
)

#: Where an officer is told what is due (the morning alert, escalations): the mobile number,
#: encrypted like every other phone, with the officer's id as associated data.
officer_contacts = sa.Table(
    "officer_contacts",
    metadata,
    sa.Column("officer_id", ID, sa.ForeignKey("officers.id"), primary_key=True),
    sa.Column("phone_enc", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", TZDateTime, nullable=False),
)

#: Each 补正 round of an application: every item the reviewer listed at once (rule findings
#: by code and free text) and when the applicant or a clerk brought the materials.
application_returns = sa.Table(
    "application_returns",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("application_id", ID, sa.ForeignKey("applications.id"), nullable=False, index=True),
    sa.Column("items", sa.JSON, nullable=False),
    sa.Column("returned_by", ID, sa.ForeignKey("officers.id"), nullable=False),
    sa.Column("returned_at", TZDateTime, nullable=False),
    sa.Column("resubmitted_at", TZDateTime),
    sa.Column("resubmitted_by", sa.String(64)),
)

_mapped = False


def start_mappers() -> None:
    """Map the domain classes onto their tables (idempotent)."""
    global _mapped
    if _mapped:
        return
    mapper_registry.map_imperatively(models.Resident, residents)
    mapper_registry.map_imperatively(models.Officer, officers)
    mapper_registry.map_imperatively(
        models.Application,
        applications,
        version_id_col=applications.c.version,
    )
    sa.event.listen(models.Application, "load", _decrypt_document)
    sa.event.listen(models.Application, "refresh", _decrypt_document)
    sa.event.listen(models.Application, "before_insert", _encrypt_document)
    mapper_registry.map_imperatively(models.Decision, decisions)
    mapper_registry.map_imperatively(models.Credential, credentials)
    _mapped = True


# The application document holds ID numbers and addresses: it is stored AES-GCM encrypted
# with the row id as associated data, so a ciphertext cannot be moved to another row. The
# cipher travels on the session (``session.info["cipher"]``), put there by the unit of work.
#
# Why the cipher is not handed over explicitly (it was considered, issue 10): the document is
# decrypted by the mapper's ``load`` and ``refresh`` events, and SQLAlchemy gives those
# listeners the instance and the query context only -- the session is the one thing they can
# reach. Decrypting in the repository instead would cover only the repository's own queries,
# not an Application loaded by any other query, and not a refresh:
# after a rollback or a stale version the reloaded row would keep the edited, uncommitted
# document in memory. The events make every loaded Application consistent with its row; the
# unit of work is the one place that sets the cipher, and the outbox and the repositories
# receive it explicitly.


def _cipher_of(target):
    from sqlalchemy.orm import object_session

    session = object_session(target)
    cipher = session.info.get("cipher") if session is not None else None
    if cipher is None:
        raise RuntimeError("no field cipher on this session")
    return cipher


def _document_aad(app_id: str) -> bytes:
    return f"applications|document|{app_id}".encode()


def encrypt_document(cipher, app) -> None:
    """(Re-)encrypt ``app.document`` into ``app.document_enc``."""
    import json

    app.document_enc = cipher.encrypt(
        json.dumps(app.document, ensure_ascii=False, separators=(",", ":")).encode(), _document_aad(app.id)
    )


def _encrypt_document(_mapper, _conn, target) -> None:
    encrypt_document(_cipher_of(target), target)


def _decrypt_document(target, context, *_args) -> None:
    import json

    cipher = context.session.info.get("cipher")
    if cipher is None:
        raise RuntimeError("no field cipher on this session")
    target.document = json.loads(cipher.decrypt(target.document_enc, _document_aad(target.id)))
