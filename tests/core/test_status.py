"""Issuer side of the Token Status List: packing, signing, caching per revision, the endpoint."""

from __future__ import annotations

import base64
import random
import zlib

import pytest

from govcred.core import models
from govcred.core.accounts.officers import Principal
from govcred.core.allocation import NumberAllocator, status_block_size
from govcred.core.clock import as_utc
from govcred.core.keys import KeySet
from govcred.core.services.credential_status import change_status
from govcred.core.status import BITS, encode_lst, pack_statuses
from govcred.core.tokens import STATUS_LIST, verify_token
from govcred.testing import signed_in
from govcred.verifier.statuslist import inflate_bounded, parse_status_list
from tests.core.credential_rows import make_credential

REVIEWER = Principal("officer", "reviewer-1", "reviewer", "审核员")


def test_packing_puts_index_i_at_the_low_bits_first():
    raw = pack_statuses(8, {0: 1, 1: 2, 5: 3})
    assert raw == bytes([0b00001001, 0b00001100])
    assert BITS == 2


def test_packing_gives_the_drafts_example_and_the_last_value_set_wins():
    draft = {0: 1, 1: 2, 2: 0, 3: 3, 4: 0, 5: 1, 6: 0, 7: 1, 8: 1, 9: 2, 10: 3, 11: 3}  # §4.1, 2 bits
    assert pack_statuses(12, draft) == bytes([0xC9, 0x44, 0xF9])
    assert pack_statuses(4, [(1, 3), (1, 1), (0, 0)]) == bytes([0b00000100])


def test_packing_refuses_values_and_sizes_that_do_not_fit():
    with pytest.raises(ValueError, match="^status value 4 does not fit in 2 bits$"):
        pack_statuses(8, {0: 4})
    with pytest.raises(ValueError, match="^a 2-bit list size must be a multiple of 4$"):
        pack_statuses(6, {})
    assert pack_statuses(8, {0: 0, 7: 3}) == bytes([0, 0b11000000])


def test_packing_refuses_indices_outside_the_list():
    with pytest.raises(ValueError, match="outside"):
        pack_statuses(8, {8: 1})


def test_lst_is_zlib_level_9_base64url_unpadded():
    raw = pack_statuses(131072, {17: 1})
    lst = encode_lst(raw)
    assert "=" not in lst and "+" not in lst and "/" not in lst
    assert inflate_bounded(lst) == raw
    assert zlib.decompress(base64.urlsafe_b64decode(lst + "==")) == raw


def _keyset(rt) -> KeySet:
    return KeySet.from_jwks(rt.keystore.jwks(), rt.settings.issuer)


def test_signed_list_carries_revoked_and_suspended_credentials(runtime):
    valid, revoked, suspended = (make_credential(runtime) for _ in range(3))
    change_status(
        runtime.collaborators,
        revoked.id,
        models.REVOKED,
        reason="伪造材料骗领",
        principal=signed_in(REVIEWER, runtime.clock),
    )
    change_status(
        runtime.collaborators,
        suspended.id,
        models.SUSPENDED,
        reason="居住地址变更待核实",
        principal=signed_in(REVIEWER, runtime.clock),
    )
    signed = runtime.status_list_publisher.current(valid.status_list_id)
    verified = verify_token(signed.token, STATUS_LIST, _keyset(runtime), clock=runtime.clock)
    ttl = runtime.settings.status_list_ttl_seconds
    assert verified.claims["ttl"] == ttl
    assert verified.claims["exp"] - verified.claims["iat"] == 4 * ttl
    assert verified.claims["sub"] == valid.claims["status"]["status_list"]["uri"]
    lst = parse_status_list(signed.token, _keyset(runtime), verified.claims["sub"], clock=runtime.clock)
    assert lst.size == runtime.settings.status_list_size
    assert lst.value_at(valid.status_idx) == 0
    assert lst.value_at(revoked.status_idx) == 1
    assert lst.value_at(suspended.status_idx) == 2


def test_a_status_change_is_dated_and_moves_its_list_to_a_new_revision(runtime):
    import datetime as dt

    import sqlalchemy as sa

    from govcred.core.orm import credentials, status_lists

    cred = make_credential(runtime)
    before = runtime.status_list_publisher.current(cred.status_list_id).revision
    runtime.clock.advance(hours=3)
    change_status(
        runtime.collaborators,
        cred.id,
        models.SUSPENDED,
        reason="居住地址变更待核实",
        principal=signed_in(REVIEWER, runtime.clock),
    )
    with runtime.engine.connect() as conn:
        changed_at = conn.execute(
            sa.select(credentials.c.status_changed_at).where(credentials.c.id == cred.id)
        ).scalar_one()
        revision, updated_at = conn.execute(
            sa.select(status_lists.c.revision, status_lists.c.updated_at).where(
                status_lists.c.id == cred.status_list_id
            )
        ).one()
    now = runtime.clock.now()
    assert [as_utc(changed_at), as_utc(updated_at)] == [now, now] and revision == before + 1
    assert now - dt.timedelta(hours=3) == as_utc(cred.issued_at)


