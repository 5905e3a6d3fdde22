"""Single use of presentations: a ``jti`` seen once answers PRESENTATION_REPLAYED after.

Shared by every verifier process: Redis (``SET key NX EX``, atomic on the server) when
``GOVCRED_VERIFIER_REDIS_URL`` is set, else a table of the verifier database whose primary key
makes the second insert fail. An entry is kept until the presentation could no longer verify
anyway (its ``exp`` plus the leeway), then forgotten. Only a digest of issuer and jti is stored.

:class:`MemoryReplayCache` serves one process (the library, ``govcred verify`` offline).
"""

from __future__ import annotations

import hashlib
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from govcred.verifier.db import seen_presentations

#: Forget expired entries once every this many insertions (a DELETE per request would cost more).
SWEEP_EVERY = 256


def replay_key(iss: str, jti: str) -> str:
    return hashlib.sha256(f"{iss}\x00{jti}".encode()).hexdigest()


class MemoryReplayCache:
    def __init__(self):
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_use(self, iss: str, jti: str, *, until: float, now: float) -> bool:
        key = replay_key(iss, jti)
        with self._lock:
            if len(self._seen) > 100_000:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
            if self._seen.get(key, 0) > now:
                return False
            self._seen[key] = until
            return True


class DatabaseReplayCache:
    def __init__(self, engine: Engine):
        self._engine = engine
        self._inserts = 0

    def first_use(self, iss: str, jti: str, *, until: float, now: float) -> bool:
        key = replay_key(iss, jti)
        self._inserts += 1
        try:
            with self._engine.begin() as conn:
                if self._inserts % SWEEP_EVERY == 0:
                    conn.execute(sa.delete(seen_presentations).where(seen_presentations.c.until < now))
                conn.execute(sa.insert(seen_presentations).values(key=key, until=until))
        except IntegrityError:
            return False
        return True


class RedisReplayCache:
    def __init__(self, url: str, *, prefix: str = "govcred:verifier:seen:"):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix

    def first_use(self, iss: str, jti: str, *, until: float, now: float) -> bool:
        ttl = max(1, int(until - now) + 1)
        return bool(self._redis.set(self._prefix + replay_key(iss, jti), b"1", nx=True, ex=ttl))


def replay_cache_for(engine: Engine, redis_url: str | None):
    return RedisReplayCache(redis_url) if redis_url else DatabaseReplayCache(engine)
