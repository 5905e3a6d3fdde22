"""Status-list indices and permit numbers a reserved block at a time (core/allocation.py): no
probe per number, nothing held for the length of an issuance, no number given twice across
processes, and a permit number drawn before blocks existed never given again."""

from __future__ import annotations

import random
import threading

import sqlalchemy as sa

from govcred.core.allocation import PERMIT_BLOCK, NumberAllocator
from govcred.core.orm import credentials
from govcred.testing import make_runtime
from tests.core.credential_rows import make_credential


def test_a_process_allocating_does_not_wait_for_another_processs_open_issuance(runtime, settings, clock):
    """Two runtimes on one database (two processes): while the first holds its issuing
    transaction open with an index and a permit number, the second allocates and commits."""
    other = make_runtime(settings, clock)
    size = runtime.settings.status_list_size
    now = clock.now()
    try:
        with runtime.uow() as held:
            first = runtime.collaborators.allocator.status_index(held, size=size, now=now)
            first_no = runtime.collaborators.allocator.permit_no(held, "ZJ3311212026", now)
            done = threading.Event()
            got = []

            def second_process():
                with other.uow() as uow:
                    got.append(other.collaborators.allocator.status_index(uow, size=size, now=now))
                    got.append(other.collaborators.allocator.permit_no(uow, "ZJ3311212026", now))
                    uow.commit()
                done.set()

            thread = threading.Thread(target=second_process, daemon=True)
            thread.start()
            if runtime.engine.dialect.name == "postgresql":
                # SQLite has one writer: there the second waits for the first by design
                assert done.wait(60), "the second process waited for the first one's transaction"
            held.commit()
        thread.join(60)
        assert got[0] != first and got[1] != first_no
    finally:
        other.close()


def test_numbers_are_unique_across_processes(runtime, settings, clock):
    runtimes = [runtime, make_runtime(settings, clock), make_runtime(settings, clock)]
    size = runtime.settings.status_list_size
    now = clock.now()
    indices, numbers = [], []
    try:
        for _ in range(3):
            for rt in runtimes:
                with rt.uow() as uow:
                    for _ in range(150):  # more than a block of permit numbers, within one of indices
                        indices.append(rt.collaborators.allocator.status_index(uow, size=size, now=now))
                        numbers.append(rt.collaborators.allocator.permit_no(uow, "ZJ3311212026", now))
                    uow.commit()
    finally:
        for rt in runtimes[1:]:
            rt.close()
    assert len(set(indices)) == len(indices) == 1350
    assert len(set(numbers)) == len(numbers) and all(len(n) == len("ZJ3311212026") + 8 for n in numbers)


def test_a_permit_number_drawn_before_blocks_is_never_given_again(runtime):
    legacy = make_credential(runtime)
    prefix = "ZJ3311212026"
    with runtime.engine.begin() as conn:
        conn.execute(sa.update(credentials).where(credentials.c.id == legacy.id).values(permit_no=prefix + "00000542"))

    class Block5(random.Random):
        def randrange(self, stop):
            return 5  # the block of ...00000500 to ...00000599

    allocator = NumberAllocator(runtime.uow, rng=Block5(0))
    with runtime.uow() as uow:
        given = {allocator.permit_no(uow, prefix, runtime.clock.now()) for _ in range(PERMIT_BLOCK - 1)}
    assert prefix + "00000542" not in given
    assert given == {f"{prefix}{n:08d}" for n in range(500, 600)} - {prefix + "00000542"}
