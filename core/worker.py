"""The outbox relay: claims committed outbox rows and hands them to their channel handler.

Delivery is at-least-once with an exactly-once *effect*: the row id travels downstream as
the idempotency key, so a message sent again after a crash (delivered, then killed before
the outcome was recorded) is deduplicated by the receiver.

Claiming (:func:`claim_due`) is one statement. On PostgreSQL its inner SELECT takes row
locks with ``FOR UPDATE SKIP LOCKED``, so any number of workers can run side by side; on
SQLite the engine opens every write transaction with ``BEGIN IMMEDIATE``, so the same
statement runs under the database's single writer lock. A claim is a lease: a worker that
dies (``kill -9``) leaves rows ``inflight`` until ``lease_until`` passes, then any worker
takes them again.

Ordering (R-02): a row is claimable only while no earlier ``aggregate_seq`` of the same
(aggregate, channel) is ``pending`` (waiting or failing) or ``inflight``. A *dead* earlier
row does not block: an operator may never replay it, and holding every later event of the
aggregate behind it forever would be worse than delivering them; ``govcred outbox show``
names the dead predecessor so the operator sees the gap. A dead row replayed later
(``govcred outbox retry``) therefore reaches the receiver after its successors; handlers
send ``aggregate_seq`` so the receiver can ignore a stale version. One consequence: a claimed batch
holds at most one row per (aggregate, channel), so a batch may be delivered concurrently
without breaking the order.

Outcomes are recorded after the send, in short transactions of their own (grouped, up to
``record_every`` at a time, see :func:`run_worker`), and only while this worker still holds
the lease; a lease lost to another worker is counted, not overwritten.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import os
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from govcred.core.clock import Clock, as_utc
from govcred.core.config import Settings
from govcred.core.crypto import FieldCipher
from govcred.core.db import is_sqlite
from govcred.core.exceptions import PermanentDeliveryError, RetryableDeliveryError
from govcred.core.orm import outbox as outbox_table
from govcred.core.outages import outage_kind
from govcred.core.outbox import DEAD, DELIVERED, INFLIGHT, KEEP_SECRET, PENDING, OutboxMessage, reveal_secrets

log = logging.getLogger("govcred.worker")

#: How long a claim stays with its worker. Handlers bound their own time (connect 3 s,
#: read 10 s); the worker renews the lease of a batch it is still working through.
DEFAULT_LEASE_SECONDS = 60.0
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 15 * 60.0
#: The longest wait between two tries to reach a database that is down.
OUTAGE_CAP_SECONDS = 15.0
#: Stored and logged errors are cut to this length.
MAX_ERROR_CHARS = 1000

_o = outbox_table.c
_RETURNED = (
    _o.id,
    _o.channel,
    _o.event_type,
    _o.aggregate_type,
    _o.aggregate_id,
    _o.aggregate_seq,
    _o.payload,
    _o.attempts,
    _o.created_at,
    _o.next_attempt_at,
)
# Digit runs long enough to be a phone number (11) or an ID number (15/18, may end in X);
# HTTP statuses, ports and counts stay readable.
_PERSONAL_NUMBER = re.compile(r"(?<![\dA-Za-z])\+?\d[\d\- ]{5,}\d[Xx]?(?![\dA-Za-z])")


@dataclass(frozen=True)
class Relay:
    """What the worker uses, built by the runtime: the engine (claims and outcomes run in short
    transactions of their own, not in a unit of work), the delivery channels by name (built on
    first call, so a process that never delivers never builds them), the cipher that reveals a
    payload's secrets, the clock, and the settings (batch size, attempts before a dead letter)."""

    engine: Engine
    channels: Callable[[], Mapping[str, Callable[[OutboxMessage], Any]]]
    cipher: FieldCipher
    clock: Clock
    settings: Settings


def redact(text: str) -> str:
    """``text`` with every long digit run (phone or ID number) masked, cut to a sane length."""
    masked = _PERSONAL_NUMBER.sub(lambda m: "***" if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), text)
    return masked[:MAX_ERROR_CHARS]


