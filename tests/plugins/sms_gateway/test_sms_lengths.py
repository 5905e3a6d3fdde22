"""Every SMS template delivered through the real channel with the longest values it meets:
each fits one 70-character segment with the 【signature】 (the two that carry reasons, two),
each resident notice names the service and how to reach it (the configured contact), and
every deadline reads 日（含）前."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from govcred.core.models import BLOCKING, Finding
from govcred.core.reference import reference_of
from govcred.core.services.issuance import permit_prefix
from govcred.plugins.sms_gateway.channel import build_channel
from govcred.plugins.sms_gateway.config import SmsConfig, sms_config
from govcred.plugins.sms_gateway.dev import recent_messages
from govcred.plugins.sms_gateway.notify import refs_text, short_date
from govcred.plugins.sms_gateway.reasons import SHORT_TITLES, reasons_text
from govcred.plugins.sms_gateway.templates import (
    CODE_TEMPLATES,
    CONTACT,
    MAX_CONTACT,
    MAX_VARIABLE,
    SINGLE_SEGMENT,
    TEMPLATES,
    template_variables,
)
from govcred.testing import make_settings
from tests.plugins.delivery_helpers import message

#: the longest realistic value of every variable, made the way the events make them
LONGEST = {
    "ref": reference_of("any application id"),  # every 办件编号 is 14 characters
    "deadline": short_date(dt.date(2027, 12, 31)),
    "end": short_date(dt.date(2027, 12, 31)),
    "count": "12",
    # every rule fails and the reviewer wrote reasons too: cut to one variable with the total
    "reasons": reasons_text([Finding(c, BLOCKING, "不符合", "") for c in SHORT_TITLES], officer_reasons=True),
    # the number govcred allocates: region tag, county, year, 8 digits
    "permit_no": permit_prefix("zj-residence-permit", "331121", dt.datetime(2027, 1, 1, tzinfo=dt.UTC)) + "00012345",
    "code": "042917",
    "due": "120",
    "overdue": "35",
    "refs": refs_text(tuple(reference_of(str(i)) for i in 30 * [0, 1, 2])),
}
PHONE_CONTACT = "0578-6812345"
#: the reasons (up to 35 characters) cannot fit one segment beside the rest
TWO_SEGMENTS = {"application_rejected", "endorsement_not_granted"}
#: no contact: a verification template holds its code only; officers reach the system themselves
WITHOUT_CONTACT = {*CODE_TEMPLATES, "officer_digest", "deadline_passed"}
DATES = ("deadline", "end")


@pytest.fixture(params=[SmsConfig.contact, PHONE_CONTACT], ids=["zheliban", "phone"])
def delivered(request, sqlite_runtime, data_dir, sqlite_url, clock):
    """Each template as the development backend recorded it, by name."""
    settings = make_settings(
        data_dir, sqlite_url, plugins={"sms_gateway": {"contact": request.param, "notifications_per_day": 100}}
    )
    config = sms_config(settings)
    channel = build_channel(config, engine=sqlite_runtime.engine, secrets=sqlite_runtime.secrets, clock=clock)
    for i, name in enumerate(TEMPLATES):
        params = {k: LONGEST[k] for k in template_variables(name) if k != CONTACT}
        channel(message({"template": name, "params": params}, message_id=f"m-{i}"))
    rows = recent_messages(sqlite_runtime.engine, limit=100)
    return config, {r["template"]: r for r in rows}


def test_the_longest_values_are_the_longest_there_are():
    assert len(LONGEST["ref"]) == 14 and len(LONGEST["deadline"]) == len("2027年12月31日")
    assert len(LONGEST["permit_no"]) == 20 and len(LONGEST["reasons"]) == MAX_VARIABLE
    assert len(PHONE_CONTACT) == MAX_CONTACT and len(SmsConfig.contact) <= MAX_CONTACT


def test_every_template_fits_its_segments_with_the_signature(delivered):
    config, rows = delivered
    assert set(rows) == set(TEMPLATES)
    for name, row in rows.items():
        text = row["text"]
        assert text.startswith(config.signature), name
        assert "${" not in text, name
        if name in TWO_SEGMENTS:
            assert row["segments"] == 2, (name, len(text), text)
        else:
            assert len(text) <= SINGLE_SEGMENT and row["segments"] == 1, (name, len(text), text)


def test_every_resident_notice_names_the_service_and_how_to_reach_it(delivered):
    config, rows = delivered
    for name, row in rows.items():
        if name in WITHOUT_CONTACT:
            continue
        text = row["text"]
        assert "居住证" in text, name
        assert text.endswith(f"咨询{config.contact}"), (name, text)


def test_every_deadline_is_stated_with_the_day_included(delivered):
    _config, rows = delivered
    for name, body in TEMPLATES.items():
        for var in DATES:
            if "${" + var + "}" in body:
                assert re.search(r"\$\{" + var + r"\}（含）", body), (name, body)
                text = rows[name]["text"]
                assert f"{LONGEST[var]}（含）" in text, name
    resident = [n for n in TEMPLATES if n not in WITHOUT_CONTACT and any("${" + v + "}" in TEMPLATES[n] for v in DATES)]
    assert all("（含）前" in rows[n]["text"] for n in resident) and resident


def test_a_refused_endorsement_has_its_own_text():
    refused, rejected = TEMPLATES["endorsement_not_granted"], TEMPLATES["application_rejected"]
    assert refused != rejected and "签注" in refused and "签注" not in rejected
    assert "我的居住证" in refused  # the permit still exists: what to do is there


def test_a_contact_that_does_not_fit_is_refused_naming_it(data_dir, sqlite_url):
    from govcred.core.exceptions import ConfigError

    for bad in ("0578-68123456", "【青田】", "x"):
        with pytest.raises(ConfigError, match="contact must be 2-12 characters"):
            sms_config(make_settings(data_dir, sqlite_url, plugins={"sms_gateway": {"contact": bad}}))
