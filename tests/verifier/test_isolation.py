"""The verifier needs only public keys and status lists: importing and running it must not
pull in the issuer's database layer or anything that holds a private key."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("core.orm", "core.keystore", "core.repository", "core.unit_of_work", "core.runtime", "core.db",
             "core.crypto", "core.services", "core.web.holder", "core.web.credentials", "core.status",
             "plugins.sms_gateway", "plugins.provincial_push")

SCRIPT = """
import json, sys
import verifier.app, verifier.check, verifier.views, verifier.cache, verifier.trust, verifier.db
from verifier.app import benefit_plugins
benefit_plugins(("zhejiang_residence",))
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("core", "plugins", "verifier")))))
"""


def test_verifier_does_not_import_the_issuer_side():
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "verifier.check" in loaded and "plugins.zhejiang_residence" in loaded
    assert sorted(loaded & set(FORBIDDEN)) == []