def backoff_delay(
    attempt: int,
    *,
    rng: random.Random | None = None,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
) -> float:
    """Full-jitter exponential backoff: ``uniform(0, min(cap, base * 2**attempt))`` seconds.

    :param attempt: 0 for the first retry (after the first failed attempt).
    """
    ceiling = cap if attempt >= 64 else min(cap, base * 2 ** max(attempt, 0))
    return (rng or random).uniform(0, ceiling)


def outage_delay(failures: int, *, rng: random.Random | None = None, cap: float = OUTAGE_CAP_SECONDS) -> float:
    """How long to wait after ``failures`` failed tries to reach the database: exponential from
    0.5 s to ``cap``, half of it jittered so that many workers do not return in step."""
    ceiling = min(cap, 0.5 * 2 ** min(failures, 16))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


# -- claiming ---------------------------------------------------------------------------


def _claimable(now: dt.datetime):
    """The WHERE clause of a claimable row: due, or leased by a worker whose lease ran out,
    and the lowest undelivered, undead seq of its (aggregate, channel)."""
    earlier = outbox_table.alias("earlier")
    e = earlier.c
    blocked_by_earlier = sa.exists().where(
        e.aggregate_type == _o.aggregate_type,
        e.aggregate_id == _o.aggregate_id,
        e.channel == _o.channel,
        e.aggregate_seq < _o.aggregate_seq,
        e.status.in_((PENDING, INFLIGHT)),
    )
    return sa.and_(
        sa.or_(
            sa.and_(_o.status == PENDING, _o.next_attempt_at <= now),
            sa.and_(_o.status == INFLIGHT, _o.lease_until < now),
        ),
        ~blocked_by_earlier,
    )


def claim_due(
    relay: Relay, worker_id: str, limit: int, now: dt.datetime, *, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> list[OutboxMessage]:
    """Lease up to ``limit`` due rows to ``worker_id`` (status ``inflight``, attempts + 1).

    Returns the claimed messages oldest-due first, secrets still encrypted in the payload
    (:func:`deliver` decrypts them).
    """
    candidates = sa.select(_o.id).where(_claimable(now)).order_by(_o.next_attempt_at, _o.created_at).limit(limit)
    if not is_sqlite(relay.engine):
        candidates = candidates.with_for_update(skip_locked=True)
    claim = (
        sa.update(outbox_table)
        .where(_o.id.in_(candidates.scalar_subquery()))
        .values(
            status=INFLIGHT,
            locked_by=worker_id,
            lease_until=now + dt.timedelta(seconds=lease_seconds),
            attempts=_o.attempts + 1,
        )
        .returning(*_RETURNED)
    )
    with relay.engine.begin() as conn:
        rows = conn.execute(claim).all()
    rows.sort(key=lambda r: (as_utc(r.next_attempt_at), as_utc(r.created_at)))
    return [_message(r) for r in rows]


def _message(row) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        channel=row.channel,
        event_type=row.event_type,
        aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id,
        aggregate_seq=row.aggregate_seq,
        payload=dict(row.payload),
        attempts=row.attempts,
        created_at=as_utc(row.created_at),
    )


def renew_leases(
    relay: Relay, worker_id: str, ids: Iterable[str], now: dt.datetime, *, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> set[str]:
    """Extend this worker's lease on ``ids``; returns the ids it still holds."""
    ids = list(ids)
    if not ids:
        return set()
    stmt = (
        sa.update(outbox_table)
        .where(_o.id.in_(ids), _o.status == INFLIGHT, _o.locked_by == worker_id)
        .values(lease_until=now + dt.timedelta(seconds=lease_seconds))
        .returning(_o.id)
    )
    with relay.engine.begin() as conn:
        return set(conn.execute(stmt).scalars())


def release(relay: Relay, worker_id: str, ids: Iterable[str]) -> int:
    """Give claimed-but-unsent rows back (a graceful stop): pending again, the claim's
    attempt not counted. Returns how many rows were released."""
    ids = list(ids)
    if not ids:
        return 0
    stmt = (
        sa.update(outbox_table)
        .where(_o.id.in_(ids), _o.status == INFLIGHT, _o.locked_by == worker_id)
        .values(status=PENDING, attempts=_o.attempts - 1, locked_by=None, lease_until=None)
    )
    with relay.engine.begin() as conn:
        return conn.execute(stmt).rowcount


# -- delivering -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one delivery attempt, and the row update that records it."""

    message_id: str
    status: str  # delivered | pending (retry later) | dead | lost_lease
    error: str | None = None
    next_attempt_at: dt.datetime | None = None
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)


