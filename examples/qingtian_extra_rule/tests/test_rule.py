"""The rule through govcred's hooks, and a whole decision through the API on SQLite and
PostgreSQL: the advisory finding is there when every proof ends before the first
endorsement, it never blocks, and the built-in rules are unchanged."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid

import pyotp
from qingtian_extra_rule.rules import CODE, first_endorsement_opens

from govcred.core import Application, EligibilityContext, PersonRecords
from govcred.testing import make_pm, make_settings

DECIDED = dt.date(2026, 11, 30)  # the kit's clock: 2026-11-30 10:00 in Beijing
APPLICANT_ID = "330102199003071230"  # a valid check digit, born 1990, hukou in Hangzhou
PASSWORD = "a long enough passphrase 42"


def condition(kind="residence", proof="registered_rental_contract", since="2026-01-01", until="2027-06-30", **extra):
    return {
        "kind": kind,
        "proof": proof,
        "division": "331121",
        "since": since,
        "until": until,
        "attachments": ["att-1"],
        **extra,
    }


def document(*conditions, division="331121001", channel="window"):
    return {
        "schema": "zj-residence/application@1",
        "path": "registration_recognition",
        "channel": channel,
        "applicant": {
            "name": "张三明",
            "id_number": APPLICANT_ID,
            "phone": "13800138000",
            "hukou_division": "330102",
            "hukou_address": "杭州市上城区某路1号",
        },
        "agent": None,
        "residence": {"division": division, "address": "青田县鹤城街道某路2号"},
        "conditions": list(conditions or [condition()]),
        "existing_permit": None,
        "registrations": [{"division": "331121", "declared": "2026-01-01", "ended": None}],
        "waiver": None,
        "commitment": {"accepted": True, "at": "2026-11-30T09:30:00+08:00"},
    }


def findings(pm, doc, kind="first_issue", on=DECIDED):
    """Every finding, collected as core does: the credential type's own rules, then every
    plugin's ``govcred_eligibility_rules``."""
    types = []
    pm.hook.govcred_credential_types(register=types.append)
    (credential_type,) = [t for t in types if t.application_schema == doc["schema"]]
    app = Application(schema=doc["schema"], channel=doc["channel"], document=doc, kind=kind)
    context = EligibilityContext(as_of=on, records=PersonRecords(source="test"))
    found = list(credential_type.eligibility_findings(app, context))
    for part in pm.hook.govcred_eligibility_rules(application=app, context=context):
        found.extend(part or ())
    return found


def ours(found):
    return [f for f in found if f.code == CODE]


def test_the_endorsement_window_opens_a_month_before_the_anniversary():
    assert first_endorsement_opens(dt.date(2026, 11, 30)) == dt.date(2027, 10, 30)
    assert first_endorsement_opens(dt.date(2027, 3, 31)) == dt.date(2028, 2, 29)  # no 31 February
    assert first_endorsement_opens(dt.date(2028, 2, 29)) == dt.date(2029, 1, 29)


def test_a_rental_ending_before_the_endorsement_is_an_advisory_finding(plugin_manager):
    (finding,) = ours(findings(plugin_manager, document(condition(until="2027-06-30"))))
    assert finding.severity == "advisory" and not finding.blocking and finding.field == "conditions"
    assert finding.message_zh.startswith(
        "您所填的住所证明最迟于2027年6月30日到期，早于居住证首次签注（2027年10月30日起办理）"
    )
    assert finding.basis == "《居住证暂行条例》第十条；《浙江省流动人口居住登记条例》第十九条"


def test_the_last_day_before_the_window_counts_and_the_first_day_of_it_does_not(plugin_manager):
    assert ours(findings(plugin_manager, document(condition(until="2027-10-29"))))
    assert not ours(findings(plugin_manager, document(condition(until="2027-10-30"))))


def test_one_condition_without_an_end_is_enough(plugin_manager):
    job = condition(
        "employment", "labor_contract", until=None, employer="青田某贸易有限公司", employer_uscc="91331121MA2H111117"
    )
    assert not ours(findings(plugin_manager, document(condition(), job)))


def test_conditions_that_ended_already_are_left_to_the_built_in_rules(plugin_manager):
    found = findings(plugin_manager, document(condition(since="2025-01-01", until="2026-06-30")))
    assert not ours(found) and "CONDITION_NOT_CURRENT" in {f.code for f in found}


def test_only_first_issues_in_qingtian(plugin_manager):
    assert not ours(findings(plugin_manager, document(division="330102001")))
    assert not ours(findings(plugin_manager, document(), kind="endorsement"))


def test_it_adds_one_finding_and_changes_none_of_the_built_in_ones(plugin_manager, data_dir):
    doc = document(condition(until="2027-06-30"), condition(until="2026-06-30"))  # one of them ended already
    built_ins_only = make_pm(make_settings(data_dir))
    with_us = [f.code for f in findings(plugin_manager, doc)]
    assert with_us.count(CODE) == 1
    assert [code for code in with_us if code != CODE] == [f.code for f in findings(built_ins_only, doc)]


# ---- through the issuer's API, on SQLite and PostgreSQL ----------------------------------


def test_a_reviewer_sees_the_finding_and_may_still_approve(runtime, client, govcred_cli, tmp_path):
    seeds = {}
    for username, role in (("clerk1", "clerk"), ("reviewer1", "reviewer")):
        added = govcred_cli("officer", "add", username, "--role", role, "--password", PASSWORD)
        assert added.exit_code == 0, added.output
        enrolled = govcred_cli("officer", "totp", username)  # every officer signs in with a TOTP code
        assert enrolled.exit_code == 0, enrolled.output
        seeds[username] = re.search(r"secret=([A-Z2-7]+)", enrolled.output).group(1)
    records = tmp_path / "records.csv"
    records.write_text(
        "kind,id_number,division,declared,ended,number,issuer_division,issued,status\n"
        f"registration,{APPLICANT_ID},331121,2026-01-01,,,,,\n",
        encoding="utf-8",
    )
    imported = govcred_cli("records", "import", records)
    assert imported.exit_code == 0, imported.output

    clerk, reviewer = (_sign_in(client, runtime, name, seeds[name]) for name in ("clerk1", "reviewer1"))
    upload = client.post(
        "/api/v1/attachments",
        headers=clerk,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(_png()), "rental.png")},
    )
    assert upload.status_code == 201, upload.get_json()
    doc = document(condition(until="2027-06-30") | {"attachments": [upload.get_json()["id"]]})
    submitted = client.post("/api/v1/applications", json=doc, headers=_key(clerk))
    assert submitted.status_code == 201 and submitted.get_json()["state"] == "accepted", submitted.get_json()

    decided = client.post(
        f"/api/v1/applications/{submitted.get_json()['id']}/decision", json={"approve": True}, headers=_key(reviewer)
    )
    assert decided.status_code == 200, decided.get_json()
    body = decided.get_json()
    assert [f["code"] for f in body["decision"]["findings"]] == [CODE]
    assert body["decision"]["approved"] and body["credential"]["token"]


def _sign_in(client, runtime, username, seed):
    code = pyotp.TOTP(seed).at(runtime.clock.now())  # the runtime's (fixed) clock is what checks it
    r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD, "totp": code})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['access_token']}"}


def _key(headers):
    return {**headers, "Idempotency-Key": str(uuid.uuid4())}


def _png():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(out, "PNG")
    return out.getvalue()
