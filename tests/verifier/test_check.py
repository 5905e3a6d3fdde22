"""The verification library against real issuers: status values, stale and missing lists,
bombs, untrusted issuers, two counties, presentations, benefits."""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib

import pytest

from govcred.core.accounts.officers import Principal
from govcred.core.config import Settings
from govcred.core.credential_types import CredentialType
from govcred.core.presentation import issue_presentation
from govcred.core.qr import encode_payload, payload_text, render_png
from govcred.core.services.credential_status import change_status
from govcred.testing import make_pm, signed_in
from govcred.verifier.cache import TrustCache
from govcred.verifier.check import Verifier
from govcred.verifier.statuslist import MAX_LIST_BYTES
from tests.core.credential_rows import make_credential
from tests.core.jws_forge import forge, header_for
from tests.verifier.issuers import LISHUI, issuer_runtime, publish, trust_of

REVIEWER = Principal("officer", "r1", "reviewer", "审核员")


def benefit_pm(extra=()):
    """The built-in plugins configured as a verifier configures its benefit plugins (no database)."""
    return make_pm(Settings(), extra=extra)


def verifier_for(trust, clock, pm=None):
    cache = TrustCache(trust, clock=clock)
    cache.refresh()
    return Verifier(cache, pm=pm if pm is not None else benefit_pm())


@pytest.fixture
def issuer(sqlite_runtime):
    return sqlite_runtime


def test_valid_credential_by_token_qr_text_and_image(issuer, tmp_path):
    cred = make_credential(issuer)
    v = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock)
    gc1 = "".join(encode_payload(cred.token))  # the framing of permits issued before GC2
    assert payload_text(cred.token).startswith("GC2:/") and gc1.startswith("GC1:/")
    for data in (cred.token, payload_text(cred.token), gc1, render_png(cred.token), cred.token.encode()):
        answer = v.verify_text(data, benefit="compulsory_education")
        assert answer.as_json() == {
            "valid": True,
            "reasons": [],
            "kind": "credential",
            "assurance": "static",
            "holder": {"name_masked": "张*明", "id_masked": "1101**********1237"},
            "county": "331121",
            "benefit": {"code": "compulsory_education", "qualifies": True},
            "checked_at": "2026-11-30T02:00:00+00:00",
        }


@pytest.mark.parametrize("status, reason", [("revoked", "REVOKED"), ("suspended", "SUSPENDED")])
def test_revoked_and_suspended_are_not_valid(issuer, tmp_path, status, reason):
    cred = make_credential(issuer)
    change_status(issuer.collaborators, cred.id, status, reason="核查", principal=signed_in(REVIEWER, issuer.clock))
    answer = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock).verify_text(cred.token)
    assert (answer.valid, answer.reasons) == (False, [reason])


def test_reinstated_credential_is_valid_again(issuer, tmp_path):
    cred = make_credential(issuer)
    change_status(
        issuer.collaborators, cred.id, "suspended", reason="核查", principal=signed_in(REVIEWER, issuer.clock)
    )
    change_status(
        issuer.collaborators, cred.id, "valid", reason="核查完毕", principal=signed_in(REVIEWER, issuer.clock)
    )
    answer = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock).verify_text(cred.token)
    assert answer.valid and answer.reasons == []


def test_list_older_than_its_max_age_is_unavailable_and_never_valid(issuer, tmp_path):
    cred = make_credential(issuer)
    cache = TrustCache(trust_of(publish(issuer, tmp_path)), clock=issuer.clock)
    cache.refresh()
    v = Verifier(cache, pm=benefit_pm())
    held = cache.held_list(cred.claims["status"]["status_list"]["uri"])
    issuer.clock.set(dt.datetime.fromtimestamp(held.usable_until() - 1, dt.UTC))
    assert v.verify_text(cred.token).valid
    issuer.clock.advance(seconds=1)
    answer = v.verify_text(cred.token)
    assert (answer.valid, answer.reasons, answer.detail) == (False, ["STATUS_UNAVAILABLE"], "LIST_STALE")