def deliver(
    relay: Relay,
    message: OutboxMessage,
    *,
    worker_id: str | None = None,
    now: dt.datetime | None = None,
    rng: random.Random | None = None,
) -> Outcome:
    """Send one claimed message through its channel handler and record the outcome.

    :param worker_id: when given, the outcome is written only while this worker still holds
        the lease (otherwise it is reported as ``lost_lease`` and the row is left alone).
    """
    return record_outcomes(relay, [attempt(relay, message, now=now, rng=rng)], worker_id=worker_id)[0]


def attempt(
    relay: Relay, message: OutboxMessage, *, now: dt.datetime | None = None, rng: random.Random | None = None
) -> Outcome:
    """Call the channel handler for ``message`` and classify what happened (nothing is written)."""
    handler = relay.channels().get(message.channel)
    if handler is None:
        return _failure(
            relay,
            message,
            now,
            rng,
            PermanentDeliveryError(
                f"no handler for channel {message.channel!r} (is its plugin installed and enabled?)"
            ),
        )
    try:
        secrets = reveal_secrets(relay.cipher, message.id, message.payload)
    except Exception as exc:  # a payload that cannot be decrypted will never decrypt
        return _failure(
            relay, message, now, rng, PermanentDeliveryError(f"secret payload unreadable: {type(exc).__name__}")
        )
    payload = {k: v for k, v in message.payload.items() if k != "_secret"}
    try:
        result = handler(dataclasses.replace(message, payload=payload, secrets=secrets))
    except (RetryableDeliveryError, PermanentDeliveryError) as exc:
        return _failure(relay, message, now, rng, exc)
    except Exception as exc:  # a handler bug or an unclassified transport error: retry, but say what it was
        log.warning("outbox %s (%s): handler raised %s; will retry", message.id, message.channel, type(exc).__name__)
        return _failure(relay, message, now, rng, RetryableDeliveryError(f"{type(exc).__name__}: {exc}"))
    return Outcome(
        message.id,
        DELIVERED,
        values=dict(
            status=DELIVERED,
            # what was encrypted for the handler (a phone, a login code) is not needed any more,
            # unless its channel reads it again later (Outbox.add(keep_secret=True))
            payload=message.payload if message.payload.get(KEEP_SECRET) else payload,
            delivered_at=now or relay.clock.now(),
            result=_json_safe(result),
            last_error=None,
            locked_by=None,
            lease_until=None,
        ),
    )


def _failure(
    relay: Relay, message: OutboxMessage, now: dt.datetime | None, rng: random.Random | None, exc: Exception
) -> Outcome:
    now = now or relay.clock.now()
    error = redact(f"{type(exc).__name__}: {exc}")
    out_of_attempts = message.attempts >= relay.settings.worker_max_attempts
    if isinstance(exc, PermanentDeliveryError) or out_of_attempts:
        if out_of_attempts and not isinstance(exc, PermanentDeliveryError):
            error = redact(f"gave up after {message.attempts} attempts; last: {error}")
        log.error("outbox %s (%s, %s) dead: %s", message.id, message.channel, message.event_type, error)
        return Outcome(
            message.id, DEAD, error, values=dict(status=DEAD, last_error=error, locked_by=None, lease_until=None)
        )
    delay = backoff_delay(message.attempts - 1, rng=rng)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    next_at = now + dt.timedelta(seconds=delay)
    log.info(
        "outbox %s (%s) attempt %d failed, retry in %.1f s: %s",
        message.id,
        message.channel,
        message.attempts,
        delay,
        error,
    )
    return Outcome(
        message.id,
        PENDING,
        error,
        next_at,
        values=dict(status=PENDING, next_attempt_at=next_at, last_error=error, locked_by=None, lease_until=None),
    )


