"""Revoke / suspend / reinstate: allowed moves, reasons, one transaction with audit and outbox."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govcred.core import models
from govcred.core.accounts.officers import Principal
from govcred.core.exceptions import Conflict, PermissionDenied, ValidationError
from govcred.core.hookspecs import hookimpl
from govcred.core.orm import audit_log, outbox, status_lists
from govcred.core.services.credential_status import change_status
from govcred.testing import signed_in
from tests.core.credential_rows import make_credential

REVIEWER = Principal("officer", "reviewer-1", "reviewer", "审核员")
CLERK = Principal("officer", "clerk-1", "clerk", "窗口")


class StatusChanges:
    """A real plugin: queues one outbox row per change, as the SMS plugin would."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def govcred_credential_status_changed(self, credential, application, old_status, new_status, reason, outbox):
        self.calls.append((credential.id, application.id, old_status, new_status, reason))
        outbox.add(
            "test-channel",
            "credential.status_changed",
            {"credential_id": credential.id, "to": new_status},
            aggregate_type="credential",
            aggregate_id=credential.id,
        )


@pytest.fixture
def observed(settings, clock):
    from govcred.testing import make_runtime

    plugin = StatusChanges()
    rt = make_runtime(settings, clock, extra_plugins=[(plugin, "status-observer")])
    rt.keystore.ensure_key()
    yield rt, plugin
    rt.close()


def _revision(rt, list_id):
    with rt.uow(readonly=True) as uow:
        return uow.session.execute(sa.select(status_lists.c.revision).where(status_lists.c.id == list_id)).scalar()


def test_suspend_reinstate_revoke_with_audit_outbox_and_hook(observed):
    rt, plugin = observed
    cred = make_credential(rt)
    before = _revision(rt, cred.status_list_id)
    change_status(
        rt.collaborators, cred.id, "suspended", reason="居住地址变更，待核实", principal=signed_in(REVIEWER, rt.clock)
    )
    change_status(
        rt.collaborators, cred.id, "valid", reason="核实无误，恢复使用", principal=signed_in(REVIEWER, rt.clock)
    )
    changed = change_status(
        rt.collaborators, cred.id, "revoked", reason="以欺骗手段取得", principal=signed_in(REVIEWER, rt.clock)
    )
    assert changed.status == "revoked" and changed.status_reason == "以欺骗手段取得"
    assert _revision(rt, cred.status_list_id) == before + 3
    assert [c[2:4] for c in plugin.calls] == [("valid", "suspended"), ("suspended", "valid"), ("valid", "revoked")]
    assert all(c[1] == cred.application_id for c in plugin.calls)
    with rt.uow(readonly=True) as uow:
        actions = (
            uow.session.execute(
                sa.select(audit_log.c.action).where(audit_log.c.object_id == cred.id).order_by(audit_log.c.seq)
            )
            .scalars()
            .all()
        )
        rows = uow.session.execute(sa.select(outbox.c.payload).where(outbox.c.aggregate_id == cred.id)).scalars().all()
    assert actions == ["credential.suspended", "credential.reinstated", "credential.revoked"]
    assert [r["to"] for r in rows] == ["suspended", "valid", "revoked"]


@pytest.mark.parametrize(
    "start, target",
    [
        ("revoked", "valid"),
        ("revoked", "suspended"),
        ("valid", "valid"),
        ("revoked", "revoked"),
        ("suspended", "suspended"),
    ],
)
def test_forbidden_moves_change_nothing(sqlite_runtime, start, target):
    rt = sqlite_runtime
    cred = make_credential(rt)
    if start != "valid":
        if start == "revoked":
            change_status(rt.collaborators, cred.id, "revoked", reason="吊销", principal=signed_in(REVIEWER, rt.clock))
        else:
            change_status(
                rt.collaborators, cred.id, "suspended", reason="中止", principal=signed_in(REVIEWER, rt.clock)
            )
    revision = _revision(rt, cred.status_list_id)
    with pytest.raises(Conflict) as exc:
        change_status(rt.collaborators, cred.id, target, reason="再次变更", principal=signed_in(REVIEWER, rt.clock))
    assert exc.value.code == "STATUS_TRANSITION_INVALID"
    assert _revision(rt, cred.status_list_id) == revision
    # the statuses in Chinese (it said "证件状态为 revoked，不能变为 suspended")
    assert not any("a" <= ch <= "z" for ch in exc.value.message), exc.value.message


def test_a_replaced_permit_is_refused_naming_its_own_final_state(sqlite_runtime):
    """It said "证件状态为 replaced，不能变为 suspended（吊销为最终状态）": English words, and
    revocation named as the final state of a permit that was replaced."""
    rt = sqlite_runtime
    cred = make_credential(rt, status=models.REPLACED)
    with pytest.raises(Conflict) as exc:
        change_status(rt.collaborators, cred.id, "suspended", reason="中止", principal=signed_in(REVIEWER, rt.clock))
    assert exc.value.message == "证件状态为“已换领”，不能变为“已中止”（“已换领”为最终状态）"


def test_failing_hook_rolls_back_status_audit_and_revision(settings, clock):
    from govcred.testing import make_runtime

    class Broken:
        @hookimpl
        def govcred_credential_status_changed(self, **kwargs):
            raise RuntimeError("gateway table unavailable")

    rt = make_runtime(settings, clock, extra_plugins=[(Broken(), "broken")])
    rt.keystore.ensure_key()
    cred = make_credential(rt)
    revision = _revision(rt, cred.status_list_id)
    with pytest.raises(RuntimeError):
        change_status(rt.collaborators, cred.id, "revoked", reason="吊销", principal=signed_in(REVIEWER, rt.clock))
    with rt.uow(readonly=True) as uow:
        assert uow.credentials.get(cred.id).status == "valid"
        assert (
            uow.session.execute(
                sa.select(sa.func.count()).select_from(audit_log).where(audit_log.c.object_id == cred.id)
            ).scalar()
            == 0
        )
    assert _revision(rt, cred.status_list_id) == revision
    rt.close()


def test_reason_and_status_errors_are_reported_together(sqlite_runtime):
    cred = make_credential(sqlite_runtime)
    with pytest.raises(ValidationError) as exc:
        change_status(
            sqlite_runtime.collaborators,
            cred.id,
            "deleted",
            reason="  ",
            principal=signed_in(REVIEWER, sqlite_runtime.clock),
        )
    assert {e.field for e in exc.value.errors} == {"status", "reason"}


def test_reason_must_be_chinese_for_the_holder(sqlite_runtime):
    cred = make_credential(sqlite_runtime)
    with pytest.raises(ValidationError) as exc:
        change_status(
            sqlite_runtime.collaborators,
            cred.id,
            "suspended",
            reason="address check",
            principal=signed_in(REVIEWER, sqlite_runtime.clock),
        )
    assert [e.code for e in exc.value.errors] == ["NOT_CHINESE"]


def test_clerks_may_not_change_status(sqlite_runtime):
    cred = make_credential(sqlite_runtime)
    with pytest.raises(PermissionDenied):
        change_status(
            sqlite_runtime.collaborators,
            cred.id,
            "revoked",
            reason="吊销",
            principal=signed_in(CLERK, sqlite_runtime.clock),
        )


def test_unknown_credential_is_not_found(sqlite_runtime):
    from govcred.core.exceptions import NotFound

    with pytest.raises(NotFound):
        change_status(
            sqlite_runtime.collaborators,
            models.new_id(),
            "revoked",
            reason="吊销",
            principal=signed_in(REVIEWER, sqlite_runtime.clock),
        )