def test_failed_refresh_keeps_the_last_good_copy_and_its_fetched_at(issuer, tmp_path):
    cred = make_credential(issuer)
    entry = publish(issuer, tmp_path)
    cache = TrustCache(trust_of(entry), clock=issuer.clock)
    cache.refresh()
    uri = cred.claims["status"]["status_list"]["uri"]
    fetched_at = cache.held_list(uri).fetched_at
    for path in entry.status_list_files:
        open(path, "w").write("<html>503 Service Unavailable</html>")
    issuer.clock.advance(seconds=600)
    problems = cache.refresh()
    assert problems and cache.held_list(uri).fetched_at == fetched_at
    assert Verifier(cache, pm=benefit_pm()).verify_text(cred.token).valid


def test_missing_list_is_unavailable(issuer, tmp_path):
    cred = make_credential(issuer)
    answer = verifier_for(trust_of(publish(issuer, tmp_path, list_ids=[])), issuer.clock).verify_text(cred.token)
    assert (answer.valid, answer.reasons, answer.detail) == (False, ["STATUS_UNAVAILABLE"], "LIST_NOT_LOADED")


def _signed_list(issuer, lst: str, uri: str, bits: int = 2) -> str:
    now = int(issuer.clock.now().timestamp())
    return forge(
        header_for(issuer.keystore.active_key(), "statuslist+jwt"),
        {
            "iss": issuer.settings.issuer,
            "sub": uri,
            "iat": now,
            "exp": now + 3600,
            "ttl": 3600,
            "status_list": {"bits": bits, "lst": lst},
        },
        issuer.keystore.active_key(),
    )