def record_outcomes(relay: Relay, outcomes: list[Outcome], *, worker_id: str | None = None) -> list[Outcome]:
    """Write ``outcomes`` in one short transaction; a row this worker no longer holds is left
    alone and its outcome comes back as ``lost_lease``."""
    if not outcomes:
        return []
    held_query = sa.select(_o.id).where(_o.id.in_([o.message_id for o in outcomes]), _o.status == INFLIGHT)
    if worker_id is not None:
        held_query = held_query.where(_o.locked_by == worker_id)
    if not is_sqlite(relay.engine):  # SQLite's BEGIN IMMEDIATE already holds the write lock
        held_query = held_query.with_for_update()
    with relay.engine.begin() as conn:
        held = set(conn.execute(held_query).scalars())
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for outcome in outcomes:
            if outcome.message_id in held:
                columns = tuple(sorted(outcome.values))
                by_columns.setdefault(columns, []).append(
                    {"m_id": outcome.message_id, **{f"v_{k}": v for k, v in outcome.values.items()}}
                )
        for columns, params in by_columns.items():
            conn.execute(_outcome_update(columns), params)
    return [o if o.message_id in held else _lost(o.message_id) for o in outcomes]


@functools.cache
def _outcome_update(columns: tuple[str, ...]) -> sa.Update:
    """One prepared UPDATE per shape of outcome (delivered / retry / dead), run as executemany."""
    return (
        sa.update(outbox_table)
        .where(_o.id == sa.bindparam("m_id"))
        .values({c: sa.bindparam(f"v_{c}", type_=outbox_table.c[c].type) for c in columns})
    )


def _lost(message_id: str) -> Outcome:
    log.warning("outbox %s: lease lost to another worker before the outcome was recorded", message_id)
    return Outcome(message_id, "lost_lease")


def _json_safe(result: Any) -> Any:
    if result is None:
        return None
    if isinstance(result, Mapping):
        return {str(k): v if isinstance(v, (str, int, float, bool, type(None))) else str(v) for k, v in result.items()}
    return {"value": str(result)}


# -- the loop ---------------------------------------------------------------------------


@dataclasses.dataclass
class WorkerStats:
    worker_id: str
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    lost_lease: int = 0
    released: int = 0
    #: times the database could not be reached (each followed by a backoff and a new try)
    outages: int = 0
    seconds: float = 0.0

    def add(self, outcome: Outcome) -> None:
        field = {DELIVERED: "delivered", PENDING: "retried", DEAD: "dead"}.get(outcome.status, "lost_lease")
        setattr(self, field, getattr(self, field) + 1)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def run_worker(
    relay: Relay,
    *,
    worker_id: str | None = None,
    drain: bool = False,
    max_seconds: float | None = None,
    stop_event: threading.Event | None = None,
    poll_interval: float = 0.5,
    batch: int | None = None,
    concurrency: int = 1,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    record_every: int = 20,
    rng: random.Random | None = None,
) -> WorkerStats:
    """Claim and deliver until stopped.

    :param drain: stop as soon as nothing is due now (rows waiting for a later retry stay).
    :param max_seconds: stop after this much wall time (the current message is finished).
    :param stop_event: set it to stop gracefully: the message being sent is finished and
        recorded, claimed rows not yet sent are released at once.
    :param concurrency: deliveries in flight at once within a batch (a batch never holds
        two rows of one aggregate and channel, so order is kept).
    :param lease_seconds: how long a claim stays with this worker before others may take it.
    :param record_every: outcomes written per transaction (1 = each on its own). A SQLite
        commit is an fsync (about 6 ms on the development VM), so one commit per message
        caps the relay near 150/s; grouping up to 20 costs, on a crash, at most that many
        re-sends of messages already sent, which the receiver deduplicates by id. A group
        is also written when the batch ends or the worker stops.
    """
    worker_id = worker_id or default_worker_id()
    batch = batch or relay.settings.worker_batch
    relay.channels()  # build the handlers once, here, not racing in the delivery threads (and fail early)
    stop_event = stop_event or threading.Event()
    stats = WorkerStats(worker_id)
    started = time.monotonic()
    deadline = started + max_seconds if max_seconds is not None else None

    def should_stop() -> bool:
        return stop_event.is_set() or (deadline is not None and time.monotonic() >= deadline)

    def wait(seconds: float) -> None:
        stop_event.wait(seconds if deadline is None else max(0.0, min(seconds, deadline - time.monotonic())))

    pool = ThreadPoolExecutor(concurrency, thread_name_prefix="outbox-deliver") if concurrency > 1 else None
    outages = 0
    try:
        while not should_stop():
            try:
                messages = claim_due(relay, worker_id, batch, relay.clock.now(), lease_seconds=lease_seconds)
                stats.claimed += len(messages)
                if messages:
                    _deliver_batch(
                        relay, messages, worker_id, stats, should_stop, pool, lease_seconds, rng, record_every
                    )
            except Exception as exc:
                kind = outage_kind(exc)
                if kind is None:
                    raise
                # The database is down or cut us off, or its disk is full: wait and try again,
                # never die (freed space or a restarted server lets it go on). A message
                # sent but not yet recorded stays leased to us until lease_until, then is sent
                # again with the same id, which the receiver deduplicates.
                delay = outage_delay(outages, rng=rng)
                outages += 1
                stats.outages += 1
                log.warning(
                    "outbox worker %s: %s (%s); retrying in %.1f s",
                    worker_id,
                    kind,
                    type(exc).__name__,
                    delay,
                )
                wait(delay)
                continue
            if outages:
                log.warning("outbox worker %s: working again after %d failed tries", worker_id, outages)
                outages = 0
            if not messages:
                if drain:
                    break
                wait(poll_interval)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        stats.seconds = round(time.monotonic() - started, 3)
    return stats


