"""Status-list indices and permit numbers without a hot row or a probe per try.

Both used to be allocated inside the issuing transaction: a random status index probed
against the credentials (up to 64 queries) with the open list's row locked until commit, and a
random permit number probed up to 10 times. Every issuer process queued behind that one row.

Now a process reserves a *block* of numbers at a time (256 status indices, 100 permit
numbers), chosen at random among the free blocks of its space by an INSERT into
``reserved_blocks`` that does nothing on a conflict (PRIMARY KEY (space, block)): a block is
one process's alone, so the numbers in it need no probe and never collide, and it hands them
out in a random order (the OS CSPRNG shuffles the block). On PostgreSQL the reservation is a
short transaction of its own, committed at once: the list row is locked for that moment, once
per block, never for the length of an issuance. On SQLite, which has one writer anyway, it
runs in the caller's transaction; the block's remaining numbers serve the rest of that
transaction (a batch of decisions) and join the process's pool only when it commits, so a
rolled-back reservation is never used.

Herd privacy: an index is random within a block and blocks are random within the list; a
verifier learns the block of 256 an index lies in, not an issuing order.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable, Mapping

import sqlalchemy.exc as sa_exc
from sqlalchemy import event

from govcred.core.db import is_sqlite
from govcred.core.exceptions import Conflict, GovcredError
from govcred.core.idempotency import bound
from govcred.core.status import BITS

#: The operating system's CSPRNG: a number must not be guessable from its neighbours.
OS_RANDOM = secrets.SystemRandom()
#: Stop filling a status list at this share: a list that is never full keeps decoys for herd privacy.
FILL_LIMIT = 0.75
PERMIT_DIGITS = 8
PERMIT_BLOCK = 100
#: Random tries to find a free block before a space counts as full (each try is one
#: INSERT ... ON CONFLICT DO NOTHING, made once per block, not once per number).
BLOCK_TRIES = 64
_PENDING = "govcred_pending_blocks"
_ADOPTING = "govcred_adopting_blocks"
#: How long a reservation's own transaction waits for a row lock before reserving in the
#: caller's transaction instead (the caller may be the one holding it).
LOCK_WAIT_SECONDS = 1


def lock_not_available(exc: BaseException) -> bool:
    """PostgreSQL's lock_timeout expired (SQLSTATE 55P03)."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "55P03"


class StatusListFull(GovcredError):
    """No status list has room for another credential."""

    code = "STATUS_LIST_FULL"


