"""The stores every process of one verifier service shares, for parametrized tests: the verifier
database on SQLite or PostgreSQL, and Redis."""

from __future__ import annotations

import contextlib

import pytest

from govcred.verifier.db import create_tables, make_verifier_engine

BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]


@contextlib.contextmanager
def shared_store(request, tmp_path):
    """(engine, redis_url or None) for the backend ``request.param`` names."""
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        with server.throwaway() as url:
            engine = make_verifier_engine(url)
            create_tables(engine)
            try:
                yield engine, None
            finally:
                engine.dispose()
        return
    engine = make_verifier_engine(f"sqlite:///{tmp_path / 'verifier.sqlite3'}")
    create_tables(engine)
    redis_url = None
    if request.param == "redis":
        from govcred.testing.components import redis_url as test_redis_url

        request.getfixturevalue("redis_client")  # skips (or fails) when Redis does not answer
        redis_url = test_redis_url()
    try:
        yield engine, redis_url
    finally:
        engine.dispose()
