"""The verifier as deployed: `govcred verifier serve` under gunicorn, two services sharing one
verifier database (or Redis). A fresh verifier reports ready only once it holds the issuers'
keys and lists, so its first answer for a valid permit is valid; a presentation one process
accepted is refused by the other."""

from __future__ import annotations

import json
import socket
import time

import pytest
from click.testing import CliRunner

from govcred.core.cli import build_cli
from govcred.core.clock import utcnow
from govcred.core.presentation import issue_presentation
from tests.core.credential_rows import make_credential
from tests.verifier.issuers import publish
from tests.verifier.served import call, verifier_process


def trust_file(tmp_path, entry):
    path = tmp_path / "trust.toml"
    path.write_text(
        f'benefit_plugins = ["zhejiang_residence"]\n[[issuer]]\niss = "{entry.iss}"\n'
        f'jwks = "{entry.jwks}"\nstatus_list_files = {json.dumps(list(entry.status_list_files))}\n'
    )
    return path


def served_setup(rt, tmp_path, institution: str):
    """(a credential, the trust file, the data directory, an institution's API key) for a
    verifier served on the real clock, as the served verifiers run."""
    rt.clock.set(utcnow())
    cred = make_credential(rt)
    trust = trust_file(tmp_path, publish(rt, tmp_path / "trust"))
    data = tmp_path / "var"
    out = CliRunner().invoke(build_cli(), ["--data-dir", str(data), "verifier-client", "add", institution])
    return cred, trust, data, out.output.strip().splitlines()[-1]


@pytest.mark.parametrize("shared", ["database", pytest.param("redis", marks=pytest.mark.redis)])
def test_two_gunicorn_verifiers_first_answer_valid_and_a_presentation_used_once(
    sqlite_runtime, tmp_path, request, shared
):
    rt = sqlite_runtime
    cred, trust, data, key = served_setup(rt, tmp_path, "青田县人民医院")
    env = {}
    if shared == "redis":
        from govcred.testing.components import redis_url

        request.getfixturevalue("redis_client")
        env["GOVCRED_VERIFIER_REDIS_URL"] = redis_url()
    serve = ("--trust", str(trust), "--workers", "2")
    with verifier_process(data, *serve, env=env) as first, verifier_process(data, *serve, env=env) as second:
        status, answer = call(first, "/api/v1/verify", {"token": cred.token}, key)  # its very first answer
        assert (status, answer["valid"], answer["reasons"]) == (200, True, [])
        token = issue_presentation(rt.collaborators, cred)
        status, answer = call(first, "/api/v1/verify", {"token": token}, key)
        assert (answer["valid"], answer["kind"]) == (True, "presentation")
        for port in (second, first, second):  # whichever process, whichever worker
            status, again = call(port, "/api/v1/verify", {"token": token}, key)
            assert (status, again["valid"], again["reasons"]) == (200, False, ["PRESENTATION_REPLAYED"])


def _scrape(port: int, token: str) -> str:
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def test_under_gunicorn_metrics_sum_every_worker_and_readyz_answers(sqlite_runtime, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    cred, trust, data, key = served_setup(sqlite_runtime, tmp_path, "青田县实验小学")
    token = "scraper-" + "7" * 24
    env = {"GOVCRED_VERIFIER_METRICS_TOKEN": token}
    calls = 16
    serve = ("--trust", str(trust), "--workers", "2", "--threads", "1")  # sync workers: one request each at a time
    with verifier_process(data, *serve, env=env) as port:
        status, ready = call(port, "/readyz")
        assert status == 200 and ready["ready"] is True
        assert [c["name"] for c in ready["checks"]] == ["database", "shared_store", "trust"]
        # one worker held by a request whose body has not arrived yet: the others go to the other
        body = json.dumps({"token": cred.token}).encode()
        held = socket.create_connection(("127.0.0.1", port), timeout=10)
        held.sendall(
            f"POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        time.sleep(0.5)
        for _ in range(calls - 1):
            assert call(port, "/api/v1/verify", {"token": cred.token}, key)[1]["valid"] is True
        held.sendall(body)
        assert b'"valid":true' in held.makefile("rb").read()
        held.close()
        samples = [s for f in text_string_to_metric_families(_scrape(port, token)) for s in f.samples]
        valid = [s.value for s in samples if s.name == "govcred_verifier_verifications_total"]
        assert valid == [calls]  # one figure, whichever worker counted and whichever answers
        runs = list((data / "verifier" / "run").glob("metrics-*"))
        assert len(runs) == 1
        workers = {p.name.rsplit("_", 1)[-1].split(".")[0] for p in runs[0].glob("counter_*.db")}
        assert len(workers) == 2  # both workers' samples are there to be summed
    assert list((data / "verifier" / "run").glob("metrics-*")) == []  # removed when the server stopped


def test_serve_applies_the_limits_the_environment_sets(sqlite_runtime, tmp_path):
    cred, trust, data, key = served_setup(sqlite_runtime, tmp_path, "青田县实验小学")
    env = {"GOVCRED_VERIFIER_LIMIT_VERIFY_PER_ADDRESS": "2"}  # a kiosk network's, set in its unit file
    with verifier_process(data, "--trust", str(trust), "--workers", "2", env=env) as port:
        answers = [call(port, "/api/v1/verify", {"token": cred.token}, key)[0] for _ in range(5)]
    # two a minute: however the five fall on a minute's boundary, some are refused
    assert answers[0] == 200 and answers.count(429) >= 1 and set(answers) == {200, 429}
