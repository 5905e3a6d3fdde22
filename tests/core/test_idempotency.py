"""Idempotency leases in the business transaction (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from govcred.core import models
from govcred.core.idempotency import IdempotencyLeaseLost, IdempotencyStore, Scope, StoredAnswer, bound
from govcred.core.orm import applications, idempotency_keys

SCOPE = Scope("resident:r1", "POST /api/v1/applications", "8f0e7a3c-0000-4000-8000-000000000001")


def _store(runtime) -> IdempotencyStore:
    return IdempotencyStore(runtime.uow, runtime.secrets.cipher, runtime.clock, lease=dt.timedelta(seconds=5))


def _add_application(runtime, n: int = 1) -> None:
    with runtime.uow() as uow:
        app = models.Application(
            schema="test/idem@1",
            channel="window",
            document={"n": n},
            subject_index=f"s{n}",
            subject_name_masked="王*",
            subject_id_masked="-",
            county="331121",
        )
        app.created_at = runtime.clock.now()
        uow.applications.add(app)
        uow.commit()


def _count(runtime, table) -> int:
    with runtime.uow(readonly=True) as uow:  # a reader of its own, beside a held write
        return uow.session.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_the_change_and_its_answer_commit_together(runtime):
    # long enough that a random ciphertext never holds it by chance (a 2-character id did)
    MARKER = "answer-marker-7f3c9e1d"
    store = _store(runtime)
    claim = store.claim(SCOPE, "fp")
    with bound(claim):
        _add_application(runtime)
    assert _count(runtime, applications) == 0  # the change waits for its answer
    store.complete(claim, StoredAnswer(201, {"id": MARKER, "name": "张三明"}, {"Location": "/x"}))
    assert _count(runtime, applications) == 1
    again = store.claim(SCOPE, "fp")
    assert again == StoredAnswer(201, {"id": MARKER, "name": "张三明"}, {"Location": "/x"})
    with runtime.engine.connect() as conn:
        row = conn.execute(sa.select(idempotency_keys)).mappings().one()
    assert row["state"] == "done" and row["lease_token"] is None
    assert "张三明" not in str(row["response"]) and MARKER not in str(row["response"])  # sealed at rest


def test_a_failed_answer_leaves_nothing_and_frees_the_key(runtime):
    store = _store(runtime)
    claim = store.claim(SCOPE, "fp")
    with bound(claim):
        _add_application(runtime)
    store.release(claim)
    assert _count(runtime, applications) == 0 and _count(runtime, idempotency_keys) == 0


def test_a_dead_lease_is_taken_over_and_the_slow_original_changes_nothing(runtime, clock):
    store = _store(runtime)
    slow = store.claim(SCOPE, "fp")
    with pytest.raises(Exception) as busy:
        store.claim(SCOPE, "fp")
    assert busy.value.code == "IDEMPOTENCY_IN_FLIGHT" and busy.value.retry_after == 5
    clock.advance(seconds=5)
    retry = store.claim(SCOPE, "fp")  # the lease ran out: the retry holds the key now
    with bound(slow), pytest.raises(IdempotencyLeaseLost):
        _add_application(runtime, 1)
    with bound(retry):
        _add_application(runtime, 2)
    store.complete(retry, StoredAnswer(201, {"id": "a2"}))
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(applications.c.subject_index)).scalars().all() == ["s2"]


def test_later_units_of_work_of_the_request_join_its_transaction(runtime):
    store = _store(runtime)
    claim = store.claim(SCOPE, "fp")
    with bound(claim):
        _add_application(runtime, 1)
        with runtime.uow(readonly=True) as uow:  # reads what the request changed
            assert len(uow.session.execute(sa.select(applications.c.id)).all()) == 1
        with pytest.raises(RuntimeError), runtime.uow() as uow:  # a failing later unit: only it goes
            _add_application(runtime, 2)
            raise RuntimeError("boom")
    store.complete(claim, StoredAnswer(201, {}))
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(applications.c.subject_index)).scalars().all() == ["s1"]


def test_a_key_used_with_another_body_is_refused(runtime):
    store = _store(runtime)
    store.complete(store.claim(SCOPE, "fp"), StoredAnswer(201, {}))
    with pytest.raises(Exception) as refused:
        store.claim(SCOPE, "other")
    assert refused.value.errors[0].code == "IDEMPOTENCY_KEY_REUSED"
