"""Every route of the issuer app: security headers on each response, CSRF on every page form
(W-04, W-10), escaping of applicant data, and the form/document mapping."""

from __future__ import annotations

import re

import pytest

from govcred.core.services import decisions, intake
from govcred.core.web import create_app
from govcred.core.web.pages.formdoc import flatten, unflatten
from tests.core.web.pages.pagekit import add_officer, csrf_of, officer_login
from tests.core.workflow_helpers import document, import_records, officer, resident, upload

HEADERS = {
    "Content-Security-Policy": None,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
STRICT_CSP = ("script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'")


@pytest.fixture
def world(sqlite_runtime):
    """An approved online application with a proof, a credential, and a signed-in admin."""
    rt = sqlite_runtime
    import_records(rt)
    holder = resident(rt, "13900000001")
    proof = upload(rt, holder)
    doc = document([proof])
    doc["conditions"][0].update(kind="residence", proof="registered_rental_contract", division="331121")
    for key in ("employer", "employer_uscc"):
        doc["conditions"][0].pop(key)
    app_row = intake.submit_application(rt.collaborators, doc, principal=holder, channel="online")
    reviewer = officer(rt, "reviewer", "rev-direct")
    decision = decisions.decide(rt.collaborators, app_row.id, approve=True, principal=reviewer)
    seed = add_officer(rt, "admin1", "admin")
    flask_app = create_app(runtime=rt)
    client = flask_app.test_client()
    assert officer_login(client, rt, "admin1", seed).status_code == 302
    with rt.uow(readonly=True) as uow:
        credential = uow.credentials.get(decision.credential_id)
    ids = {
        "app_id": app_row.id,
        "credential_id": decision.credential_id,
        "attachment_id": proof,
        "list_id": credential.status_list_id,
        "permit_no": credential.permit_no,
        "filename": "app.css",
    }
    return flask_app, client, ids


def _url(rule, ids):
    values = {arg: ids.get(arg, "x") for arg in rule.arguments}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def test_every_get_route_sends_the_security_headers(world):
    flask_app, client, ids = world
    seen = 0
    for rule in flask_app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        response = client.get(_url(rule, ids))
        seen += 1
        for name, value in HEADERS.items():
            assert name in response.headers, f"{rule.rule}: {name} missing"
            if value:
                assert response.headers[name] == value, rule.rule
        csp = response.headers["Content-Security-Policy"]
        if rule.endpoint == "officer.attachment":
            assert csp == "sandbox; default-src 'none'; frame-ancestors 'self'", rule.rule
        else:
            assert all(part in csp for part in STRICT_CSP), f"{rule.rule}: {csp}"
            assert response.headers["X-Frame-Options"] == "DENY"
        assert response.status_code < 500, f"{rule.rule}: {response.status_code}"
    assert seen >= 20


def test_every_page_form_post_without_token_is_refused(world):
    flask_app, client, ids = world
    posts = [
        r
        for r in flask_app.url_map.iter_rules()
        if r.methods & {"POST", "PUT", "PATCH", "DELETE"} and not r.rule.startswith("/api/")
    ]
    assert len(posts) >= 10
    for rule in posts:
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            response = client.open(_url(rule, ids), method=method, data={"action": "approve", "accept": "yes"})
            assert response.status_code in (400, 403), f"{method} {rule.rule}: {response.status_code}"
            foreign = client.open(
                _url(rule, ids),
                method=method,
                data={"csrf_token": csrf_of(client.get("/officer/").data)},
                headers={"Origin": "https://evil.example"},
            )
            assert foreign.status_code == 403, f"{method} {rule.rule} with a foreign Origin"


def test_proof_is_served_inline_and_sandboxed(world):
    _app, client, ids = world
    response = client.get(f"/officer/attachments/{ids['attachment_id']}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["Content-Security-Policy"].startswith("sandbox")


def test_applicant_name_is_escaped_on_the_officer_page(sqlite_runtime):
    rt = sqlite_runtime
    import_records(rt)
    holder = resident(rt, "13900000002")
    doc = document([upload(rt, holder)])
    doc["applicant"]["name"] = "<img src=x onerror=alert(1)>"
    app_row = intake.submit_application(rt.collaborators, doc, principal=holder, channel="online")
    seed = add_officer(rt, "rev2", "reviewer")
    client = create_app(runtime=rt).test_client()
    officer_login(client, rt, "rev2", seed)
    html = client.get(f"/officer/applications/{app_row.id}").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_templates_contain_no_inline_script_style_or_safe_filter():
    from pathlib import Path

    roots = [Path("core/web/templates"), Path("plugins/zhejiang_residence/templates")]
    for path in [p for root in roots for p in root.rglob("*.html")]:
        text = path.read_text(encoding="utf-8")
        assert "|safe" not in text and "autoescape false" not in text, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"inline script in {path}"
        assert "<style" not in text and " style=" not in text, f"inline style in {path}"
        assert not re.search(r"\son[a-z]+=", text), f"inline event handler in {path}"


def test_form_fields_become_a_document_and_back():
    pairs = [
        ("csrf_token", "t"),
        ("path", "registration_recognition"),
        ("applicant.name", " 张三明 "),
        ("agent.name", ""),
        ("agent.relation", ""),
        ("=conditions[0].kind", "residence"),
        ("conditions[0].proof", "registered_rental_contract"),
        ("conditions[0].attachments", "a1"),
        ("conditions[0].attachments", "a2"),
        ("=conditions[1].kind", "employment"),
        ("conditions[1].employer", ""),
        ("bad name!", "x"),
        ("conditions[999].x", "y"),
    ]
    doc = unflatten(pairs)
    assert doc == {
        "path": "registration_recognition",
        "applicant": {"name": "张三明"},
        "conditions": [{"kind": "residence", "proof": "registered_rental_contract", "attachments": ["a1", "a2"]}],
    }
    assert flatten(doc)["conditions[0].attachments"] == ["a1", "a2"]
    refilled = [
        (name, v) for name, value in flatten(doc).items() for v in (value if isinstance(value, list) else [value])
    ]
    assert unflatten(refilled) == doc


def test_the_home_page_sends_verifiers_to_their_page_and_names_no_command(sqlite_runtime, tmp_path):
    """It told residents and schools to use "govcred verifier serve", an operator's command."""
    import dataclasses

    plain = create_app(runtime=sqlite_runtime).test_client().get("/").get_data(as_text=True)
    assert "govcred" not in plain and "扫码核验页面" in plain and "向县公安局人口管理部门申请" in plain
    sqlite_runtime.settings = dataclasses.replace(
        sqlite_runtime.settings, verifier_urls=("https://hy.qt.example.gov.cn",)
    )
    linked = create_app(runtime=sqlite_runtime).test_client().get("/").get_data(as_text=True)
    assert 'href="https://hy.qt.example.gov.cn/"' in linked and "govcred" not in linked
