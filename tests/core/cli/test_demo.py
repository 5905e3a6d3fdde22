"""``govcred demo`` runs the whole journey and its files verify offline with ``govcred verify``."""

from __future__ import annotations

import json

from click.testing import CliRunner

from govcred.core.cli import build_cli
from govcred.testing import TEST_ENV


def test_demo_files_verify_offline(tmp_path, monkeypatch):
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GOVCRED_DATABASE_URL", raising=False)
    data, out = tmp_path / "var", tmp_path / "demo"
    runner = CliRunner()
    result = runner.invoke(build_cli(), ["--data-dir", str(data), "demo", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {p.name for p in out.iterdir()} >= {"credential.jwt", "credential.png", "jwks.json", "status-list.jwt"}
    assert summary["outbox"] == {"sms": 2, "provincial_push": 1}
    args = [
        str(out / "credential.png"),
        "--jwks",
        str(out / "jwks.json"),
        "--status-list",
        str(out / "status-list.jwt"),
        "--benefit",
        "compulsory_education",
        "--json",
    ]
    verified = runner.invoke(build_cli(), ["--data-dir", str(data), "verify", *args])
    assert verified.exit_code == 0, verified.output
    answer = json.loads(verified.stdout)
    assert answer["valid"] is True and answer["benefit"] == {"code": "compulsory_education", "qualifies": True}
    # a second run on the same data directory is a second person, not a refused duplicate
    again = runner.invoke(build_cli(), ["--data-dir", str(data), "demo", "--out", str(tmp_path / "demo2"), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["credential_id"] != summary["credential_id"]
