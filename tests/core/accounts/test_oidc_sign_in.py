"""Residents sign in through a real OpenID Connect provider (Authlib's server components on
127.0.0.1): the happy trip, and every way the answer can be wrong -- each refused with a
Chinese page naming what failed, an audit entry with its code, and no session."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from govcred.core.orm import resident_identities, residents
from govcred.core.web import create_app
from govcred.testing import make_runtime, make_settings
from tests.core.accounts.oidc_kit import callback_of, come_back, identity_audit, sign_in, start
from tests.core.workflow_helpers import APPLICANT_ID


@pytest.fixture
def rt(oidc_provider, data_dir, sqlite_url, clock):
    oidc_provider.person.id_number = APPLICANT_ID
    runtime = make_runtime(make_settings(data_dir, sqlite_url, identity=oidc_provider.identity_table()), clock)
    yield runtime
    runtime.close()


@pytest.fixture
def client(rt):
    return create_app(runtime=rt).test_client()


def session_cookie(client):
    return client.get_cookie("__Host-session")


def test_the_log_in_page_offers_the_real_name_provider(client):
    page = client.get("/resident/login").get_data(as_text=True)
    assert "浙里办实名登录" in page and 'href="/resident/identity/oidc/start"' in page
    assert "短信验证码登录" in page  # development keeps the SMS sign-in, marked low-assurance
    assert "不核验身份" in page


def test_a_resident_signs_in_with_pkce_state_and_nonce(client, rt, oidc_provider):
    location = start(client, next_url="/resident/apply")
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(oidc_provider.url + "/authorize?")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["redirect_uri"] == ["https://qt.example.gov.cn/resident/identity/oidc/callback"]
    assert query["scope"] == ["openid profile"] and query["client_id"] == ["govcred-qingtian"]

    path, params = callback_of(oidc_provider.authorize(location))
    done = come_back(client, path, params)
    assert done.status_code == 302 and done.headers["Location"] == "/resident/apply"
    assert session_cookie(client) is not None
    assert client.get("/resident/home").status_code == 200
    assert identity_audit(rt) == [
        ("auth.identity_start", "success", None),
        ("auth.identity_login", "success", "oidc"),
    ]
    with rt.uow(readonly=True) as uow:
        row = uow.session.execute(sa.select(resident_identities)).mappings().one()
        assert uow.residents.identity_of(row["resident_id"]).name == "张三明"
        assert uow.residents.identity_of(row["resident_id"]).id_number == APPLICANT_ID
    assert "张三明".encode() not in row["name_enc"] and APPLICANT_ID.encode() not in row["id_number_enc"]
    assert row["assurance"] == "3"
    # the discovery document and the keys were fetched once, and kept
    sign_in(client, oidc_provider)
    assert oidc_provider.hits["/.well-known/openid-configuration"] == 1 and oidc_provider.hits["/jwks"] == 1


def test_the_same_person_comes_back_to_the_same_account(client, rt, oidc_provider):
    sign_in(client, oidc_provider)
    oidc_provider.person.name = "张三明"  # the same sub again
    sign_in(create_app(runtime=rt).test_client(), oidc_provider)
    with rt.uow(readonly=True) as uow:
        assert uow.session.execute(sa.select(sa.func.count()).select_from(residents)).scalar() == 1


def refused(response, code: str, text: str, rt, status: int = 401):
    page = response.get_data(as_text=True)
    assert response.status_code == status, page
    assert "实名登录未成功" in page and text in page and code in page
    assert identity_audit(rt)[-1] == ("auth.identity_login", "failure", code)


@pytest.mark.parametrize(
    ("tamper", "code", "text"),
    [
        ({"nonce": "a-nonce-of-another-sign-in"}, "ID_TOKEN_NONCE", "nonce 不符"),
        ({"shift": -3600}, "ID_TOKEN_EXPIRED", "身份凭证已过期"),
        ({"shift": 3600}, "ID_TOKEN_NOT_YET_VALID", "签发时间晚于当前时间"),
        ({"aud": "another-client"}, "ID_TOKEN_AUDIENCE", "不是签发给本系统的"),
        ({"aud": ["another-client"], "azp": "govcred-qingtian"}, "ID_TOKEN_AUDIENCE", "不是签发给本系统的"),
        ({"iss": "https://impostor.example"}, "ID_TOKEN_ISSUER", "不是由配置的实名认证服务签发的"),
        ({"sign_with": "unknown"}, "ID_TOKEN_UNKNOWN_KEY", "未公布的密钥"),
        ({"sign_with": "none"}, "ID_TOKEN_ALGORITHM", "不被接受的签名算法（none）"),
        ({"id_number": None}, "ID_TOKEN_CLAIM_MISSING", "缺少公民身份号码"),
    ],
    ids=["nonce", "expired", "future", "audience", "audience-list", "issuer", "unknown-key", "alg-none", "no-id"],
)
def test_a_wrong_id_token_is_refused(client, rt, oidc_provider, tamper, code, text):
    oidc_provider.tamper(**tamper)
    refused(sign_in(client, oidc_provider), code, text, rt)
    assert session_cookie(client) is None


def test_an_id_token_just_inside_the_leeway_is_accepted_and_one_just_past_it_is_not(client, rt, oidc_provider):
    """The leeway is the settings' 60 s: an ID token expired 59 s ago passes, 61 s ago does not."""
    oidc_provider.tamper(shift=-(300 + 59))
    assert sign_in(client, oidc_provider).status_code == 302
    oidc_provider.tamper(shift=-(300 + 61))
    refused(sign_in(client, oidc_provider), "ID_TOKEN_EXPIRED", "已过期", rt)


