"""The verifier's cache against the issuer app served on 127.0.0.1: keys, the list index and the
lists over HTTP; an outage keeps the last good copies (and their fetched_at) until they age out,
and a recovered issuer brings fresh ones (security-checklist Q-03)."""

from __future__ import annotations

import datetime as dt
import threading

from werkzeug.serving import make_server

from govcred.core.accounts.officers import Principal
from govcred.core.services.credential_status import change_status
from govcred.core.web import create_app
from govcred.verifier.cache import TrustCache
from govcred.verifier.check import Verifier
from govcred.verifier.trust import parse_trust
from tests.core.credential_rows import make_credential


class Served:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_refresh_over_http_outage_and_recovery(sqlite_runtime, monkeypatch):
    rt = sqlite_runtime
    cred = make_credential(rt)
    issuer_app = create_app(rt)
    served = Served(issuer_app)
    base = f"http://127.0.0.1:{served.port}"
    iss = rt.settings.issuer
    trust = parse_trust(
        {
            "benefit_plugins": [],
            "issuer": [{"iss": iss, "jwks": iss + "/.well-known/jwks.json", "status_lists": iss + "/status"}],
        }
    )
    urls = {}

    def fetch(source: str) -> bytes:
        from govcred.verifier.cache import fetch_source

        # the issuer's public URL is served on 127.0.0.1 here, on whatever port it got
        return fetch_source(source.replace(rt.settings.issuer, urls["base"]))

    urls["base"] = base
    cache = TrustCache(trust, clock=rt.clock, fetch=fetch)
    assert cache.refresh() == []
    verifier = Verifier(cache)
    assert verifier.verify_text(cred.token).valid
    uri = cred.claims["status"]["status_list"]["uri"]
    fetched_at = cache.held_list(uri).fetched_at

    served.stop()  # the issuer is down
    rt.clock.advance(seconds=600)
    problems = cache.refresh()
    assert len(problems) == 3 and cache.held_list(uri).fetched_at == fetched_at
    assert verifier.verify_text(cred.token).valid  # the last good copy is still young enough

    rt.clock.set(dt.datetime.fromtimestamp(cache.held_list(uri).usable_until(), dt.UTC))
    answer = verifier.verify_text(cred.token)
    assert (answer.valid, answer.reasons) == (False, ["STATUS_UNAVAILABLE"])

    change_status(
        rt.collaborators,
        cred.id,
        "suspended",
        reason="核查",
        principal=Principal("officer", "r", "reviewer", factor_at=rt.clock.now()),
    )
    served = Served(issuer_app)  # back, on a new port
    urls["base"] = f"http://127.0.0.1:{served.port}"
    try:
        assert cache.refresh() == []
        assert verifier.verify_text(cred.token).reasons == ["SUSPENDED"]
    finally:
        served.stop()