def _deliver_batch(
    relay: Relay,
    messages: list[OutboxMessage],
    worker_id: str,
    stats: WorkerStats,
    should_stop,
    pool: ThreadPoolExecutor | None,
    lease_seconds: float,
    rng: random.Random | None,
    record_every: int,
) -> None:
    lock = threading.Lock()
    unsent = {m.id for m in messages}
    unrecorded: list[Outcome] = []
    lease_checked = time.monotonic()

    def record(outcomes: list[Outcome]) -> None:
        if outcomes:
            recorded = record_outcomes(relay, outcomes, worker_id=worker_id)
            with lock:
                for outcome in recorded:
                    stats.add(outcome)

    def one(message: OutboxMessage) -> None:
        nonlocal lease_checked, unsent, unrecorded
        with lock:
            if should_stop() or message.id not in unsent:
                return
            if time.monotonic() - lease_checked > lease_seconds / 3:
                # a slow gateway: keep the rest of the batch ours instead of letting it be sent twice
                still_held = renew_leases(relay, worker_id, unsent, relay.clock.now(), lease_seconds=lease_seconds)
                stats.lost_lease += len(unsent - still_held)
                unsent, lease_checked = still_held, time.monotonic()
                if message.id not in unsent:
                    return
            unsent.discard(message.id)
        outcome = attempt(relay, message, rng=rng)
        with lock:
            unrecorded.append(outcome)
            full = len(unrecorded) >= record_every
            if full:
                due, unrecorded = unrecorded, []
        if full:
            record(due)

    if pool is None:
        for message in messages:
            one(message)
    else:
        list(pool.map(one, messages))
    record(unrecorded)
    if unsent:  # stopped part-way: hand back what was never sent
        stats.released += release(relay, worker_id, unsent)


class BackgroundWorker:
    """A worker running in a daemon thread (``govcred serve``)."""

    def __init__(self, relay: Relay, **kwargs: Any):
        self._stop = threading.Event()
        self.stats: WorkerStats | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(relay, kwargs), name="outbox-worker", daemon=True)

    def _run(self, relay: Relay, kwargs: dict[str, Any]) -> None:
        while not self._stop.is_set():
            try:
                self.stats = run_worker(relay, stop_event=self._stop, **kwargs)
            except Exception as exc:  # keep serving; a database hiccup must not end delivery for good
                self.error = exc
                log.exception("outbox worker failed; restarting in 5 s")
                self._stop.wait(5.0)

    def start(self) -> BackgroundWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> WorkerStats | None:
        """Ask the worker to finish the message in hand and wait for it."""
        self._stop.set()
        self._thread.join(timeout)
        return self.stats

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def start_background_worker(relay: Relay, **kwargs: Any) -> BackgroundWorker:
    """Start :func:`run_worker` in a daemon thread; call ``.stop()`` on the result."""
    return BackgroundWorker(relay, **kwargs).start()
