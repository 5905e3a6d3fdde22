"""The one exception hierarchy of govcred.

Every error a user can act on carries a stable ``code``; web handlers turn these into
``application/problem+json`` responses and the CLI into a message and an exit status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class GovcredError(Exception):
    """Root of every error govcred raises on purpose."""

    code = "ERROR"
    http_status = 500

    def __init__(self, message: str = "", *, code: str | None = None, **details: Any):
        super().__init__(message or self.__class__.__doc__ or self.code)
        if code:
            self.code = code
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.details = details


class ConfigError(GovcredError):
    """The configuration is invalid or unsafe."""

    code = "CONFIG_INVALID"


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of an input document."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class ValidationError(GovcredError):
    """The input has errors; ``errors`` lists every one of them at once."""

    code = "VALIDATION_FAILED"
    http_status = 422

    def __init__(self, errors: list[FieldError], message: str = "输入有误，请逐项修改后重新提交"):
        super().__init__(message)
        self.errors = list(errors)


class MalformedInput(ValidationError):
    """A field is not even of the right kind (a list where text belongs, control characters
    in a path): the request is malformed, 400, with every such field named."""

    code = "BAD_REQUEST"
    http_status = 400

    def __init__(self, errors: list[FieldError], message: str = "请求格式错误"):
        super().__init__(errors, message)


class NotFound(GovcredError):
    """The object does not exist or is not visible to the caller."""

    code = "NOT_FOUND"
    http_status = 404


class Conflict(GovcredError):
    """The object was changed by someone else, or is in a state that forbids the action."""

    code = "CONFLICT"
    http_status = 409


class AuthenticationRequired(GovcredError):
    """The caller is not authenticated."""

    code = "AUTHENTICATION_REQUIRED"
    http_status = 401


class IdentityRefused(AuthenticationRequired):
    """An identity provider's answer was refused (state, code, ID token or assurance).

    ``code`` names the check that failed (``OIDC_STATE_MISMATCH``, ``ID_TOKEN_EXPIRED`` ...);
    the message says it in Chinese, for the page the resident lands on.
    """

    code = "IDENTITY_REFUSED"


class PermissionDenied(GovcredError):
    """The caller's role does not allow the action."""

    code = "PERMISSION_DENIED"
    http_status = 403


class RateLimited(GovcredError):
    """Too many requests."""

    code = "RATE_LIMITED"
    http_status = 429


class LeaseHeld(Conflict):
    """A job that runs once across processes is running in another process right now."""

    code = "JOB_RUNNING"


class ServiceUnavailable(GovcredError):
    """The database cannot be reached now; the request changed nothing and may be retried."""

    code = "SERVICE_UNAVAILABLE"
    http_status = 503


class StorageFull(GovcredError):
    """The disk is full; the request changed nothing."""

    code = "STORAGE_FULL"
    http_status = 507


class DataDirInUse(GovcredError):
    """Another server already serves this data directory."""

    code = "DATA_DIR_IN_USE"


class KeyStoreError(GovcredError):
    """A signing key is missing, locked or unusable."""

    code = "KEY_ERROR"


# -- verification ---------------------------------------------------------------------

#: Reason codes a verifier may answer with (shared/DESIGN.md, "Verifier answers").
VERIFY_REASONS = (
    "SIGNATURE_INVALID",
    "MALFORMED",
    "UNKNOWN_ISSUER",
    "UNKNOWN_KID",
    "WRONG_TYPE",
    "EXPIRED",
    "NOT_YET_VALID",
    "REVOKED",
    "SUSPENDED",
    "STATUS_UNAVAILABLE",
    "BENEFIT_NOT_COVERED",
    "ISSUER_OUT_OF_SCOPE",
    "PRESENTATION_REPLAYED",
    #: signed with a key its issuer declared compromised (``govcred keys revoke --compromised``)
    "KEY_REVOKED",
)


class VerificationError(GovcredError):
    """A token or credential failed verification.

    ``reason`` is one of :data:`VERIFY_REASONS`; ``detail`` names the precise check
    (for logs and tests, e.g. ``FORBIDDEN_HEADER:jku``).
    """

    code = "VERIFICATION_FAILED"
    http_status = 400

    def __init__(self, reason: str, detail: str = ""):
        if reason not in VERIFY_REASONS:
            raise ValueError(f"unknown verification reason {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail or reason


# -- delivery -------------------------------------------------------------------------


class DeliveryError(GovcredError):
    """A message could not be delivered by its channel."""

    code = "DELIVERY_FAILED"


class RetryableDeliveryError(DeliveryError):
    """Delivery failed for a reason that may go away (5xx, timeout, refused connection)."""

    code = "DELIVERY_RETRYABLE"

    def __init__(self, message: str = "", *, retry_after: float | None = None, **details: Any):
        super().__init__(message, **details)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Delivery failed for a reason that a retry will not fix (4xx, invalid message)."""

    code = "DELIVERY_PERMANENT"


class CheckpointError(GovcredError):
    """An audit checkpoint that cannot be read, or whose signature does not verify."""

    code = "AUDIT_CHECKPOINT_INVALID"


class WitnessError(GovcredError):
    """An audit witness that could not store or answer."""

    code = "AUDIT_WITNESS_UNAVAILABLE"


class BackupError(GovcredError):
    """A backup or a restore that cannot proceed (the target is not empty, the source is not a backup)."""

    code = "BACKUP_FAILED"


@dataclass
class ErrorList:
    """Collects :class:`FieldError` values so validators can report every problem at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, code: str, message: str) -> None:
        self.errors.append(FieldError(field_name, code, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)
