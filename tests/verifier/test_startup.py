"""A verifier always starts: stored copies it can no longer accept are skipped with a warning (copies of issuers it no
longer trusts: one line for all),
a list that aged out while it was down answers STATUS_UNAVAILABLE until a fresh one is fetched,
and /healthz says ready only once every trusted issuer's keys and lists are held."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

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