def test_token_is_reused_until_the_revision_changes(runtime):
    cred = make_credential(runtime)
    publisher = runtime.status_list_publisher
    first = publisher.current(cred.status_list_id)
    runtime.clock.advance(seconds=30)
    assert publisher.current(cred.status_list_id) is first
    change_status(
        runtime.collaborators, cred.id, models.SUSPENDED, reason="核查中", principal=signed_in(REVIEWER, runtime.clock)
    )
    second = publisher.current(cred.status_list_id)
    assert second.revision == first.revision + 1 and second.token != first.token


def test_unchanged_list_is_resigned_before_it_nears_expiry(runtime):
    cred = make_credential(runtime)
    publisher = runtime.status_list_publisher
    first = publisher.current(cred.status_list_id)
    runtime.clock.advance(seconds=first.ttl + 1)  # fewer than 3 ttl periods now remain
    second = publisher.current(cred.status_list_id)
    assert second.revision == first.revision and second.iat > first.iat and second.exp > first.exp


def _allocate(rt, n: int, size: int, rng) -> list[int]:
    """``n`` allocations through a runtime's allocator drawing from ``rng``, each index recorded
    as taken (as issuing does), all in one transaction (as a batch of decisions)."""
    import sqlalchemy as sa

    from govcred.core.orm import credentials

    now = rt.clock.now()
    indices = []
    allocator = NumberAllocator(rt.uow, rng=rng)
    with rt.uow() as uow:
        s = uow.session
        app = models.Application(
            schema="zj-residence/application@1",
            channel="online",
            document={},
            state=models.APPROVED,
            subject_index="s",
            county="331121",
            created_at=now,
        )
        uow.applications.add(app)
        uow.flush()
        for i in range(n):
            list_id, idx = allocator.status_index(uow, size=size, now=now)
            s.execute(
                sa.insert(credentials).values(
                    id=f"c{i}",
                    permit_no=f"P{i}",
                    version=1,
                    application_id=app.id,
                    credential_type="t",
                    subject_index="s",
                    issued_at=now,
                    not_before=now,
                    expires_at=now,
                    kid="k",
                    token="t",
                    claims={},
                    status_list_id=list_id,
                    status_idx=idx,
                    status="valid",
                    status_reason="",
                )
            )
            indices.append(idx)
        uow.commit()
    return indices


def test_allocator_draws_from_the_os_csprng():
    import inspect
    import secrets

    assert isinstance(inspect.signature(NumberAllocator).parameters["rng"].default, secrets.SystemRandom)


def test_allocator_gives_distinct_non_monotonic_indices_in_random_blocks(sqlite_runtime):
    """10,000 allocations on a seeded generator (fixed statistics, the test cannot fail by
    chance): every index once, in no order within a block, the blocks of 256 spread over the
    whole list with no bias, each handed out whole before the next is reserved."""
    size = 131072
    block = status_block_size(size)
    indices = _allocate(sqlite_runtime, 10_000, size, random.Random(20261130))
    assert block == 256 and len(set(indices)) == 10_000
    assert indices != sorted(indices) and indices != sorted(indices, reverse=True)
    ascending_steps = sum(b > a for a, b in zip(indices, indices[1:]))
    assert 4_500 < ascending_steps < 5_500  # a random sequence rises about half the time
    blocks = list(dict.fromkeys(idx // block for idx in indices))
    assert len(blocks) == -(-10_000 // block)  # 40: each block used up before the next
    assert blocks != sorted(blocks)
    first = indices[:block]
    assert sorted(first) == list(range(blocks[0] * block, (blocks[0] + 1) * block))
    # chi-square over 8 equal ranges of the list, 7 degrees of freedom: 24.3 is the 0.1 % value
    buckets = [0] * 8
    for b in blocks:
        buckets[b * 8 // (size // block)] += 1
    expected = len(blocks) / 8
    assert sum((n - expected) ** 2 / expected for n in buckets) < 24.3


def test_a_taken_block_is_drawn_again(sqlite_runtime):
    """A generator that repeats itself: the allocator skips a block already reserved."""

    class Repeating(random.Random):
        def __init__(self, draws):
            super().__init__(0)
            self.draws = list(draws)

        def randrange(self, stop):
            return self.draws.pop(0)

    indices = _allocate(sqlite_runtime, 48, 1024, Repeating([7, 7, 9, 3]))  # blocks of 16
    assert list(dict.fromkeys(idx // 16 for idx in indices)) == [7, 9, 3]
    assert len(set(indices)) == 48


def test_status_endpoint_serves_the_signed_list_publicly(runtime):
    from govcred.core.web import create_app

    cred = make_credential(runtime)
    client = create_app(runtime).test_client()
    response = client.get(f"/status/{cred.status_list_id}")
    assert response.status_code == 200
    assert response.mimetype == "application/statuslist+jwt"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    max_age = int(response.headers["Cache-Control"].split("max-age=")[1])
    assert 0 < max_age <= runtime.settings.status_list_ttl_seconds
    verify_token(response.get_data(as_text=True), STATUS_LIST, _keyset(runtime), clock=runtime.clock)
    missing = client.get("/status/999")
    assert missing.status_code == 404 and "未找到该状态列表" in missing.get_data(as_text=True)
    assert client.get("/status/..%2F..%2Fetc").status_code == 404
