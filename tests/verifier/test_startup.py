"""A verifier always starts: stored copies it can no longer accept are skipped with a warning (copies of issuers it no
longer trusts: one line for all),
a list that aged out while it was down answers STATUS_UNAVAILABLE until a fresh one is fetched,
and /healthz says ready only once every trusted issuer's keys and lists are held."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govcred.verifier.app import create_app
from tests.core.credential_rows import make_credential
from tests.verifier.issuers import LISHUI, issuer_runtime, publish, trust_of


def verifier(trust, tmp_path, clock):
    config = {"trust": trust, "data_dir": tmp_path / "verifier", "clock": clock, "background_refresh": False}
    app = create_app(config)
    return app, app.extensions["verifier"]


def test_restarted_after_its_lists_expired_it_starts_and_answers_unavailable_until_fresh(
    sqlite_runtime, tmp_path, caplog
):
    rt = sqlite_runtime
    cred = make_credential(rt)
    entry = publish(rt, tmp_path / "trust")
    app, state = verifier(trust_of(entry), tmp_path, rt.clock)
    assert state.verifier.verify_text(cred.token).valid and app.test_client().get("/healthz").status_code == 200

    # down for longer than the list lives; the issuer is unreachable when it comes back
    uri = cred.claims["status"]["status_list"]["uri"]
    rt.clock.set(dt.datetime.fromtimestamp(state.cache.held_list(uri).status_list.exp + 120, dt.UTC))
    for path in entry.status_list_files:
        open(path, "w").write("<html>502 Bad Gateway</html>")
    caplog.set_level(logging.WARNING)
    app, state = verifier(trust_of(entry), tmp_path, rt.clock)
    assert "restore: 存档 list:" in caplog.text and "无法使用，未恢复" in caplog.text
    answer = state.verifier.verify_text(cred.token)
    assert (answer.valid, answer.reasons) == (False, ["STATUS_UNAVAILABLE"])
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["ready"] is False

    publish(rt, tmp_path / "trust")  # the issuer is back with fresh lists
    assert state.cache.refresh() == []
    assert state.verifier.verify_text(cred.token).valid
    assert app.test_client().get("/healthz").get_json()["ready"] is True


def test_an_issuer_dropped_from_the_trust_file_does_not_stop_the_start(
    sqlite_runtime, sqlite_template, tmp_path, caplog
):
    qingtian = sqlite_runtime
    lishui = issuer_runtime(tmp_path, sqlite_template, qingtian.clock, LISHUI)
    ours, theirs = make_credential(qingtian), make_credential(lishui)
    both = trust_of(publish(qingtian, tmp_path / "qt"), publish(lishui, tmp_path / "ls"))
    _app, state = verifier(both, tmp_path, qingtian.clock)
    assert state.verifier.verify_text(theirs.token).valid

    caplog.set_level(logging.WARNING)
    only_ours = dataclasses.replace(both, issuers=both.issuers[:1])
    _app, state = verifier(only_ours, tmp_path, qingtian.clock)
    assert "不在当前信任来源中，未恢复" in caplog.text
    assert state.verifier.verify_text(ours.token).valid
    assert state.verifier.verify_text(theirs.token).reasons == ["UNKNOWN_ISSUER"]


def test_not_ready_until_the_first_refresh_round_holds_everything(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    cred = make_credential(rt)
    entry = publish(rt, tmp_path / "trust")
    missing = dataclasses.replace(entry, status_list_files=(str(tmp_path / "not-there.jwt"),))
    app, state = verifier(trust_of(missing), tmp_path, rt.clock)
    assert app.test_client().get("/healthz").status_code == 503
    assert state.verifier.verify_text(cred.token).reasons == ["STATUS_UNAVAILABLE"]


def test_an_issuer_answering_json_nested_too_deep_does_not_stop_the_others_refresh(
    sqlite_runtime, sqlite_template, tmp_path
):
    """A JWKS of 100,000 '[' made the parser's RecursionError (no ValueError) end the whole
    refresh round: every issuer after that one went unrefreshed, and the verifier never became
    ready. Found by fuzzing what the verifier fetches."""
    qingtian = sqlite_runtime
    lishui = issuer_runtime(tmp_path, sqlite_template, qingtian.clock, LISHUI)
    theirs = make_credential(lishui)
    broken, fine = publish(qingtian, tmp_path / "qt"), publish(lishui, tmp_path / "ls")
    open(broken.jwks, "w").write("[" * 100_000)
    app, state = verifier(trust_of(broken, fine), tmp_path, qingtian.clock)
    problems = state.cache.last_problems
    assert any(p.startswith(f"{broken.iss}: keys not refreshed (RecursionError") for p in problems), problems
    assert state.verifier.verify_text(theirs.token).valid  # the issuer after it was refreshed
    assert app.test_client().get("/healthz").status_code == 503  # not everything is held


def test_a_server_that_does_not_speak_http_is_a_refresh_problem_like_any_other(sqlite_runtime, tmp_path):
    """urllib raises http.client's BadStatusLine (no OSError) for such an answer; fetch_source
    promises OSError on any failure, so it is the same problem as a refused connection."""
    import socket
    import threading

    from govcred.verifier.cache import fetch_source

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer_garbage():
        for _ in range(2):
            conn, _ = server.accept()
            conn.recv(65536)
            conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
            conn.close()

    threading.Thread(target=answer_garbage, daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/jwks.json"
    try:
        with pytest.raises(OSError, match="BadStatusLine"):
            fetch_source(url)
        entry = dataclasses.replace(publish(sqlite_runtime, tmp_path / "trust"), jwks=url)
        _app, state = verifier(trust_of(entry), tmp_path, sqlite_runtime.clock)
        assert any("keys not refreshed (OSError" in p and "BadStatusLine" in p for p in state.cache.last_problems)
    finally:
        server.close()


def test_a_fetch_hook_raising_anything_stops_only_that_issuers_refresh(sqlite_runtime, sqlite_template, tmp_path):
    """VerifierConfig.fetch is an integrator's hook (a proxy, a client certificate): whatever
    it raises for one issuer's source, the issuers after it are still refreshed."""
    qingtian = sqlite_runtime
    lishui = issuer_runtime(tmp_path, sqlite_template, qingtian.clock, LISHUI)
    theirs = make_credential(lishui)
    broken, fine = publish(qingtian, tmp_path / "qt"), publish(lishui, tmp_path / "ls")

    def fetch(source: str) -> bytes:
        if source == broken.jwks:
            raise RuntimeError("the proxy client broke")
        return open(source, "rb").read()

    config = {"trust": trust_of(broken, fine), "data_dir": tmp_path / "verifier", "clock": qingtian.clock}
    app = create_app({**config, "background_refresh": False, "fetch": fetch})
    state = app.extensions["verifier"]
    assert any(p.startswith(f"{broken.iss}: not refreshed (RuntimeError") for p in state.cache.last_problems), (
        state.cache.last_problems
    )
    assert state.verifier.verify_text(theirs.token).valid


@settings(max_examples=150, deadline=None)
@given(
    jwks=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["keys", "kty", "crv", "x", "y", "kid", "alg", "use"]), inner, max_size=5
                )
            ),
            max_leaves=12,
        ).map(lambda value: json.dumps(value).encode()),
        st.just(b"[" * 5000),
    ),
    index=st.binary(max_size=100),
    token=st.text(max_size=200),
)
def test_whatever_a_source_answers_refresh_names_a_problem_and_verify_answers(jwks, index, token):
    """Property test over what a verifier fetches (found the RecursionError above)."""
    from govcred.verifier.cache import TrustCache
    from govcred.verifier.check import Verifier
    from govcred.verifier.trust import TrustConfig, TrustedIssuer

    sources = {"jwks": jwks, "index": index}

    def fetch(source: str) -> bytes:
        if source not in sources:
            raise OSError(f"{source}: not there")
        return sources[source]

    cache = TrustCache(
        TrustConfig((TrustedIssuer("https://qt.example.gov.cn", "青田", "jwks", "index", ()),), ()), fetch=fetch
    )
    assert isinstance(cache.refresh(), list)
    assert Verifier(cache).verify_text(token).valid in (True, False)
