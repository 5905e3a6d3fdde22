"""Issuer keys and status lists, held in memory and refreshed on a schedule.

Requests only read what is here; nothing a token says makes the verifier fetch anything
(security-checklist J-03, Q-03). A background thread refreshes every ``interval`` seconds; a
credential naming a list of a trusted issuer that is not held yet only wakes that thread
early, and its own answer is STATUS_UNAVAILABLE. A failed fetch keeps the last good copy with
the time it was fetched; a copy past its usable age is STATUS_UNAVAILABLE, never valid.
"""

from __future__ import annotations

import functools
import http.client
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from govcred.core.exceptions import GovcredError, KeyStoreError, VerificationError
from govcred.core.file_problems import UNREADABLE
from govcred.core.keys import KeySet
from govcred.core.outages import outage_kind
from govcred.verifier.statuslist import StatusList, parse_status_list
from govcred.verifier.trust import TrustConfig, TrustedIssuer
from govcred.verifier.trustlist import SignedTrustList, TrustListRefused, TrustListSource, read_trust_list

log = logging.getLogger("govcred.verifier.cache")

#: Largest document fetched (a JWKS or a status-list token).
MAX_FETCH_BYTES = 600 * 1024
FETCH_TIMEOUT_SECONDS = 10
#: A list is usable at most this many of its own ``ttl`` periods after it was fetched.
MAX_AGE_TTL_PERIODS = 4
#: Policy ceilings whatever a list or key set says (security-checklist Q-03).
LIST_POLICY_MAX_AGE = 24 * 3600
KEYS_POLICY_MAX_AGE = 7 * 24 * 3600

Fetch = Callable[[str], bytes]
#: How soon a verifier that does not hold everything yet tries again.
NOT_READY_RETRY_SECONDS = 3.0


def fetch_source(source: str) -> bytes:
    """Read a URL (http/https) or a file, at most ``MAX_FETCH_BYTES``; OSError on any failure."""
    if source.startswith(("https://", "http://")):
        request = urllib.request.Request(source, headers={"Accept": "application/statuslist+jwt, application/json"})
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
                body = response.read(MAX_FETCH_BYTES + 1)
        except http.client.HTTPException as exc:  # no OSError: a server that does not speak HTTP, a cut body
            raise OSError(f"{source}: {type(exc).__name__}: {exc}") from None
    else:
        with open(source, "rb") as fh:
            body = fh.read(MAX_FETCH_BYTES + 1)
    if len(body) > MAX_FETCH_BYTES:
        raise OSError(f"{source} is larger than {MAX_FETCH_BYTES} bytes")
    return body


@dataclass(frozen=True)
class HeldKeys:
    keys: KeySet
    fetched_at: float


@dataclass(frozen=True)
class HeldList:
    status_list: StatusList
    fetched_at: float

    def __post_init__(self):
        # read on every verification: computed once
        age = min(LIST_POLICY_MAX_AGE, MAX_AGE_TTL_PERIODS * self.status_list.ttl)
        object.__setattr__(self, "_usable_until", min(self.status_list.exp, self.fetched_at + age))

    def usable_until(self) -> float:
        return self._usable_until


@dataclass(frozen=True)
class Holding:
    """One thing the verifier holds to verify with, and until when it may use it: an issuer's
    keys, one of its status lists, or the province's signed trust list (what an operator
    watches on ``/metrics``: a list nearing ``usable_until`` is an issuer that stopped publishing)."""

    what: str  # "keys", "status_list" or "trust_list"
    issuer: str  # the issuer's iss; the province for the trust list
    source: str  # the JWKS or list URL/file, the list's uri, the trust list's source
    fetched_at: float | None  # None for the trust list, which is dated by its own issued_at
    usable_until: float


#: What fetching and reading a source raises when its content cannot be used: what reading any
#: file's content raises (nesting too deep included), or a refusal of what it holds
_UNUSABLE = (*UNREADABLE, GovcredError)


#: Where the adopted signed trust list and the highest version ever adopted are stored.
TRUST_LIST_COPY, TRUST_VERSION_COPY = "trust-list", "trust-list:version"


