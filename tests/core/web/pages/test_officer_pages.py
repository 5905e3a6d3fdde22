"""Officer pages without a browser: the queue's due-today / overdue marks and filters, PDF
proofs framed by our own page only, refused decisions shown on the page, and four eyes."""

from __future__ import annotations

import io

import pytest

from govcred.core.services import intake
from govcred.core.web import create_app
from tests.core.web.pages.pagekit import add_officer, csrf_of, officer_login
from tests.core.workflow_helpers import document, import_records, queued_applications, resident, upload


@pytest.fixture
def client(sqlite_runtime):
    seed = add_officer(sqlite_runtime, "rev1", "reviewer")
    client = create_app(runtime=sqlite_runtime).test_client()
    assert officer_login(client, sqlite_runtime, "rev1", seed).status_code == 302
    return client


def submit(rt, phone: str, **top):
    import_records(rt)
    holder = resident(rt, phone)
    return intake.submit_application(
        rt.collaborators, document([upload(rt, holder)], **top), principal=holder, channel="online"
    )


def test_queue_marks_due_today_and_overdue_and_filters(client, sqlite_runtime):
    rt = sqlite_runtime
    submit(rt, "13900000021")  # accepted Monday 2026-11-30, due end of Wednesday 2026-12-02
    html = client.get("/officer/").get_data(as_text=True)
    assert "剩余 2 个工作日" in html and "2026年12月2日（含）" in html
    rt.clock.advance(days=2)  # Wednesday 10:00 Beijing
    officer_login(client, rt, "rev1", None, code=_code(rt))
    html = client.get("/officer/").get_data(as_text=True)
    assert "今日到期" in html and "badge-amber" in html
    assert "张*明" in client.get("/officer/?show=due_today").get_data(as_text=True)
    assert "没有待审核的申请" in client.get("/officer/?show=overdue").get_data(as_text=True)
    rt.clock.advance(days=1)
    officer_login(client, rt, "rev1", None, code=_code(rt))
    overdue = client.get("/officer/?show=overdue").get_data(as_text=True)
    assert "已超期" in overdue and "badge-red" in overdue and "张*明" in overdue
    assert "没有待审核的申请" in client.get("/officer/?show=due_today").get_data(as_text=True)


def _code(rt):
    import pyotp
    import sqlalchemy as sa

    from govcred.core.accounts.totp import seed_of
    from govcred.core.orm import officers

    with rt.uow(readonly=True) as uow:
        officer = uow.officers.by_username("rev1")
        seed = seed_of(officer, rt.secrets.cipher)
        assert uow.session.execute(sa.select(officers.c.totp_last_step)).scalar_one() > 0
    totp = pyotp.TOTP(seed)
    return totp.generate_otp(totp.timecode(rt.clock.now()))


def test_pdf_proof_is_embedded_and_framable_only_by_us(client, sqlite_runtime):
    from pypdf import PdfWriter

    rt = sqlite_runtime
    import_records(rt)
    holder = resident(rt, "13900000022")
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    pdf_id = upload(rt, holder, out.getvalue(), "contract.pdf")
    app_row = intake.submit_application(rt.collaborators, document([pdf_id]), principal=holder, channel="online")
    html = client.get(f"/officer/applications/{app_row.id}").get_data(as_text=True)
    assert f'<iframe class="proof-frame" title="材料 contract.pdf" src="/officer/attachments/{pdf_id}">' in html
    pdf = client.get(f"/officer/attachments/{pdf_id}")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Disposition"].startswith("inline;")
    assert pdf.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert pdf.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'self'"


def test_refused_approval_is_shown_on_the_page(client, sqlite_runtime):
    app_row = submit(sqlite_runtime, "13900000023", residence={"division": "330106", "address": "杭州某路"})
    page = client.get(f"/officer/applications/{app_row.id}")
    assert "批准并签发" not in page.get_data(as_text=True)
    forced = client.post(
        f"/officer/applications/{app_row.id}/decision",
        data={"csrf_token": csrf_of(page.data), "action": "approve", "version": app_row.version},
    )
    html = forced.get_data(as_text=True)
    assert forced.status_code == 409 and "不能批准" in html and "error-summary" in html
    nothing = client.post(
        f"/officer/applications/{app_row.id}/decision",
        data={"csrf_token": csrf_of(page.data), "version": app_row.version},
    )
    assert nothing.status_code == 400 and "请选择批准或不予批准" in nothing.get_data(as_text=True)


