"""The verifier's web page: served by the verifier app with the strict headers, camera frames
decoded server-side for institutions only, and no issuer-side module loaded."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from govcred.core.qr import render_png
from govcred.verifier.db import add_client
from tests.core.credential_rows import make_credential
from tests.verifier.issuers import verifier_app
from tests.verifier.test_isolation import FORBIDDEN


@pytest.fixture
def service(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    cred = make_credential(rt)
    app = verifier_app(rt, tmp_path)
    key = add_client(app.extensions["verifier"].engine, "青田县人民医院", now=rt.clock.now())
    return cred, app.test_client(), key


def test_page_lists_benefits_and_keeps_the_strict_policy(service):
    _cred, client, _key = service
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "核验电子居住证" in html
    assert 'value="compulsory_education"' in html and "义务教育" in html
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["Permissions-Policy"].startswith("camera=(self)")
    assert '<script src="/assets/verify.js"' in html and "/assets/app.css" in html
    reasons = json.loads(html.split('data-reasons="')[1].split('"')[0].replace("&#34;", '"'))
    assert "SUSPENDED" in reasons and "签注" in reasons["SUSPENDED"]
    for asset in ("/assets/app.css", "/assets/verify.js"):
        assert client.get(asset).status_code == 200


def test_camera_frame_is_decoded_for_institutions_only(service):
    cred, client, key = service
    frame = render_png(cred.token)
    refused = client.post("/scan/decode", data={"frame": (io.BytesIO(frame), "frame.jpg")})
    assert refused.status_code == 401
    found = client.post("/scan/decode", headers={"X-Api-Key": key}, data={"frame": (io.BytesIO(frame), "frame.jpg")})
    assert found.status_code == 200 and found.get_json() == {"found": True, "token": cred.token}
    from PIL import Image

    blank = io.BytesIO()
    Image.new("RGB", (200, 120), "white").save(blank, "JPEG")
    empty = client.post(
        "/scan/decode", headers={"X-Api-Key": key}, data={"frame": (io.BytesIO(blank.getvalue()), "frame.jpg")}
    )
    assert empty.status_code == 422 and empty.get_json()["found"] is False
    missing = client.post("/scan/decode", headers={"X-Api-Key": key}, data={})
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "frame"


def test_pages_module_loads_no_issuer_side_module():
    root = Path(__file__).resolve().parents[2]
    script = (
        "import json, sys; import govcred.verifier.pages; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('govcred.'))))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "govcred.verifier.pages" in loaded and sorted(loaded & set(FORBIDDEN)) == []


def test_every_reason_a_verifier_answers_has_its_chinese_message():
    from govcred.core.exceptions import VERIFY_REASONS
    from govcred.verifier.pages import REASONS_ZH

    assert set(REASONS_ZH) == set(VERIFY_REASONS)
    assert "密钥" in REASONS_ZH["KEY_REVOKED"] and "不能视为有效" in REASONS_ZH["KEY_REVOKED"]
    # the issuer re-issues what a revoked key signed: the holder shows the new QR
    assert "重新打开电子居住证" in REASONS_ZH["KEY_REVOKED"]
