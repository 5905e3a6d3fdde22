"""Idempotency keys kept in the business transaction (R-05; crash-safe).

A request with a key first takes a short **lease** on it (its own tiny transaction: an
``in_flight`` row that expires in seconds, with a random lease token). While the request is
bound to that lease (:func:`bound`), the first unit of work that commits does not commit on
its own: it checks that the lease is still ours (an UPDATE that also locks the row), and the
transaction stays open -- every later unit of work of the same request joins it -- until the
answer is known; :meth:`IdempotencyStore.complete` then writes the answer, sealed with the
field cipher, into the key's row and commits the change and the answer together.

So after a crash (kill -9, lost connection) at any point there are only two states: nothing
of the request committed (the lease runs out in seconds and a retry with the same key runs
again), or the change and its stored answer committed (a retry replays the answer). A lease
that ran out while its request was still working is taken over by the retry; the slow
original then fails its lease check and rolls back, so the change is applied once.

The stored answer is AES-GCM sealed with the scope as associated data: the responses carry
application documents and tokens, which must not sit in plaintext at rest.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import datetime as dt
import json
import math
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govcred.core.exceptions import Conflict, FieldError, GovcredError, ValidationError
from govcred.core.orm import idempotency_keys

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.clock import Clock
    from govcred.core.crypto import FieldCipher
    from govcred.core.unit_of_work import UnitOfWork

IN_FLIGHT, DONE = "in_flight", "done"
DEFAULT_LEASE = dt.timedelta(seconds=10)
DEFAULT_TTL = dt.timedelta(hours=24)


class IdempotencyInFlight(Conflict):
    """Another request with the same key holds its lease; retry after ``retry_after`` seconds."""

    code = "IDEMPOTENCY_IN_FLIGHT"

    def __init__(self, retry_after: int):
        super().__init__("相同的 Idempotency-Key 请求正在处理中，请稍后重试")
        self.retry_after = retry_after


class IdempotencyLeaseLost(Conflict):
    """This request's lease ran out and a retry took the key over: its change is rolled back."""

    code = "IDEMPOTENCY_IN_FLIGHT"

    def __init__(self) -> None:
        super().__init__("相同的 Idempotency-Key 请求已由重试接管")


class RequestAborted(GovcredError):
    """Part of the request failed after its change was made; nothing was kept."""

    code = "REQUEST_ABORTED"
    http_status = 503


@dataclass(frozen=True)
class Scope:
    principal: str
    route: str
    key: str

    @property
    def where(self) -> sa.ColumnElement[bool]:
        c = idempotency_keys.c
        return sa.and_(c.principal == self.principal, c.route == self.route, c.key == self.key)

    @property
    def aad(self) -> bytes:
        return f"idempotency|{self.principal}|{self.route}|{self.key}".encode()


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Claim:
    """A lease on one key, held by the request that is running it."""

    scope: Scope
    token: str
    #: the business transaction, once a unit of work has made the change (held open until
    #: the answer is written into it)
    session: Session | None = None
    #: a unit of work failed after the change was made: the change must not be kept
    poisoned: bool = False
    _store: IdempotencyStore | None = None

    def hold(self, session: Session) -> None:
        """Called by the unit of work that commits first: the change waits for its answer."""
        assert self._store is not None
        self._store.check_lease(self, session)
        session.flush()
        self.session = session


_bound: contextvars.ContextVar[Claim | None] = contextvars.ContextVar("govcred_idempotency_claim", default=None)


def bound_claim() -> Claim | None:
    """The lease the current request runs under, if any (read by the unit of work)."""
    return _bound.get()


@contextlib.contextmanager
def bound(claim: Claim) -> Iterator[Claim]:
    token = _bound.set(claim)
    try:
        yield claim
    finally:
        _bound.reset(token)


@contextlib.contextmanager
def _own_transaction(uow: Callable[..., UnitOfWork]) -> Iterator[UnitOfWork]:
    """A unit of work of the store's own (a lease, a release): never the request's transaction."""
    token = _bound.set(None)
    try:
        with uow() as unit:
            yield unit
    finally:
        _bound.reset(token)