def test_an_unknown_key_makes_one_early_refetch_of_the_keys(client, rt, oidc_provider, monkeypatch):
    from govcred.core.accounts import oidc

    monkeypatch.setattr(oidc, "REFETCH_AT_MOST_EVERY", 0.0)
    sign_in(client, oidc_provider)
    assert oidc_provider.hits["/jwks"] == 1
    oidc_provider.tamper(sign_with="unknown")
    refused(sign_in(client, oidc_provider), "ID_TOKEN_UNKNOWN_KEY", "未公布的密钥", rt)
    assert oidc_provider.hits["/jwks"] == 2


def test_a_rotated_provider_key_is_picked_up_without_a_restart(client, rt, oidc_provider, monkeypatch):
    from govcred.core.accounts import oidc

    monkeypatch.setattr(oidc, "REFETCH_AT_MOST_EVERY", 0.0)
    assert sign_in(client, oidc_provider).status_code == 302
    oidc_provider.rotate_key()
    assert sign_in(client, oidc_provider).status_code == 302  # the new kid made one early refetch
    assert oidc_provider.hits["/jwks"] == 2


def test_a_wrong_state_is_refused_before_the_provider_is_asked(client, rt, oidc_provider):
    path, params = callback_of(oidc_provider.authorize(start(client)))
    params["state"] = "state-of-a-forged-link"
    refused(come_back(client, path, params), "OIDC_STATE_MISMATCH", "state 参数", rt)
    assert oidc_provider.hits["/token"] == 0


def login_cookie(client) -> str:
    return client.get_cookie("__Secure-identity-login", path="/resident/identity/").value


def test_a_refused_sign_in_is_used_up_whatever_comes_next(client, rt, oidc_provider):
    location = start(client)
    kept = login_cookie(client)
    path, params = callback_of(oidc_provider.authorize(location))
    right_state = params["state"]
    params["state"] = "state-of-a-forged-link"
    refused(come_back(client, path, params), "OIDC_STATE_MISMATCH", "state 参数", rt)
    # the browser's cookie is gone; brought back, the right state does not revive the sign-in
    refused(come_back(client, path, {**params, "state": right_state}), "IDENTITY_LOGIN_UNKNOWN", "没有找到", rt)
    client.set_cookie("__Secure-identity-login", kept, path="/resident/identity/")
    refused(come_back(client, path, {**params, "state": right_state}), "IDENTITY_LOGIN_USED", "已经使用过", rt)
    assert oidc_provider.hits["/token"] == 0


def test_a_callback_in_another_browser_is_refused(client, rt, oidc_provider):
    """Login CSRF: a victim's browser handed the attacker's callback URL has no such sign-in."""
    path, params = callback_of(oidc_provider.authorize(start(client)))
    victim = create_app(runtime=rt).test_client()
    refused(come_back(victim, path, params), "IDENTITY_LOGIN_UNKNOWN", "没有找到本浏览器发起的", rt)
    assert oidc_provider.hits["/token"] == 0


