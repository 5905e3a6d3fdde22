"""Nothing of govcred lives under a bare top-level name: importing the issuer application,
the verifier and the command line never puts ``core``, ``plugins`` or ``verifier`` into
``sys.modules`` (issue 10: two distributions shipping ``core/`` would overwrite each other).

It runs in a fresh interpreter whose working directory is outside the repository, so the
repository's folders cannot be picked up from the current directory by accident.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from govcred.testing import TEST_ENV
from tests import importgraph

BARE = ("core", "plugins", "verifier")

SCRIPT = """
import importlib, json, sys
from pathlib import Path

data = Path(sys.argv[1])
for name in json.loads(sys.argv[2]):
    importlib.import_module(name)

from govcred.core.cli import build_cli
from govcred.core.config import load_settings
from govcred.core.runtime import Runtime
from govcred.core.web import create_app
from govcred.verifier.app import VerifierConfig, create_app as create_verifier
from govcred.verifier.trust import TrustConfig, TrustedIssuer

commands = sorted(build_cli().commands)  # loads every govcred entry point
issuer = create_app(Runtime.create(load_settings(data / "issuer")))
jwks = data / "jwks.json"
jwks.write_text('{"keys": []}')
verifier = create_verifier(VerifierConfig(
    trust=TrustConfig((TrustedIssuer("https://qt.example.gov.cn", "test", str(jwks), None, ()),)),
    data_dir=data / "verifier", background_refresh=False))
print(json.dumps({"commands": commands, "rules": len(list(issuer.url_map.iter_rules())),
                  "verifier_rules": len(list(verifier.url_map.iter_rules())),
                  "bare": sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[3].split(",")))}))
"""


def test_no_bare_top_level_names_in_sys_modules(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**os.environ, **TEST_ENV, "GOVCRED_DATABASE_URL": f"sqlite:///{tmp_path / 'issuer.sqlite3'}"}
    env.pop("PYTHONPATH", None)
    env.pop("GOVCRED_DISABLE_PLUGINS", None)
    # every module but those only a tool runs: alembic's migration scripts, the verifier's
    # wsgi module (it builds an app from GOVCRED_VERIFIER_* variables; create_verifier does here)
    modules = sorted(
        name
        for name in importgraph.project_modules(importgraph.package_roots())
        if ".migrations" not in name and not name.endswith(".wsgi")
    )
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), json.dumps(modules), ",".join(BARE)],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert {"verify", "verifier", "officer", "sms"} <= set(report["commands"])  # core's, the verifier's, a plugin's
    assert report["rules"] > 20 and report["verifier_rules"] > 3
    assert report["bare"] == []
