"""The verifier needs only public keys and status lists: importing and running it must not
pull in the issuer's database layer or anything that holds a private key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FORBIDDEN = (
    "govcred.core.orm",
    "govcred.core.keystore",
    "govcred.core.repository",
    "govcred.core.unit_of_work",
    "govcred.core.runtime",
    "govcred.core.db",
    "govcred.core.crypto",
    "govcred.core.services",
    "govcred.core.web.api.holder",
    "govcred.core.web.api.credentials",
    "govcred.core.status",
    "govcred.plugins.sms_gateway",
    "govcred.plugins.provincial_push",
)

SCRIPT = """
import json, sys
import govcred.verifier.app, govcred.verifier.check, govcred.verifier.views
import govcred.verifier.cache, govcred.verifier.trust, govcred.verifier.db
from govcred.verifier.app import benefit_plugins
benefit_plugins(("zhejiang_residence",))
print(json.dumps(sorted(m for m in sys.modules if m.startswith("govcred."))))
"""


def test_verifier_does_not_import_the_issuer_side():
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "govcred.verifier.check" in loaded and "govcred.plugins.zhejiang_residence" in loaded
    assert sorted(loaded & set(FORBIDDEN)) == []