def test_a_replayed_callback_and_a_replayed_code_are_refused(client, rt, oidc_provider):
    location = start(client)
    kept = login_cookie(client)
    path, params = callback_of(oidc_provider.authorize(location))
    assert come_back(client, path, params).status_code == 302
    # the same callback again, with the cookie an attacker captured: this sign-in is used
    client.set_cookie("__Secure-identity-login", kept, path="/resident/identity/")
    refused(come_back(client, path, params), "IDENTITY_LOGIN_USED", "已经使用过", rt)
    # the old code with a fresh sign-in's state: the provider's token endpoint refuses it
    fresh = parse_qs(urlsplit(start(client)).query)["state"][0]
    refused(come_back(client, path, {"code": params["code"], "state": fresh}), "OIDC_CODE_REFUSED", "授权码无效", rt)


def test_a_sign_in_older_than_ten_minutes_is_refused(client, rt, oidc_provider, clock):
    location = start(client)
    clock.advance(minutes=10, seconds=1)
    path, params = callback_of(oidc_provider.authorize(location))
    refused(come_back(client, path, params), "IDENTITY_LOGIN_EXPIRED", "超过 10 分钟", rt)


def test_an_assurance_below_the_minimum_is_refused(client, rt, oidc_provider):
    oidc_provider.person.acr = "2"
    refused(sign_in(client, oidc_provider), "ASSURANCE_TOO_LOW", "认证等级（2）低于办理居住证要求的等级（3）", rt)
    oidc_provider.person.acr = "unheard-of"
    refused(sign_in(client, oidc_provider), "ASSURANCE_TOO_LOW", "认证等级（unheard-of）", rt)
    with rt.uow(readonly=True) as uow:
        assert uow.session.execute(sa.select(sa.func.count()).select_from(resident_identities)).scalar() == 0


def test_the_resident_cancelling_at_the_provider_is_said_so(client, rt, oidc_provider):
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    path = "/resident/identity/oidc/callback"
    refused(come_back(client, path, {"error": "access_denied", "state": state}), "OIDC_ACCESS_DENIED", "取消了授权", rt)


def test_an_unreachable_provider_is_a_clear_page_not_a_500(oidc_provider, data_dir, sqlite_url, clock):
    table = oidc_provider.identity_table(issuer="http://127.0.0.1:9")  # nothing listens there
    rt = make_runtime(make_settings(data_dir, sqlite_url, identity=table), clock)
    try:
        page = create_app(runtime=rt).test_client().get("/resident/identity/oidc/start")
        assert page.status_code == 503 and "实名认证服务暂时无法访问" in page.get_data(as_text=True)
    finally:
        rt.close()


def test_an_unknown_provider_is_404(client):
    page = client.get("/resident/identity/nosuch/start")
    assert page.status_code == 404 and "没有这个实名认证方式" in page.get_data(as_text=True)


def test_sign_ins_past_their_lifetime_are_cleared_by_the_next_one(client, rt, clock):
    from govcred.core.orm import identity_logins

    start(client)
    start(client)
    clock.advance(minutes=10)
    start(client)
    with rt.uow(readonly=True) as uow:
        assert uow.session.execute(sa.select(sa.func.count()).select_from(identity_logins)).scalar() == 1


def test_the_sign_in_and_its_single_use_on_sqlite_and_postgresql(oidc_provider, data_dir, database_url, clock):
    oidc_provider.person.id_number = APPLICANT_ID
    rt = make_runtime(make_settings(data_dir, database_url, identity=oidc_provider.identity_table()), clock)
    try:
        client = create_app(runtime=rt).test_client()
        location = start(client)
        kept = login_cookie(client)
        path, params = callback_of(oidc_provider.authorize(location))
        assert come_back(client, path, params).status_code == 302
        assert sign_in(client, oidc_provider).status_code == 302  # the same person, the same account
        client.set_cookie("__Secure-identity-login", kept, path="/resident/identity/")
        refused(come_back(client, path, params), "IDENTITY_LOGIN_USED", "已经使用过", rt)
        with rt.uow(readonly=True) as uow:
            assert uow.session.execute(sa.select(sa.func.count()).select_from(resident_identities)).scalar() == 1
    finally:
        rt.close()


def test_the_test_provider_refuses_a_client_secret_with_non_ascii_characters(oidc_provider):
    """The provider tests sign in against is a real one: a client secret it cannot compare
    (non-ASCII: compare_digest on str raises) is an invalid client, not a crash."""
    import base64
    import urllib.error
    import urllib.request

    from govcred.testing.oidc_provider import CLIENT_ID

    credentials = base64.b64encode(f"{CLIENT_ID}:秘密".encode()).decode()
    request = urllib.request.Request(
        oidc_provider.url + "/token",
        data=b"grant_type=authorization_code&code=x&redirect_uri=x",
        headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