def _lst(raw: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode()


def _with_list_token(issuer, tmp_path, token: str):
    entry = publish(issuer, tmp_path, list_ids=[])
    path = tmp_path / "forged-list.jwt"
    path.write_text(token)
    return entry.__class__(entry.iss, entry.name, entry.jwks, None, (str(path),))


def test_index_outside_the_list_is_unavailable(issuer, tmp_path):
    cred = make_credential(issuer)
    uri = cred.claims["status"]["status_list"]["uri"]
    short = _lst(bytes(16))  # 64 entries
    entry = _with_list_token(issuer, tmp_path, _signed_list(issuer, short, uri))
    answer = verifier_for(trust_of(entry), issuer.clock).verify_text(cred.token)
    assert (answer.valid, answer.reasons, answer.detail) == (False, ["STATUS_UNAVAILABLE"], "INDEX_OUT_OF_RANGE")


@pytest.mark.parametrize(
    "entries, reasons, detail",
    [
        ("idx", ["STATUS_UNAVAILABLE"], "INDEX_OUT_OF_RANGE"),  # the entry one past the last
        ("idx+1 revoked", ["REVOKED"], "STATUS_INVALID"),  # the credential's entry is the last one
        ("idx+1 valid", [], ""),
    ],
)
def test_the_last_entry_of_a_list_is_read_and_the_one_past_it_is_unavailable(
    issuer, tmp_path, entries, reasons, detail
):
    cred = make_credential(issuer)
    reference = cred.claims["status"]["status_list"]
    idx = reference["idx"]
    # bits=8: one byte per entry, so a list of exactly ``idx`` entries can be built for any idx
    raw = bytes(idx) if entries == "idx" else bytes(idx) + (b"\x01" if "revoked" in entries else b"\x00")
    entry = _with_list_token(issuer, tmp_path, _signed_list(issuer, _lst(raw), reference["uri"], bits=8))
    answer = verifier_for(trust_of(entry), issuer.clock).verify_text(cred.token)
    assert (answer.valid, answer.reasons, answer.detail) == (reasons == [], reasons, detail)


def test_decompression_bomb_in_lst_is_refused_without_inflating_it(issuer, tmp_path):
    import tracemalloc

    cred = make_credential(issuer)
    uri = cred.claims["status"]["status_list"]["uri"]
    bomb = zlib.compress(bytes(50 * 1024 * 1024), 9)
    assert len(bomb) < 60_000
    token = _signed_list(issuer, base64.urlsafe_b64encode(bomb).rstrip(b"=").decode(), uri)
    entry = _with_list_token(issuer, tmp_path, token)
    cache = TrustCache(trust_of(entry), clock=issuer.clock)
    tracemalloc.start()
    problems = cache.refresh()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert any("LST_TOO_LARGE" in p for p in problems)
    assert peak < MAX_LIST_BYTES + 5 * 1024 * 1024
    assert Verifier(cache, pm=benefit_pm()).verify_text(cred.token).reasons == ["STATUS_UNAVAILABLE"]


def test_list_whose_sub_is_another_list_is_refused(issuer, tmp_path):
    cred = make_credential(issuer)
    lst = issuer.status_list_publisher.current(cred.status_list_id)
    claims = json.loads(base64.urlsafe_b64decode(lst.token.split(".")[1] + "=="))
    token = _signed_list(issuer, claims["status_list"]["lst"], issuer.settings.issuer + "/status/99")
    entry = _with_list_token(issuer, tmp_path, token)
    answer = verifier_for(trust_of(entry), issuer.clock).verify_text(cred.token)
    assert (answer.reasons, answer.detail) == (["STATUS_UNAVAILABLE"], "LIST_NOT_LOADED")


def test_list_served_at_one_uri_naming_another_is_refused(issuer, tmp_path):
    """A list fetched from its URL must name that URL in ``sub``: a signed list of the same issuer
    served at the wrong place (a mirror's mix-up, or an attacker replaying an all-valid list) is
    refused, so the credential's status stays unknown instead of reading someone else's list."""
    cred = make_credential(issuer)
    uri = cred.claims["status"]["status_list"]["uri"]
    entry = publish(issuer, tmp_path, list_ids=[])
    index = issuer.settings.issuer + "/status"
    served = {
        entry.jwks: open(entry.jwks, "rb").read(),
        index: json.dumps({"status_lists": [uri]}).encode(),
        # an all-valid list, signed by the issuer, but it is list 99, not the credential's
        uri: _signed_list(issuer, _lst(bytes(1 << 16)), issuer.settings.issuer + "/status/99").encode(),
    }
    change_status(issuer.collaborators, cred.id, "revoked", reason="吊销", principal=signed_in(REVIEWER, issuer.clock))
    trust = trust_of(entry.__class__(entry.iss, entry.name, entry.jwks, index, ()))
    cache = TrustCache(trust, clock=issuer.clock, fetch=served.__getitem__)
    problems = cache.refresh()
    assert problems == [f"{uri}: status list not refreshed (LIST_SUB_MISMATCH); keeping the last good copy"]
    answer = Verifier(cache, pm=make_pm()).verify_text(cred.token)
    assert (answer.valid, answer.reasons, answer.detail) == (False, ["STATUS_UNAVAILABLE"], "LIST_NOT_LOADED")


def test_issuer_not_trusted(issuer, tmp_path, sqlite_template):
    other = issuer_runtime(tmp_path, sqlite_template, issuer.clock, LISHUI)
    cred = make_credential(other)
    answer = verifier_for(trust_of(publish(issuer, tmp_path / "qt")), issuer.clock).verify_text(cred.token)
    assert (answer.valid, answer.reasons, answer.holder) == (False, ["UNKNOWN_ISSUER"], None)
    other.close()


def test_credential_signed_by_another_key_under_a_trusted_iss(issuer, tmp_path, sqlite_template):
    from govcred.core.tokens import CREDENTIAL, issue_token

    other = issuer_runtime(tmp_path, sqlite_template, issuer.clock, LISHUI)
    cred = make_credential(issuer)
    claims = dict(cred.claims)
    token = issue_token(CREDENTIAL, claims, other.keystore.active_key(), clock=issuer.clock)
    answer = verifier_for(trust_of(publish(issuer, tmp_path / "qt")), issuer.clock).verify_text(token)
    assert answer.reasons == ["UNKNOWN_KID"]
    other.close()


def test_permits_of_two_trusted_counties_both_verify(issuer, tmp_path, sqlite_template):
    other = issuer_runtime(tmp_path, sqlite_template, issuer.clock, LISHUI)
    here, there = make_credential(issuer), make_credential(other)
    change_status(
        other.collaborators,
        make_credential(other).id,
        "revoked",
        reason="吊销",
        principal=signed_in(REVIEWER, other.clock),
    )
    v = verifier_for(trust_of(publish(issuer, tmp_path / "qt"), publish(other, tmp_path / "ls")), issuer.clock)
    assert v.verify_text(here.token).valid and v.verify_text(there.token).valid
    other.close()


def test_presentation_verifies_and_expires(issuer, tmp_path):
    cred = make_credential(issuer)
    v = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock)
    token = issue_presentation(issuer.collaborators, cred)
    answer = v.verify_text(payload_text(token), benefit="public_employment")
    assert (answer.valid, answer.kind, answer.credential_id) == (True, "presentation", cred.id)
    assert answer.as_json()["assurance"] == "live"
    assert answer.benefit == {"code": "public_employment", "qualifies": True}
    issuer.clock.advance(seconds=issuer.settings.presentation_seconds + 60)  # past exp + leeway
    assert v.verify_text(token).reasons == ["EXPIRED"]


