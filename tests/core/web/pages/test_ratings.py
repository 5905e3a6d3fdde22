"""好差评: the applicant rates a decided application once, on the status page or through the
API; bad input is named, a second rating and an undecided application are refused, and the
report counts the rating."""

from __future__ import annotations

from govcred.core.services.reports import ReportPeriod, summary
from tests.core.permits import make_officer
from tests.core.report_fixture import _application, _decide
from tests.core.web.api_helpers import resident_headers
from tests.core.web.pages.pagekit import csrf_of
from tests.core.web.pages.test_resident_pages import login_resident

PHONE = "13900000077"


def _own_applications(rt, phone: str) -> tuple[str, str]:
    """A decided and an undecided application owned by the resident of ``phone``."""
    reviewer = make_officer(rt, "reviewer")
    now = rt.clock.now()
    with rt.uow() as uow:
        owner = uow.residents.get_or_create(phone, now)
        decided, waiting = _application(rt, uow, "online", now), _application(rt, uow, "online", now)
        decided.owner_id = waiting.owner_id = owner.id
        _decide(uow, decided, reviewer.id, False, now, ["LOCAL_HUKOU"])
        uow.commit()
        return decided.id, waiting.id


def test_the_applicant_rates_on_the_status_page(app, runtime):
    client = app.test_client()
    login_resident(client, runtime, PHONE)
    decided, waiting = _own_applications(runtime, PHONE)
    page = client.get(f"/resident/applications/{decided}")
    assert "服务评价（好差评）" in page.get_data(as_text=True)
    assert "服务评价" not in client.get(f"/resident/applications/{waiting}").get_data(as_text=True)

    missing = client.post(f"/resident/applications/{decided}/rating", data={"csrf_token": csrf_of(page.data)})
    assert missing.status_code == 400 and "请选择 1 到 5 分" in missing.get_data(as_text=True)
    done = client.post(
        f"/resident/applications/{decided}/rating",
        data={"csrf_token": csrf_of(missing.data), "score": "4", "comment": "窗口人员很耐心"},
    )
    assert done.status_code == 302
    shown = client.get(f"/resident/applications/{decided}").get_data(as_text=True)
    assert "您的评价：<strong>4 分</strong>" in shown and "窗口人员很耐心" in shown

    admin = make_officer(runtime, "admin")
    today = runtime.clock.now().date().isoformat()
    figures = summary(runtime.collaborators, admin, ReportPeriod.parse(today, today))
    assert figures["ratings"] == {"count": 1, "mean": 4.0}
    with runtime.engine.connect() as conn:
        import sqlalchemy as sa

        stored = conn.execute(sa.text("SELECT comment_enc FROM service_ratings")).scalar_one()
    assert "窗口人员很耐心".encode() not in stored  # the comment is encrypted at rest


def test_the_api_refuses_what_cannot_be_rated(app, runtime):
    client = app.test_client()
    headers = resident_headers(client, runtime, PHONE)
    decided, waiting = _own_applications(runtime, PHONE)
    url = f"/api/v1/holder/applications/{decided}/rating"
    bad = client.post(url, json={"score": 9, "comment": ["x"]}, headers=headers)
    assert bad.status_code == 422 and {e["field"] for e in bad.get_json()["errors"]} == {"score", "comment"}
    assert client.post(url, json={"score": 2}, headers=headers).status_code == 201
    again = client.post(url, json={"score": 5}, headers=headers)
    assert again.status_code == 409 and again.get_json()["code"] == "ALREADY_RATED"
    early = client.post(f"/api/v1/holder/applications/{waiting}/rating", json={"score": 5}, headers=headers)
    assert early.status_code == 409 and early.get_json()["code"] == "NOT_DECIDED"
    other = resident_headers(app.test_client(), runtime, "13900000078")
    assert client.post(url, json={"score": 1}, headers=other).status_code == 404  # not theirs
    assert client.post(url, json={"score": 1}).status_code == 401
