"""The verifier's WSGI entry (``gunicorn govcred.verifier.wsgi:app``) with settings it cannot
run on: the operator reads every problem, one line each, and gunicorn's "App failed to load"
status, never a traceback; the issuer's entry does the same."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from govcred.core.exceptions import ConfigError
from govcred.verifier.app import VerifierConfig


def _load(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GOVCRED_VERIFIER_")}
    return subprocess.run(
        [sys.executable, "-c", "import govcred.verifier.wsgi"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_wsgi_names_every_problem_without_a_traceback(tmp_path):
    loaded = _load(
        {
            "GOVCRED_VERIFIER_DATA_DIR": str(tmp_path),
            "GOVCRED_VERIFIER_REFRESH_SECONDS": "often",
            "GOVCRED_VERIFIER_LIMIT_VERIFY_PER_ADDRESS": "-1",
        }
    )
    assert loaded.returncode == 4  # gunicorn's APP_LOAD_ERROR: the master stops, no reboot loop
    assert "Traceback" not in loaded.stderr
    lines = loaded.stderr.splitlines()
    assert lines[0] == "配置错误 (configuration error):"
    assert any("须设置 GOVCRED_VERIFIER_TRUST（信任文件）" in line for line in lines[1:])
    assert any("GOVCRED_VERIFIER_REFRESH_SECONDS" in line and "'often'" in line for line in lines[1:])
    assert any("GOVCRED_VERIFIER_LIMIT_VERIFY_PER_ADDRESS" in line for line in lines[1:])


@pytest.mark.parametrize("value", ["often", "1", "nan", "100000"])
def test_refresh_seconds_outside_the_serve_range_is_a_config_error(value):
    with pytest.raises(ConfigError) as refused:
        VerifierConfig.from_env({"GOVCRED_VERIFIER_TRUST": "trust.toml", "GOVCRED_VERIFIER_REFRESH_SECONDS": value})
    assert refused.value.details["problems"] == [
        f"GOVCRED_VERIFIER_REFRESH_SECONDS 应为 5 到 86400 之间的秒数，现为 {value!r}"
    ]


def test_refresh_seconds_in_range_is_taken():
    config = VerifierConfig.from_env({"GOVCRED_VERIFIER_TRUST": "t.toml", "GOVCRED_VERIFIER_REFRESH_SECONDS": "60"})
    assert config.refresh_seconds == 60.0