class IdempotencyStore:
    """Leases, the lease check inside the business transaction, sealed answers."""

    def __init__(
        self,
        uow: Callable[..., UnitOfWork],
        cipher: FieldCipher,
        clock: Clock,
        *,
        lease: dt.timedelta = DEFAULT_LEASE,
        ttl: dt.timedelta = DEFAULT_TTL,
    ):
        self._uow = uow
        self._cipher = cipher
        self._clock = clock
        self.lease = lease
        self.ttl = ttl

    # -- before the request runs -----------------------------------------------------
    def claim(self, scope: Scope, fingerprint: str) -> Claim | StoredAnswer:
        """A lease on the key, or the stored answer to replay.

        Raises :class:`ValidationError` when the key was used with another body and
        :class:`IdempotencyInFlight` while another request holds the lease.
        """
        for _attempt in range(3):
            now = self._clock.now()
            token = secrets.token_hex(16)
            lease = {
                "fingerprint": fingerprint,
                "state": IN_FLIGHT,
                "lease_token": token,
                "status_code": None,
                "response": None,
                "created_at": now,
                "expires_at": now + self.lease,
            }
            with _own_transaction(self._uow) as uow:
                session = uow.session
                row = (
                    session.execute(sa.select(idempotency_keys).where(scope.where).with_for_update()).mappings().first()
                )
                try:
                    if row is None:
                        session.execute(sa.insert(idempotency_keys).values(**vars_of(scope), **lease))
                    elif row["expires_at"] <= now:
                        # an answer past its time, or a lease whose request died (it changed
                        # nothing: the change commits only with its answer): start afresh
                        session.execute(sa.update(idempotency_keys).where(scope.where).values(**lease))
                    elif row["fingerprint"] != fingerprint:
                        raise ValidationError(
                            [
                                FieldError(
                                    "Idempotency-Key",
                                    "IDEMPOTENCY_KEY_REUSED",
                                    "该 Idempotency-Key 已用于另一个请求内容",
                                )
                            ]
                        )
                    elif row["state"] == DONE:
                        return self._unseal(scope, row)
                    else:
                        raise IdempotencyInFlight(max(1, math.ceil((row["expires_at"] - now).total_seconds())))
                    uow.commit()
                except IntegrityError:  # another request inserted the same key first: look again
                    uow.rollback()
                    continue
            return Claim(scope, token, _store=self)
        raise IdempotencyInFlight(1)

    # -- inside the business transaction ---------------------------------------------
    def check_lease(self, claim: Claim, session: Session) -> None:
        """The lease is still ours; the UPDATE also locks the row until the transaction ends."""
        result = session.execute(
            sa.update(idempotency_keys)
            .where(claim.scope.where, idempotency_keys.c.lease_token == claim.token)
            .where(idempotency_keys.c.state == IN_FLIGHT)
            .values(expires_at=self._clock.now() + self.lease)
        )
        if result.rowcount != 1:
            raise IdempotencyLeaseLost()

    # -- after the request ran -------------------------------------------------------
    def complete(self, claim: Claim, answer: StoredAnswer) -> None:
        """Store the answer; with the change, when a unit of work made one (one commit)."""
        store = (
            sa.update(idempotency_keys)
            .where(claim.scope.where, idempotency_keys.c.lease_token == claim.token)
            .values(
                state=DONE,
                lease_token=None,
                status_code=answer.status_code,
                response={"sealed": self._seal(claim.scope, answer)},
                expires_at=self._clock.now() + self.ttl,
            )
        )
        if claim.session is None:  # the request changed nothing: its answer alone
            with _own_transaction(self._uow) as uow:
                uow.session.execute(store)
                uow.commit()
            return
        session, claim.session = claim.session, None
        try:
            session.execute(store)
            session.commit()
        finally:
            session.close()

    def release(self, claim: Claim) -> None:
        """Give the key back (the request failed): roll back its change, delete its lease."""
        if claim.session is not None:
            claim.session.rollback()
            claim.session.close()
            claim.session = None
        with _own_transaction(self._uow) as uow:
            uow.session.execute(
                sa.delete(idempotency_keys).where(claim.scope.where, idempotency_keys.c.lease_token == claim.token)
            )
            uow.commit()

    # -- sealing ---------------------------------------------------------------------
    def _seal(self, scope: Scope, answer: StoredAnswer) -> str:
        plain = json.dumps({"body": answer.body, "headers": answer.headers}, ensure_ascii=False, separators=(",", ":"))
        return base64.b64encode(self._cipher.encrypt(plain.encode(), scope.aad)).decode("ascii")

    def _unseal(self, scope: Scope, row) -> StoredAnswer:
        stored = row["response"] or {}
        if "sealed" not in stored:  # written before answers were sealed: replay as it is
            return StoredAnswer(row["status_code"], stored)
        opened = json.loads(self._cipher.decrypt(base64.b64decode(stored["sealed"]), scope.aad))
        return StoredAnswer(row["status_code"], opened["body"], opened["headers"])


def vars_of(scope: Scope) -> dict[str, str]:
    return {"principal": scope.principal, "route": scope.route, "key": scope.key}
