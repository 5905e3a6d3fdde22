"""``govcred keys rotate`` and ``keys revoke --compromised`` next to a running ``govcred serve``
with several gunicorn workers (real processes on 127.0.0.1): every worker signs its status
lists with the new key without a restart, the JWKS says what changed, and a verifier refreshing
from the server refuses the revoked key's credential by name."""

from __future__ import annotations

import base64
import json

from govcred.verifier.cache import TrustCache, fetch_source
from govcred.verifier.check import Verifier
from govcred.verifier.trust import parse_trust
from tests.core.serving import Server, env_for, govcred


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def _ok(env, *args) -> str:
    done = govcred(env, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_every_worker_signs_with_the_rotated_then_the_replacement_key(tmp_path):
    env = env_for(tmp_path / "var")
    _ok(env, "init", "--no-demo-accounts")
    _ok(env, "demo", "--out", str(tmp_path / "demo"), "--json")  # one issued credential and its list
    credential = (tmp_path / "demo" / "credential.jwt").read_text().strip()
    first = _kid(credential)
    server = Server(env, tmp_path / "serve.log", "--workers", "3", "--threads", "2")
    try:
        server.wait_ready()
        (uri,) = server.get("/status").json()["status_lists"]
        path = "/status/" + uri.rsplit("/", 1)[1]

        def list_kids() -> set[str]:  # enough requests that each worker answers some
            return {_kid(server.get(path).text) for _ in range(30)}

        assert list_kids() == {first}  # and each worker holds its signed list in its cache

        iss = json.loads(_ok(env, "config", "show"))["issuer"]
        trust = parse_trust(
            {"issuer": [{"iss": iss, "jwks": iss + "/.well-known/jwks.json", "status_lists": iss + "/status"}]}
        )
        cache = TrustCache(trust, fetch=lambda url: fetch_source(url.replace(iss, server.base)))
        verifier = Verifier(cache)

        second = _ok(env, "keys", "rotate").split(": ")[1].split()[0]
        assert list_kids() == {second}
        jwks = server.get("/.well-known/jwks.json").json()
        assert {k["kid"]: "retired_at" in k for k in jwks["keys"]} == {first: True, second: False}

        revoked = json.loads(_ok(env, "keys", "revoke", second, "--compromised", "--reason", "入侵", "--json"))
        third = revoked["replaced_by"]
        assert third not in (None, first, second) and list_kids() == {third}
        jwks = server.get("/.well-known/jwks.json").json()
        assert [k["kid"] for k in jwks["keys"]] == [first, third]
        assert [r["kid"] for r in jwks["revoked_keys"]] == [second]

        assert cache.refresh() == [] and verifier.verify_text(credential).valid  # its key is only retired
        _ok(env, "keys", "revoke", first, "--compromised", "--reason", "旧密钥备份外泄")
        assert cache.refresh() == []
        answer = verifier.verify_text(credential)
        assert (answer.valid, answer.reasons, answer.detail) == (False, ["KEY_REVOKED"], "KEY_COMPROMISED")
    finally:
        assert server.stop() == 0
