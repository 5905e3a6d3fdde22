"""The verifier as deployed: `govcred verifier serve` under gunicorn, two services sharing one
verifier database (or Redis). A fresh verifier reports ready only once it holds the issuers'
keys and lists, so its first answer for a valid permit is valid; a presentation one process
accepted is refused by the other."""

from __future__ import annotations

import json

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


@pytest.mark.parametrize("shared", ["database", pytest.param("redis", marks=pytest.mark.redis)])
def test_two_gunicorn_verifiers_first_answer_valid_and_a_presentation_used_once(
    sqlite_runtime, tmp_path, request, shared
):
    rt = sqlite_runtime
    rt.clock.set(utcnow())  # the served verifiers run on the real clock
    cred = make_credential(rt)
    trust = trust_file(tmp_path, publish(rt, tmp_path / "trust"))
    data = tmp_path / "var"
    out = CliRunner().invoke(build_cli(), ["--data-dir", str(data), "verifier-client", "add", "青田县人民医院"])
    key = out.output.strip().splitlines()[-1]
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
