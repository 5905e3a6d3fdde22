"""One step changes credentials' status, for every use case that does: officers' revoke, suspend
and reinstate (:mod:`.credential_status`), the lifecycle's supersede, replace and cancel
(:mod:`.lifecycle`), and the sweep's suspensions (:mod:`.sweep`).

In the caller's transaction it sets each credential's status, reason and time, bumps the
revision of every status list touched (once per list, however many credentials), writes ONE
audit entry for the change, and for each credential calls ``govcred_credential_status_changed``
and emits its notification (``govcred_notify``), which is where plugins add their outbox rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from govcred.core import models

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.services.collaborators import Collaborators


def apply_status_change(
    uow,
    deps: Collaborators,
    changes: Sequence[tuple[models.Credential, models.Application]],
    new_status: str,
    *,
    reason: str,
    now: dt.datetime,
    actor: str,
    role: str,
    action: str,
    details: dict[str, Any],
    object_type: str = "credential",
    object_id: str | None = None,
) -> None:
    """Move every credential of ``changes`` (each with its application) to ``new_status``.

    ``action`` and ``details`` are the audit entry's; its object is the one credential changed
    unless ``object_type``/``object_id`` name a batch.
    """
    if new_status not in models.STATUS_LIST_VALUE:
        raise ValueError(f"unknown credential status {new_status!r}")
    old_statuses = [credential.status for credential, _application in changes]
    for credential, _application in changes:
        credential.status = new_status
        credential.status_reason = reason
        credential.status_changed_at = now
    uow.status_lists.bump_revision({credential.status_list_id for credential, _application in changes}, now)
    uow.audit.append(
        actor=actor,
        role=role,
        action=action,
        object_type=object_type,
        object_id=object_id or changes[0][0].id,
        details=details,
    )
    for (credential, application), old_status in zip(changes, old_statuses):
        deps.pm.hook.govcred_credential_status_changed(
            credential=credential,
            application=application,
            subject=deps.credential_types.subject_of(application),
            old_status=old_status,
            new_status=new_status,
            reason=reason,
            outbox=uow.outbox,
        )
        deps.notifier.status_changed(uow.outbox, credential, application, old_status, new_status, reason)