def test_presentation_of_a_revoked_credential_is_revoked(issuer, tmp_path):
    cred = make_credential(issuer)
    token = issue_presentation(issuer.collaborators, cred)
    change_status(issuer.collaborators, cred.id, "revoked", reason="吊销", principal=signed_in(REVIEWER, issuer.clock))
    answer = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock).verify_text(token)
    assert answer.reasons == ["REVOKED"]


def test_log_only_presentation_is_not_accepted_as_a_presentation(issuer, tmp_path):
    from govcred.core.claims import LOG_AUDIENCE

    cred = make_credential(issuer)
    token = issue_presentation(issuer.collaborators, cred, audience=LOG_AUDIENCE)
    answer = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock).verify_text(token)
    assert (answer.reasons, answer.detail) == (["MALFORMED"], "AUD_MISMATCH")


def test_benefit_not_covered_and_unknown_benefit(issuer, tmp_path):
    cred = make_credential(issuer, benefits=("public_health",))
    v = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock)
    for code in ("compulsory_education", "no_such_benefit"):
        answer = v.verify_text(cred.token, benefit=code)
        assert (answer.valid, answer.reasons, answer.benefit) == (
            False,
            ["BENEFIT_NOT_COVERED"],
            {"code": code, "qualifies": False},
        )


def test_benefit_plugin_cannot_widen_a_revoked_credential(issuer, tmp_path):
    cred = make_credential(issuer)
    change_status(issuer.collaborators, cred.id, "revoked", reason="吊销", principal=signed_in(REVIEWER, issuer.clock))
    generous = benefit_pm([(_type_plugin(lambda claims, benefit: True), "generous")])
    v = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock, pm=generous)
    answer = v.verify_text(cred.token, benefit="compulsory_education")
    assert (answer.valid, answer.benefit["qualifies"]) == (False, False)


def test_garbage_never_raises(issuer, tmp_path):
    v = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock)
    for data in (None, 12, "", "GC1:/99", b"\x89PNG\r\n\x1a\nnope", b"\xff\xfe", "a.b.c", {"x": 1}, "x" * 100_000):
        answer = v.verify_text(data)
        assert not answer.valid and len(answer.reasons) == 1