def status_block_size(list_size: int) -> int:
    return max(1, min(256, list_size // 64))


class NumberAllocator:
    """One per runtime (numbers reserved in one database serve only that database); thread-safe."""

    def __init__(self, uow_factory: Callable, rng=OS_RANDOM):
        self._uow = uow_factory
        self._rng = rng
        self._lock = threading.Lock()
        self._free: dict[str, list] = {}

    # -- the two kinds of number ----------------------------------------------------------
    def status_index(self, uow, *, size: int, now: dt.datetime) -> tuple[str, int]:
        """A free index in the open status list: ``(list_id, idx)``."""
        return self._take(uow, "status", lambda r: self._reserve_status(r, size, now))

    def permit_no(self, uow, prefix: str, now: dt.datetime) -> str:
        """A permit number ``prefix`` + 8 digits no credential has."""
        return self._take(uow, f"permit:{prefix}", lambda r: self._reserve_permits(r, prefix, now))

    def reserve_ahead(self, uow, *, size: int, now: dt.datetime, status: int, permits: Mapping[str, int]) -> None:
        """Reserve blocks now until the pools hold ``status`` status indices and, for each
        prefix, ``permits[prefix]`` permit numbers: a batch of decisions takes its whole
        chunk's numbers before its loop, so that the loop makes no query (each one would first
        flush every application decided so far, one UPDATE each) and no reservation is
        interleaved with the issuances."""
        self._fill(uow, "status", status, lambda r: self._reserve_status(r, size, now))
        for prefix, count in permits.items():
            self._fill(uow, f"permit:{prefix}", count, lambda r, p=prefix: self._reserve_permits(r, p, now))

    # -- pools ----------------------------------------------------------------------------
    def _take(self, uow, space: str, reserve: Callable):
        pending = uow.session.info.setdefault(_PENDING, {})
        if pending.get(space):
            return pending[space].pop()
        with self._lock:
            if self._free.get(space):
                return self._free[space].pop()
        numbers, in_transaction = self._reserve_block(uow, space, reserve)
        first = numbers.pop()
        self._pool(uow, space, numbers, in_transaction)
        return first

    def _fill(self, uow, space: str, count: int, reserve: Callable) -> None:
        while self._pooled_count(uow, space) < count:
            self._pool(uow, space, *self._reserve_block(uow, space, reserve))

    def _pooled_count(self, uow, space: str) -> int:
        pending = uow.session.info.get(_PENDING, {})
        with self._lock:
            return len(pending.get(space, ())) + len(self._free.get(space, ()))

    def _reserve_block(self, uow, space: str, reserve: Callable) -> tuple[list, bool]:
        """A newly reserved block's numbers, and whether they were reserved in the caller's
        transaction (then they serve only it until it commits)."""
        if is_sqlite(uow.session.get_bind()):
            return reserve(uow), True
        try:
            # PostgreSQL: a short transaction of its own, never the request's (an idempotent
            # request's units of work join its transaction; a reservation must not roll back
            # with it, or the pool would hand out numbers of a list that was never stored)
            with bound(None), self._uow() as own:
                # the caller's transaction may hold the list row (a status change bumps its
                # revision): then do not wait for ourselves, reserve inside it instead
                own.reserved_blocks.wait_for_locks_at_most(LOCK_WAIT_SECONDS)
                numbers = reserve(own)
                own.commit()
        except sa_exc.DBAPIError as exc:
            if not (lock_not_available(exc) or isinstance(exc, sa_exc.IntegrityError)):
                raise
            return reserve(uow), True  # a new list created beside us, or a held row
        return numbers, False

    def _pool(self, uow, space: str, numbers: list, in_transaction: bool) -> None:
        """Numbers reserved in the caller's transaction serve that transaction and join the
        process's pool only if it commits; those of a committed reservation join it at once."""
        if not in_transaction:
            with self._lock:
                self._free.setdefault(space, []).extend(numbers)
            return
        pending = uow.session.info.setdefault(_PENDING, {})
        if not any(pending.values()) and not uow.session.info.get(_ADOPTING):
            uow.session.info[_ADOPTING] = True
            event.listen(uow.session, "after_commit", self._adopt, once=True)
        pending[space] = pending.get(space, []) + numbers

    def _adopt(self, session) -> None:
        session.info.pop(_ADOPTING, None)
        pending = session.info.pop(_PENDING, {})
        with self._lock:
            for space, numbers in pending.items():
                self._free.setdefault(space, []).extend(numbers)

    # -- reservations ---------------------------------------------------------------------
    def _reserve_status(self, uow, size: int, now: dt.datetime) -> list[tuple[str, int]]:
        for _ in range(3):
            list_id, list_size, allocated = uow.status_lists.open_list(size=size, bits=BITS, now=now)
            block = status_block_size(list_size)
            if allocated + block > list_size * FILL_LIMIT:
                uow.status_lists.mark_full(list_id)
                continue
            number = uow.reserved_blocks.reserve(f"status:{list_id}", list_size // block, now, self._rng, BLOCK_TRIES)
            if number is None:
                uow.status_lists.mark_full(list_id)
                continue
            uow.status_lists.count_allocation(list_id, block)
            indices = list(range(number * block, (number + 1) * block))
            self._rng.shuffle(indices)
            return [(list_id, idx) for idx in indices]
        raise StatusListFull("状态列表已满，请联系管理员")

    def _reserve_permits(self, uow, prefix: str, now: dt.datetime) -> list[str]:
        blocks = 10**PERMIT_DIGITS // PERMIT_BLOCK
        number = uow.reserved_blocks.reserve(f"permit:{prefix}", blocks, now, self._rng, BLOCK_TRIES)
        if number is None:
            raise Conflict("无法分配证件号码，请联系管理员", code="PERMIT_NUMBER_EXHAUSTED")
        numbers = [f"{prefix}{n:0{PERMIT_DIGITS}d}" for n in range(number * PERMIT_BLOCK, (number + 1) * PERMIT_BLOCK)]
        # numbers drawn one by one before blocks existed may lie in this block: one query a block
        taken = uow.credentials.permit_nos_taken(numbers)
        free = [n for n in numbers if n not in taken]
        self._rng.shuffle(free)
        return free or self._reserve_permits(uow, prefix, now)