def test_admin_cannot_decide_what_they_entered(sqlite_runtime):
    rt = sqlite_runtime
    import_records(rt)
    seed = add_officer(rt, "admin1", "admin")
    client = create_app(runtime=rt).test_client()
    officer_login(client, rt, "admin1", seed)
    intake = client.get("/officer/intake")
    token = csrf_of(intake.data)
    proof = client.post(
        "/officer/uploads", headers={"X-CSRF-Token": token}, data={"file": (io.BytesIO(_png()), "scan.png")}
    ).get_json()["id"]
    doc = document([proof], channel="window")
    form = {"csrf_token": token, "commitment_signed": "yes", "path": doc["path"]}
    for section in ("applicant", "residence"):
        form.update({f"{section}.{k}": v for k, v in doc[section].items()})
    cond = doc["conditions"][0]
    form.update(
        {
            "=conditions[0].kind": cond["kind"],
            "conditions[0].proof": cond["proof"],
            "conditions[0].employer": cond["employer"],
            "conditions[0].employer_uscc": cond["employer_uscc"],
            "conditions[0].division": cond["division"],
            "conditions[0].since": cond["since"],
            "conditions[0].attachments": proof,
        }
    )
    assert client.post("/officer/intake", data=form).status_code == 302
    done = client.post("/officer/intake/confirm", data={"csrf_token": token})
    assert done.status_code == 302
    page = client.get(done.headers["Location"])
    html = page.get_data(as_text=True)
    assert "已受理，审核中" in html and "批准并签发" not in html  # the form is not offered to the same person
    app_id = done.headers["Location"].rsplit("/", 1)[1]
    forced = client.post(f"/officer/applications/{app_id}/decision", data={"csrf_token": token, "action": "approve"})
    assert forced.status_code == 403 and "双人复核" in forced.get_data(as_text=True)


def _png() -> bytes:
    from tests.core.workflow_helpers import png_bytes

    return png_bytes()


def test_issuing_or_suspending_needs_a_recent_login(client, sqlite_runtime):
    rt = sqlite_runtime
    app_row = submit(rt, "13900000024")
    back = f"/officer/applications/{app_row.id}"
    page = client.get(back)
    for _ in range(3):  # 12 minutes of activity: the session is alive, the log-in is not recent
        rt.clock.advance(minutes=4)
        page = client.get(back)
        assert page.status_code == 200
    stale = client.post(
        f"{back}/decision",
        data={"csrf_token": csrf_of(page.data), "action": "approve", "version": app_row.version, "back": back},
    )
    html = stale.get_data(as_text=True)
    assert stale.status_code == 403 and "请重新登录" in html and "next=/officer/applications/" in html
    assert (
        intake.get_application(rt.collaborators, app_row.id, _reviewer(rt))[0].state == "accepted"
    )  # nothing happened
    officer_login(client, rt, "rev1", None, code=_code(rt))
    done = client.post(
        f"{back}/decision",
        data={
            "csrf_token": csrf_of(client.get(back).data),
            "action": "approve",
            "version": app_row.version,
            "back": back,
        },
    )
    assert done.status_code == 302


def _reviewer(rt):
    from govcred.core.accounts.officers import Principal

    with rt.uow(readonly=True) as uow:
        return Principal("officer", uow.officers.by_username("rev1").id, "reviewer", factor_at=rt.clock.now())


def test_the_queue_page_shows_one_page_with_counts_and_a_next_link(client, sqlite_runtime):
    import datetime as dt
    import re

    rt = sqlite_runtime
    queued_applications(rt, 53, deadlines=lambda i: rt.clock.now() + dt.timedelta(days=1 + i % 3))
    html = client.get("/officer/").get_data(as_text=True)
    assert "全部（53）" in html and "待审批 53 件" in html and "网上 53 件" in html
    assert html.count('class="queue-item') == 50
    following = re.search(r'href="(/officer/\?[^"]*after=[^"]+)"', html).group(1).replace("&amp;", "&")
    second = client.get(following).get_data(as_text=True)
    assert second.count('class="queue-item') == 3 and "下一页" not in second and "回到第一页" in second
    # an edited or stale cursor starts again at the first page rather than failing
    assert client.get("/officer/?after=garbage").headers["Location"].endswith("/officer/?show=all")


@pytest.mark.parametrize("path", ["/officer/intake", "/officer/intake/confirm"])
def test_the_intake_pages_send_an_api_token_without_a_session_to_log_in(sqlite_runtime, path):
    # The intake keeps its draft in the browser's session; an officer's API token has none.
    from govcred.core.accounts.officers import create_officer, issue_api_token

    rt = sqlite_runtime
    with rt.uow() as uow:
        clerk = create_officer(
            uow, username="clerk-api", display_name="窗口", role="clerk", password="a long enough passphrase 42",
            now=rt.clock.now(),
        )  # fmt: skip
        token, _ = issue_api_token(uow, clerk, rt.clock.now())
        uow.commit()
    answer = create_app(runtime=rt).test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 302 and "/officer/login" in answer.headers["Location"]


def test_a_form_with_errors_leaves_no_draft_for_the_confirmation_page(sqlite_runtime):
    rt = sqlite_runtime
    seed = add_officer(rt, "clerk1", "clerk")
    client = create_app(runtime=rt).test_client()
    officer_login(client, rt, "clerk1", seed)
    token = csrf_of(client.get("/officer/intake").data)
    refused = client.post("/officer/intake", data={"csrf_token": token, "applicant.name": ["x", "y"], "junk": "1"})
    assert refused.status_code == 400
    confirm = client.get("/officer/intake/confirm")  # nothing to confirm: back to the form, not a 500
    assert confirm.status_code == 302 and confirm.headers["Location"].endswith("/officer/intake")