def test_credential_cannot_borrow_another_issuers_status_list(issuer, tmp_path, sqlite_template):
    from govcred.core.tokens import CREDENTIAL, issue_token

    other = issuer_runtime(tmp_path, sqlite_template, issuer.clock, LISHUI)
    here, there = make_credential(issuer), make_credential(other)
    claims = {**there.claims, "status": here.claims["status"]}  # Lishui signs, pointing at Qingtian's list
    token = issue_token(CREDENTIAL, claims, other.keystore.active_key(), clock=issuer.clock)
    v = verifier_for(trust_of(publish(issuer, tmp_path / "qt"), publish(other, tmp_path / "ls")), issuer.clock)
    answer = v.verify_text(token)
    assert (answer.reasons, answer.detail) == (["STATUS_UNAVAILABLE"], "LIST_NOT_OF_ISSUER")
    other.close()


def test_lapsed_credential_says_why_it_lapsed(issuer, tmp_path):
    """Past its anniversary a suspended permit answers SUSPENDED (未按期签注) before EXPIRED;
    an expired permit whose entry is still valid answers EXPIRED alone."""
    suspended, plain = make_credential(issuer), make_credential(issuer)
    change_status(
        issuer.collaborators,
        suspended.id,
        "suspended",
        reason="未按期签注",
        principal=signed_in(REVIEWER, issuer.clock),
    )
    issuer.clock.set(max(suspended.expires_at, plain.expires_at) + dt.timedelta(days=2))
    v = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock)
    assert v.verify_text(suspended.token).reasons == ["SUSPENDED", "EXPIRED"]
    assert v.verify_text(plain.token).reasons == ["EXPIRED"]
    assert not v.verify_text(suspended.token).valid


def _resigned(issuer, cred, **changes):
    """The credential's claims with ``changes`` (None deletes), signed again by the issuer."""
    from govcred.core.tokens import CREDENTIAL, issue_token

    claims = {k: v for k, v in {**cred.claims, **changes}.items() if v is not None}
    return issue_token(CREDENTIAL, claims, issuer.keystore.active_key(), clock=issuer.clock)


@pytest.mark.parametrize(
    "status",
    [
        None,
        "1",
        {"status_list": None},
        {"status_list": []},
        {"status_list": {"uri": "x"}},
        {"status_list": {"idx": -1, "uri": "URI"}},
        {"status_list": {"idx": "5", "uri": "URI"}},
        {"status_list": {"idx": True, "uri": "URI"}},
        {"status_list": {"idx": 5}},
        {"status_list": {"idx": 5, "uri": 7}},
    ],
)
def test_a_signed_credential_with_a_broken_status_claim_is_malformed(issuer, tmp_path, status):
    cred = make_credential(issuer)
    uri = cred.claims["status"]["status_list"]["uri"]
    if (
        isinstance(status, dict)
        and isinstance(status["status_list"], dict)
        and status["status_list"].get("uri") == "URI"
    ):
        status = {"status_list": {**status["status_list"], "uri": uri}}
    token = _resigned(issuer, cred, status=status) if status is not None else _resigned(issuer, cred, status=None)
    answer = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock).verify_text(token)
    assert (answer.valid, answer.reasons, answer.detail) == (False, ["MALFORMED"], "STATUS_CLAIM_INVALID")


def test_index_zero_is_an_entry_like_any_other(issuer, tmp_path):
    cred = make_credential(issuer)
    uri = cred.claims["status"]["status_list"]["uri"]
    token = _resigned(issuer, cred, status={"status_list": {"idx": 0, "uri": uri}})
    for first, reasons in ((b"\x00", []), (b"\x01", ["REVOKED"])):
        entry = _with_list_token(issuer, tmp_path, _signed_list(issuer, _lst(first + bytes(7)), uri, bits=8))
        answer = verifier_for(trust_of(entry), issuer.clock).verify_text(token)
        assert (answer.valid, answer.reasons) == (reasons == [], reasons)


