"""Batched approval for bulk work: the launch-day conversion of existing Zhejiang permits
(现有证件互认) and 签注 re-issues.

A reviewer confirms once (a current TOTP code, consumed like a sign-in's) and approves every
rule-clean application of a filtered queue (state accepted; channel; due today / overdue).
Each application still gets its own decision, credential, audit entries and outbox rows,
exactly as :func:`core.services.decisions.decide` writes them; only the transaction is shared,
``chunk`` applications at a time, so that one commit (one fsync on SQLite) serves many
issuances. Every rule runs again for each application; one with a blocking finding, entered by
the same officer (four eyes) or changed meanwhile is left in the queue and reported, never
approved.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm.exc import StaleDataError

from govcred.core import models
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.accounts.totp import check_code
from govcred.core.exceptions import AuthenticationRequired, Conflict, ErrorList
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.decisions import DECIDING_ROLES, record_decision
from govcred.core.services.eligibility import evaluate_many
from govcred.core.services.intake import commit_application_change
from govcred.core.services.issuance import permit_prefix
from govcred.core.services.review_queue import MAX_PAGE, due_window, review_queue

MAX_BATCH = 100_000
DEFAULT_CHUNK = 200


@dataclass
class BatchReport:
    approved: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    transactions: int = 0

    def as_dict(self) -> dict:
        return {
            "approved": len(self.approved),
            "skipped": self.skipped,
            "transactions": self.transactions,
            "credentials": self.approved,
        }


def confirm_with_totp(deps: Collaborators, principal: Principal, code: str) -> None:
    """The one confirmed action of a batch: the reviewer's current TOTP code, consumed (a code
    cannot confirm two batches), audited."""
    now = deps.clock.now()
    with deps.uow() as uow:
        officer = uow.officers.get(principal.id)
        if officer is None:
            raise AuthenticationRequired("请先登录")
        check_code(uow, officer, code, now, deps.cipher)
        uow.audit.append(
            actor=principal.audit_actor,
            role=principal.role,
            action="decision.batch_confirmed",
            object_type="officer",
            object_id=principal.id,
            details={},
        )
        uow.commit()


def approve_batch(
    deps: Collaborators,
    principal: Principal,
    *,
    totp_code: str,
    channel: str | None = None,
    due: str | None = None,
    limit: int = 1000,
    chunk: int = DEFAULT_CHUNK,
) -> BatchReport:
    """Approve up to ``limit`` rule-clean accepted applications of the filtered queue."""
    require_role(principal, *DECIDING_ROLES)
    errors = ErrorList()
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_BATCH:
        errors.add("limit", "LIMIT_INVALID", f"limit 须为 1 至 {MAX_BATCH} 的整数")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or not 1 <= chunk <= MAX_PAGE:
        errors.add("chunk", "CHUNK_INVALID", f"chunk 须为 1 至 {MAX_PAGE} 的整数")
    errors.raise_if_any()
    review_queue(deps, principal, channel=channel, due=due, limit=1)  # the filters, checked before the code is spent
    confirm_with_totp(deps, principal, totp_code)
    key = deps.keys.active_key()  # decrypted once, outside the write transactions
    report = BatchReport()
    deadline_from, deadline_before = due_window(deps.clock.now(), due)
    after = None
    while len(report.approved) < limit:
        # the queue's own order and filters, keys only: the chunk loads its applications once
        with deps.uow(readonly=True) as uow:
            keys = uow.applications.queue_keys(
                (models.ACCEPTED,),
                channel=channel,
                deadline_from=deadline_from,
                deadline_before=deadline_before,
                after=after,
                limit=min(chunk, limit - len(report.approved)),
            )
        if not keys:
            break
        with collection_paused():
            _approve_chunk(deps, principal, [app_id for *_, app_id in keys], key, report)
        after = keys[-1]
    with deps.uow() as uow:
        uow.audit.append(
            actor=principal.audit_actor,
            role=principal.role,
            action="decision.batch_done",
            object_type="officer",
            object_id=principal.id,
            details={
                "approved": len(report.approved),
                "skipped": len(report.skipped),
                "channel": channel,
                "due": due,
            },
        )
        uow.commit()
    return report


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection during one chunk. A chunk makes tens of thousands of
    short-lived objects (ORM state, rows, payloads), and each full collection walks all of them
    again: measured at about a fifth of a batch's time. What a chunk leaves is collected when
    it ends (reference counting frees most of it at once anyway)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _approve_chunk(deps: Collaborators, principal: Principal, app_ids: list[str], key, report: BatchReport) -> None:
    """One transaction, set-based: the chunk's applications in one query (locked), the records
    and already-holds look-ups for all of them at once, every rule per application in memory,
    then each decision written exactly as :func:`record_decision` writes it, with the audit
    entries, outbox rows and decision bases held and inserted together at the end."""
    now = deps.clock.now()
    approved = []
    with deps.uow() as uow:
        apps = uow.applications.by_ids(app_ids, for_update=True)
        judging = []
        for app_id in app_ids:
            app = apps.get(app_id)
            if app is None or app.state != models.ACCEPTED:
                report.skipped.append({"application": app_id, "codes": ["INVALID_STATE"]})
            elif app.created_by is not None and app.created_by == principal.id:
                report.skipped.append({"application": app_id, "codes": ["FOUR_EYES"]})
            else:
                judging.append(app)
        judged = evaluate_many(deps, uow, judging, None)
        clean = []
        for app in judging:
            blocking = [f.code for f in judged[app.id][0] if f.blocking]
            if blocking:
                report.skipped.append({"application": app.id, "codes": blocking})
            else:
                clean.append(app)
        _reserve_numbers(deps, uow, clean, now)
        try:
            with uow.held_writes():
                for app in clean:
                    findings, context = judged[app.id]
                    decision = record_decision(deps, uow, app, findings, context, True, principal, [], key, now)
                    approved.append((app, decision))
        except StaleDataError:  # the held UPDATE's version check, as decide() answers it
            raise Conflict("该申请已被其他工作人员修改，请刷新后重试", code="APPLICATION_CHANGED") from None
        commit_application_change(uow)
    report.transactions += 1
    for app, decision in approved:
        report.approved.append(
            {"application": app.id, "credential": decision.credential_id, "permit_no": app.permit_no}
        )


def _reserve_numbers(deps: Collaborators, uow, apps: list, now) -> None:
    """Every status index and permit number the chunk will take, reserved before its loop (a
    few blocks at once, instead of a reservation in the middle of the issuances)."""
    prefixes = Counter(permit_prefix(deps.credential_types[app.schema].name, app.county, now) for app in apps)
    deps.allocator.reserve_ahead(uow, size=deps.settings.status_list_size, now=now, status=len(apps), permits=prefixes)