class TrustCache:
    """What requests verify against; ``trust_list``: the issuers come from the province's
    signed list (adopted on each refresh, never rolled back) instead of ``trust``."""

    def __init__(
        self,
        trust: TrustConfig,
        *,
        clock=None,
        fetch: Fetch = fetch_source,
        store=None,
        leeway: int = 60,
        trust_list: TrustListSource | None = None,
    ):
        self.trust = trust
        self._trust_list_source = trust_list
        self.trust_list: SignedTrustList | None = None
        self._trust_version = 0
        self._issuers = trust.by_iss()
        self._issuer_names = frozenset(self._issuers)
        self.clock = clock
        self._fetch = fetch
        self._store = store
        self._leeway = leeway
        self._keys: dict[str, HeldKeys] = {}
        #: kid -> iss over every trusted issuer, so a token's header picks its key set
        self._kid_issuer: dict[str, str] = {}
        self._lists: dict[str, HeldList] = {}
        self._wanted: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_problems: list[str] = []
        #: True once one refresh round met no problem and holds every trusted issuer's keys and
        #: fresh lists (and the signed trust list, when one is configured); stays True after
        self.ready = False

    def now(self) -> float:
        return self.clock.now().timestamp() if self.clock is not None else time.time()

    @property
    def issuers(self) -> frozenset[str]:
        return self._issuer_names

    # -- what requests read ---------------------------------------------------------------
    def keyset(self, iss: str | None) -> KeySet:
        if self._trust_list_source is not None:
            # without a current provincial list the verifier cannot say who is trusted
            if self.trust_list is None:
                raise VerificationError("STATUS_UNAVAILABLE", "TRUST_LIST_NOT_LOADED")
            if self.now() >= self.trust_list.expires_at:
                raise VerificationError("STATUS_UNAVAILABLE", "TRUST_LIST_EXPIRED")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise VerificationError("UNKNOWN_ISSUER", "ISSUER_NOT_TRUSTED")
        held = self._keys.get(iss)
        if held is None:
            raise VerificationError("UNKNOWN_ISSUER", "KEYS_NOT_LOADED")
        if self.now() > held.fetched_at + KEYS_POLICY_MAX_AGE:
            raise VerificationError("UNKNOWN_ISSUER", "KEYS_STALE")
        return held.keys

    def check_scope(self, claims: dict) -> None:
        """ISSUER_OUT_OF_SCOPE when verified claims lie outside their issuer's divisions or types."""
        self._issuers[claims["iss"]].check_scope(claims)

    def issuer_of_kid(self, kid: str) -> str | None:
        """The trusted issuer that published ``kid`` (a dict lookup; None when none did)."""
        return self._kid_issuer.get(kid)

    def status_list(self, uri: str, iss: str) -> StatusList:
        held = self._lists.get(uri)
        if held is not None and held.status_list.issuer != iss:
            raise VerificationError("STATUS_UNAVAILABLE", "LIST_NOT_OF_ISSUER")
        if held is None:
            issuer = self._issuers.get(iss)
            if issuer is None or not issuer.owns_list(uri):
                raise VerificationError("STATUS_UNAVAILABLE", "LIST_NOT_OF_ISSUER")
            with self._lock:
                if uri not in self._wanted:
                    self._wanted.add(uri)
                    self._wake.set()
            raise VerificationError("STATUS_UNAVAILABLE", "LIST_NOT_LOADED")
        if self.now() >= held.usable_until():
            raise VerificationError("STATUS_UNAVAILABLE", "LIST_STALE")
        return held.status_list

    def held_list(self, uri: str) -> HeldList | None:
        return self._lists.get(uri)

    def holdings(self) -> list[Holding]:
        """What is held now, each with until when it may be used (keys, lists, trust list)."""
        held = [
            Holding("keys", iss, self._issuers[iss].jwks, keys.fetched_at, keys.fetched_at + KEYS_POLICY_MAX_AGE)
            for iss, keys in sorted(self._keys.items())
            if iss in self._issuers
        ]
        held += [
            Holding("status_list", item.status_list.issuer, uri, item.fetched_at, item.usable_until())
            for uri, item in sorted(self._lists.items())
        ]
        if self.trust_list is not None and self._trust_list_source is not None:
            signed = self.trust_list
            held.append(Holding("trust_list", signed.province, self._trust_list_source.source, None, signed.expires_at))
        return held

    # -- refreshing -----------------------------------------------------------------------
    def restore(self) -> None:
        """Load last good copies from the store (a restart keeps their original fetched_at)."""
        if self._store is None:
            return
        copies = self._store.load()
        if TRUST_VERSION_COPY in copies:
            self._trust_version = int(copies[TRUST_VERSION_COPY][0])
        if self._trust_list_source is not None and TRUST_LIST_COPY in copies:
            self._restore_trust_list(copies[TRUST_LIST_COPY][0])
        for issuer in self.trust.issuers:
            if issuer.jwks in copies:
                body, fetched_at = copies[issuer.jwks]
                self._restore_copy(issuer.jwks, functools.partial(self._accept_keys, issuer, body, fetched_at))
        untrusted: dict[str, int] = {}
        for source, (body, fetched_at) in copies.items():
            if not source.startswith("list:"):
                continue
            if (iss := _peek_issuer(body)) is not None and iss not in self._issuers:
                # a copy of an issuer the trust source does not list (now): not a fault of the
                # copy, e.g. the verifier moved from a trust file to the signed list; named once
                untrusted[iss] = untrusted.get(iss, 0) + 1
                continue
            accept = functools.partial(self._accept_list_token, source[5:], body, fetched_at, persist=False)
            self._restore_copy(source, accept)
        if untrusted:
            log.warning(
                "restore: 存档中 %d 份状态列表的签发机关（%s）不在当前信任来源中，未恢复；若其仍受信任，将重新获取 "
                "(skipped: issuer not in the trust source)",
                sum(untrusted.values()),
                "、".join(sorted(untrusted)),
            )

    @staticmethod
    def _restore_copy(source: str, accept: Callable[[], None]) -> None:
        """A stored copy this verifier can no longer accept (the list expired while it was down)
        is skipped: the verifier starts and fetches anew."""
        try:
            accept()
        except (ValueError, GovcredError) as exc:
            log.warning("restore: 存档 %s 无法使用，未恢复，将重新获取 (skipped: %s)", source, _describe(exc))

    def refresh(self) -> list[str]:
        """One round over every issuer: keys, then lists. Returns the problems met (also logged)."""
        problems: list[str] = []
        if self._trust_list_source is not None:
            problems += self._isolated(self._refresh_trust_list, f"trust list {self._trust_list_source.source}")
        for issuer in self.trust.issuers:
            problems += self._isolated(functools.partial(self._refresh_issuer, issuer), issuer.iss)
        for problem in problems:
            log.warning("refresh: %s", problem)
        self.last_problems = problems
        if not self.ready and not problems and self._holds_everything():
            self.ready = True
            log.info("ready: keys and status lists of %d issuer(s) held", len(self._issuers))
        return problems

    @staticmethod
    def _isolated(refresh: Callable[[], list[str]], what: str) -> list[str]:
        """``refresh()``'s problems; whatever it raises is one more problem, so that a source
        answering something no parser expected (JSON nested thousands deep, a list where an
        object belongs) never stops the refresh of the issuers after it."""
        try:
            return refresh()
        except Exception as exc:
            log.exception("refresh of %s failed", what)
            return [f"{what}: not refreshed ({_describe(exc)}); keeping the last good copies"]

    def _holds_everything(self) -> bool:
        if self._trust_list_source is not None and self.trust_list is None:
            return False
        now = self.now()
        for issuer in self.trust.issuers:
            if issuer.iss not in self._keys:
                return False
        if any(now >= held.usable_until() for held in self._lists.values()):
            return False
        with self._lock:
            return not self._wanted

    def _restore_trust_list(self, body: bytes) -> None:
        try:
            signed = read_trust_list(
                body, self._trust_list_source.root, held_version=self._trust_version, clock=self.clock
            )
        except TrustListRefused as exc:
            log.warning("restore: 存档的信任列表未采用，将重新获取 (%s: %s)", exc.reason, exc.message)
            return
        self._adopt(signed, persist=False)

    def _refresh_trust_list(self) -> list[str]:
        source = self._trust_list_source
        held = self.trust_list
        try:
            signed = read_trust_list(
                self._fetch(source.source),
                source.root,
                held_version=self._trust_version,
                held_token=held.token if held is not None and held.version == self._trust_version else None,
                clock=self.clock,
            )
        except (OSError, TrustListRefused) as exc:
            reason = f"{exc.reason}: {exc.message}" if isinstance(exc, TrustListRefused) else _describe(exc)
            return [f"trust list {source.source} not adopted ({reason}); keeping the one held"]
        if held is None or signed.token != held.token:
            self._adopt(signed, persist=True)
        return []

    def _adopt(self, signed: SignedTrustList, *, persist: bool) -> None:
        """Trust exactly the list's issuers from now on; what was held of others is dropped."""
        self.trust = TrustConfig(signed.issuers, self.trust.benefit_plugins)
        issuers = self.trust.by_iss()
        self._keys = {iss: held for iss, held in self._keys.items() if iss in issuers}
        self._lists = {uri: held for uri, held in self._lists.items() if held.status_list.issuer in issuers}
        self._kid_issuer = _kid_index(self._keys)
        self._issuers, self._issuer_names = issuers, frozenset(issuers)
        self.trust_list, self._trust_version = signed, signed.version
        if persist:
            self._keep_copy(TRUST_LIST_COPY, signed.token.encode("ascii"), self.now())
            self._keep_copy(TRUST_VERSION_COPY, str(signed.version).encode("ascii"), self.now())

    def _refresh_issuer(self, issuer: TrustedIssuer) -> list[str]:
        problems = []
        try:
            body = self._fetch(issuer.jwks)
            self._accept_keys(issuer, body, self.now())
            self._keep_copy(issuer.jwks, body, self._keys[issuer.iss].fetched_at)
        except _UNUSABLE as exc:
            problems.append(f"{issuer.iss}: keys not refreshed ({_describe(exc)}); keeping the last good copy")
        if issuer.iss not in self._keys:
            return problems
        # Lists from files first: a list a file holds is not fetched again by its URI.
        from_files: set[str] = set()
        for path in issuer.status_list_files:
            try:
                from_files.add(
                    self._accept_list_token(None, self._fetch(path), self.now(), persist=True, issuer=issuer)
                )
            except _UNUSABLE as exc:
                problems.append(f"{path}: status list not refreshed ({_describe(exc)}); keeping the last good copy")
        uris = {u for u in self._lists if issuer.owns_list(u)}
        with self._lock:
            uris |= {u for u in self._wanted if issuer.owns_list(u)}
        if issuer.status_lists:
            try:
                listed = json.loads(self._fetch(issuer.status_lists))["status_lists"]
                uris |= {u for u in listed if issuer.owns_list(u)}
            except (*_UNUSABLE, KeyError, TypeError) as exc:
                problems.append(f"{issuer.iss}: list index not refreshed ({_describe(exc)})")
        for uri in sorted(uris - from_files):
            try:
                self._accept_list_token(uri, self._fetch(uri), self.now(), persist=True, issuer=issuer)
            except _UNUSABLE as exc:
                problems.append(f"{uri}: status list not refreshed ({_describe(exc)}); keeping the last good copy")
        return problems

    def _accept_keys(self, issuer: TrustedIssuer, body: bytes, fetched_at: float) -> None:
        keys = KeySet.from_jwks(json.loads(body), issuer.iss)
        self._keys[issuer.iss] = HeldKeys(keys, fetched_at)
        revoked = {r.kid for r in keys.revoked()}
        if revoked:  # a held list signed by a key revoked since is a token of that key: dropped
            self._lists = {
                uri: held
                for uri, held in self._lists.items()
                if held.status_list.issuer != issuer.iss or held.status_list.kid not in revoked
            }
        self._kid_issuer = _kid_index(self._keys)

    def _accept_list_token(
        self, uri: str | None, body: bytes, fetched_at: float, *, persist: bool, issuer: TrustedIssuer | None = None
    ) -> str:
        """Verify and hold a list token (``uri`` None: a file, which names itself); its URI."""
        token = body.strip()
        # Unverified peeks only pick the key set and the name; parse_status_list verifies both.
        issuer = issuer or self._issuers.get(_peek(token, "iss"))
        if issuer is None:
            raise VerificationError("STATUS_UNAVAILABLE", "LIST_OF_UNTRUSTED_ISSUER")
        if uri is None:  # a list file: it names itself, and must lie below its issuer
            uri = _peek(token, "sub")
            if not issuer.owns_list(uri):
                raise VerificationError("STATUS_UNAVAILABLE", "LIST_NOT_OF_ISSUER")
        held = self._keys.get(issuer.iss)
        if held is None:
            raise VerificationError("STATUS_UNAVAILABLE", "KEYS_NOT_LOADED")
        parsed = parse_status_list(token, held.keys, uri, clock=self.clock, leeway=self._leeway)
        current = self._lists.get(uri)
        if current is not None and current.status_list.iat > parsed.iat:
            raise VerificationError("STATUS_UNAVAILABLE", "LIST_OLDER_THAN_HELD")  # a rollback
        self._lists[uri] = HeldList(parsed, fetched_at)
        with self._lock:
            self._wanted.discard(uri)
        if persist:
            self._keep_copy("list:" + uri, token, fetched_at)
        return uri

    def _keep_copy(self, source: str, body: bytes, fetched_at: float) -> None:
        """Keep what was just accepted for the next start. A store that cannot take it now (its
        disk full, its database away) costs only the copy: the keys or list are held and used,
        and the rest of the round goes on -- before, the round stopped there, and a long full
        disk let the held lists lapse into STATUS_UNAVAILABLE."""
        if self._store is None:
            return
        try:
            self._store.save(source, body, fetched_at)
        except Exception as exc:
            kind = outage_kind(exc)
            if kind is None:
                raise
            log.warning("could not keep a copy of %s for the next start: %s (%s)", source, kind, type(exc).__name__)

    # -- the background thread --------------------------------------------------------------
    def start(self, interval: float) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(interval,), name="verifier-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self, interval: float) -> None:
        # The first round runs at once (the service reports ready only after it), and until
        # everything is held the rounds come every few seconds rather than every ``interval``.
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # the thread must survive anything one round meets
                log.exception("refresh round failed")
            self._wake.wait(interval if self.ready else min(interval, NOT_READY_RETRY_SECONDS))
            self._wake.clear()


