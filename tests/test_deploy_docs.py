"""docs/deploy.md's files are valid: the systemd units pass ``systemd-analyze verify`` (where
the machine has it) and the compose file parses and describes the layout the page promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy"
UNITS = ("govcred.service", "govcred-worker@.service")


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_units_verify(unit, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    text = (DEPLOY / unit).read_text(encoding="utf-8")
    assert "/opt/govcred/.venv/bin/govcred" in text
    # verify checks that ExecStart's program exists: point it at this environment's govcred
    local = tmp_path / (unit.replace("@", "@1") if unit.endswith("@.service") else unit)
    local.write_text(text.replace("/opt/govcred/.venv/bin/govcred", str(Path(sys.executable).with_name("govcred"))))
    run = subprocess.run([analyze, "verify", str(local)], capture_output=True, text=True, timeout=60)
    problems = [
        line
        for line in (run.stdout + run.stderr).splitlines()
        if line.strip() and local.name in line  # not the host's own units' complaints
    ]
    assert run.returncode == 0 or not problems, run.stdout + run.stderr
    assert problems == [], problems


def test_the_issuer_unit_reloads_with_hup_and_serves_under_gunicorn():
    text = (DEPLOY / "govcred.service").read_text(encoding="utf-8")
    assert "ExecReload=/bin/kill -HUP $MAINPID" in text
    assert " serve " in text and "--dev" not in text


def test_compose_file_describes_the_production_layout():
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = doc["services"]
    assert {"proxy", "issuer", "verifier", "worker", "postgres", "redis"} <= set(services)
    issuer = services["issuer"]
    assert issuer["command"][:4] == ["govcred", "--data-dir", "/var/lib/govcred", "serve"]
    assert "/readyz" in " ".join(issuer["healthcheck"]["test"])
    assert issuer["environment"]["GOVCRED_MODE"] == "production"
    assert issuer["environment"]["GOVCRED_ISSUER"].startswith("https://")
    assert services["worker"]["command"][3] == "worker" and services["worker"]["deploy"]["replicas"] >= 2
    assert services["worker"]["environment"] == issuer["environment"]  # the same settings (YAML anchor)
    assert services["proxy"]["ports"] == ["443:443"]
    assert "GOVCRED_VERIFIER_REDIS_URL" in services["verifier"]["environment"]


def test_deploy_page_names_its_files():
    page = (DEPLOY.parent / "deploy.md").read_text(encoding="utf-8")
    for name in (*UNITS, "compose.yaml"):
        assert f"deploy/{name}" in page