@pytest.mark.parametrize(
    "changes", [{"idm": "110101199001011237"}, {"n": "张三明 110101199001011237"}, {"idm": "11010119900101123X"}]
)
def test_an_unmasked_id_number_is_never_passed_on(issuer, tmp_path, changes):
    token = _resigned(issuer, make_credential(issuer), **changes)
    answer = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock).verify_text(token)
    assert (answer.valid, answer.reasons, answer.detail, answer.holder) == (False, ["MALFORMED"], "UNMASKED_ID", None)


def test_holder_fields_are_shown_only_as_short_strings(issuer, tmp_path):
    token = _resigned(issuer, make_credential(issuer), n=["张*明"], idm="1101" + "*" * 40, cty=None)
    answer = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock).verify_text(token)
    assert answer.valid
    assert (answer.holder, answer.county) == ({"name_masked": "", "id_masked": "1101" + "*" * 28}, "")


def _type_plugin(benefit_check):
    """A plugin registering a credential type, asked first, whose benefit check is ``benefit_check``."""
    from govcred.core.hookspecs import hookimpl

    class Only(CredentialType):
        name, application_schema = "only", "only/application@1"

        def benefit_check(self, claims, benefit):
            return benefit_check(claims, benefit)

    class Plugin:
        @hookimpl(tryfirst=True)
        def govcred_credential_types(self, register):
            register(Only())

    return Plugin()


def test_benefit_without_plugins_or_with_a_bad_code_or_a_broken_plugin_is_not_covered(issuer, tmp_path, caplog):
    def broken(claims, benefit):
        raise RuntimeError("plugin bug")

    cred = make_credential(issuer)
    cache = TrustCache(trust_of(publish(issuer, tmp_path)), clock=issuer.clock)
    cache.refresh()
    says_yes = benefit_pm([(_type_plugin(lambda claims, benefit: True), "yes")])
    for pm, code in (
        (None, "compulsory_education"),
        (says_yes, "Compulsory-Education"),
        (benefit_pm([(_type_plugin(broken), "broken")]), "compulsory_education"),
    ):
        answer = Verifier(cache, pm=pm).verify_text(cred.token, benefit=code)
        assert (answer.valid, answer.reasons, answer.benefit) == (
            False,
            ["BENEFIT_NOT_COVERED"],
            {"code": code, "qualifies": False},
        )
    assert "benefit plugin failed for compulsory_education" in caplog.text
    assert Verifier(cache, pm=says_yes).verify_text(cred.token, benefit="compulsory_education").valid


def test_a_lapsed_revoked_permit_says_revoked(issuer, tmp_path):
    cred = make_credential(issuer)
    change_status(issuer.collaborators, cred.id, "revoked", reason="吊销", principal=signed_in(REVIEWER, issuer.clock))
    issuer.clock.set(cred.expires_at + dt.timedelta(days=2))
    answer = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock).verify_text(cred.token)
    assert (answer.valid, answer.reasons) == (False, ["REVOKED", "EXPIRED"])


def _presentation_with(issuer, cred, **changes):
    """A presentation of ``cred`` with claims changed (None deletes), signed by the issuer."""
    from govcred.core.tokens import PRESENTATION, issue_token

    claims = json.loads(base64.urlsafe_b64decode(issue_presentation(issuer.collaborators, cred).split(".")[1] + "=="))
    claims = {k: v for k, v in {**claims, **changes}.items() if v is not None}
    return issue_token(PRESENTATION, claims, issuer.keystore.active_key(), clock=issuer.clock)