def _kid_index(keys: dict[str, HeldKeys]) -> dict[str, str | None]:
    """kid -> the issuer that published it; a kid two issuers share (a collision, or a copied
    key) selects no one here, and the token's ``iss`` picks the key set instead."""
    index: dict[str, str | None] = {}
    for iss, held in keys.items():
        for kid in held.keys.kids():
            index[kid] = None if kid in index else iss
    return index


def _peek_issuer(token: bytes) -> str | None:
    """The unverified iss of a stored list token, or None when it has none to read."""
    try:
        return _peek(token.strip(), "iss")
    except VerificationError:
        return None


def _peek(token: bytes, name: str) -> str:
    """A string claim of a list token, read WITHOUT verifying (the list is verified next)."""
    import base64

    try:
        payload = token.split(b".")[1]
        value = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4))).get(name)
    except (IndexError, ValueError, AttributeError):
        raise VerificationError("STATUS_UNAVAILABLE", "LIST_MALFORMED") from None
    if not isinstance(value, str):
        raise VerificationError("STATUS_UNAVAILABLE", "LIST_MALFORMED")
    return value


def _describe(exc: Exception) -> str:
    if isinstance(exc, VerificationError):
        return exc.detail
    if isinstance(exc, KeyStoreError):
        return exc.message[:200]
    return f"{type(exc).__name__}: {str(exc)[:200]}"
