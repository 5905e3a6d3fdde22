"""The recent-factor rule at its boundary and inside the use cases that need it: no channel
reaches a decision, a status change, a cancellation or a key rotation without it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from govcred.core.accounts.factors import RECENT_FACTOR_WITHIN, has_recent_factor, require_recent_factor
from govcred.core.accounts.officers import Principal
from govcred.core.exceptions import AuthenticationRequired
from govcred.core.services.credential_status import change_status
from govcred.core.services.signing_keys import rotate_signing_key
from govcred.testing import T0
from tests.core.credential_rows import make_credential

REVIEWER = Principal("officer", "reviewer-1", "reviewer", "审核员")


def test_ten_minutes_inclusive_and_an_unknown_factor_is_no_factor():
    assert RECENT_FACTOR_WITHIN == dt.timedelta(minutes=10)
    fresh = dataclasses.replace(REVIEWER, factor_at=T0)
    assert has_recent_factor(fresh, T0 + RECENT_FACTOR_WITHIN)
    assert not has_recent_factor(fresh, T0 + RECENT_FACTOR_WITHIN + dt.timedelta(seconds=1))
    assert not has_recent_factor(REVIEWER, T0) and not has_recent_factor(None, T0)
    with pytest.raises(AuthenticationRequired) as refused:
        require_recent_factor(REVIEWER, T0)
    assert refused.value.code == "RECENT_FACTOR_REQUIRED" and refused.value.http_status == 401
    require_recent_factor(Principal("resident", "r-1"), T0)  # residents are not asked


def test_a_status_change_with_a_stale_factor_changes_nothing(runtime):
    cred = make_credential(runtime)
    stale = dataclasses.replace(REVIEWER, factor_at=runtime.clock.now())
    runtime.clock.advance(minutes=10, seconds=1)
    with pytest.raises(AuthenticationRequired) as refused:
        change_status(runtime.collaborators, cred.id, "revoked", reason="吊销", principal=stale)
    assert refused.value.code == "RECENT_FACTOR_REQUIRED"
    with runtime.uow(readonly=True) as uow:
        assert uow.credentials.get(cred.id).status == "valid"


def test_key_rotation_needs_an_admin_with_a_recent_factor(runtime):
    from govcred.core.exceptions import PermissionDenied

    admin = Principal("officer", "admin-1", "admin", "管理员")
    before = [k.kid for k in runtime.keystore.list()]
    with pytest.raises(AuthenticationRequired):
        rotate_signing_key(runtime.collaborators, admin)
    with pytest.raises(PermissionDenied):
        rotate_signing_key(runtime.collaborators, dataclasses.replace(REVIEWER, factor_at=runtime.clock.now()))
    assert [k.kid for k in runtime.keystore.list()] == before
    new = rotate_signing_key(runtime.collaborators, dataclasses.replace(admin, factor_at=runtime.clock.now()))
    assert new.kid not in before