def test_exact_answers_for_inputs_that_are_no_credential(issuer, tmp_path):
    cred = make_credential(issuer)
    v = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock)
    status_list_token = issuer.status_list_publisher.current(cred.status_list_id).token
    from govcred.core.claims import CREDENTIAL_ID as cid  # the presentation claim naming the credential

    for data, reasons, detail in (
        (b"\xff\xfe", ["MALFORMED"], "NOT_TEXT"),
        (status_list_token, ["WRONG_TYPE"], "NOT_A_CREDENTIAL_OR_PRESENTATION"),
        (_presentation_with(issuer, cred, **{cid: None}), ["MALFORMED"], "CID_MISSING"),
        (_presentation_with(issuer, cred, **{cid: ""}), ["MALFORMED"], "CID_MISSING"),
        (_presentation_with(issuer, cred, **{cid: 7}), ["MALFORMED"], "CID_MISSING"),
    ):
        answer = v.verify_text(data, benefit="compulsory_education")
        assert (answer.valid, answer.reasons, answer.detail) == (False, reasons, detail)
        assert answer.benefit == {"code": "compulsory_education", "qualifies": False}
    assert v.verify_text(b"\xff\xfe").benefit is None


def test_the_key_is_picked_by_kid_before_the_claimed_issuer(issuer, tmp_path, sqlite_template):
    """Lishui's key signing a token that claims Qingtian: the kid selects Lishui's keys, whose
    issuer the token then does not match."""
    from govcred.core.tokens import CREDENTIAL, issue_token

    other = issuer_runtime(tmp_path, sqlite_template, issuer.clock, LISHUI)
    token = issue_token(CREDENTIAL, make_credential(issuer).claims, other.keystore.active_key(), clock=issuer.clock)
    v = verifier_for(trust_of(publish(issuer, tmp_path / "qt"), publish(other, tmp_path / "ls")), issuer.clock)
    answer = v.verify_text(token)
    assert (answer.valid, answer.reasons, answer.detail) == (False, ["UNKNOWN_ISSUER"], "ISSUER_KEYSET_MISMATCH")
    other.close()


def test_the_verifiers_leeway_and_audience_are_the_ones_it_was_given(issuer, tmp_path):
    cred = make_credential(issuer)
    cache = TrustCache(trust_of(publish(issuer, tmp_path)), clock=issuer.clock)
    cache.refresh()
    for_school = _presentation_with(issuer, cred, aud="school-33112101")
    assert Verifier(cache, pm=benefit_pm(), audience="school-33112101").verify_text(for_school).valid
    token = issue_presentation(issuer.collaborators, cred)
    issuer.clock.advance(seconds=issuer.settings.presentation_seconds + 10)  # 10 s past exp
    assert Verifier(cache, pm=benefit_pm(), leeway=0).verify_text(token).reasons == ["EXPIRED"]
    assert Verifier(cache, pm=benefit_pm()).verify_text(token).valid  # within the leeway


def test_a_presentation_lives_60_seconds_and_30_of_leeway_whatever_the_verifiers_leeway(issuer, tmp_path):
    cred = make_credential(issuer)
    v = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock)
    assert v.leeway == 60
    shown_late = issue_presentation(issuer.collaborators, cred)
    never_shown = issue_presentation(issuer.collaborators, cred)
    issuer.clock.advance(seconds=89)
    assert v.verify_text(shown_late).valid
    issuer.clock.advance(seconds=1)  # 60 s lifetime + 30 s leeway
    assert v.verify_text(never_shown).reasons == ["EXPIRED"]


def test_a_presentation_verifies_once_then_answers_replayed(issuer, tmp_path):
    cred = make_credential(issuer)
    v = verifier_for(trust_of(publish(issuer, tmp_path)), issuer.clock)
    token = issue_presentation(issuer.collaborators, cred)
    assert v.verify_text(payload_text(token)).valid
    again = v.verify_text(token)
    assert (again.valid, again.reasons, again.kind) == (False, ["PRESENTATION_REPLAYED"], "presentation")
    # a fresh presentation of the same credential, and the credential itself, are not replays
    assert v.verify_text(issue_presentation(issuer.collaborators, cred)).valid
    assert v.verify_text(cred.token).valid and v.verify_text(cred.token).valid
