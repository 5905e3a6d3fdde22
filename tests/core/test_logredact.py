"""No full ID number or mobile number in any log record, exception text included."""

from __future__ import annotations

import logging
import re

from govcred.core.logredact import install_log_redaction, redact

CANARY_ID = "110101199001011237"
CANARY_PHONE = "13812345678"
FULL_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def test_redact_masks_ids_and_phones_but_not_other_numbers():
    assert redact(f"id {CANARY_ID} phone {CANARY_PHONE}") == "id 1101**********1237 phone 138****5678"
    assert redact("33011219900307001x") == "3301**********001x"
    assert redact("permit ZJ331121202612345678 order 123456") == "permit ZJ331121202612345678 order 123456"
    assert redact("no digits here") == "no digits here"


def test_query_strings_are_masked_however_the_number_was_encoded():
    line = '"GET /officer/search?q={} HTTP/1.1" 200 -'
    for typed in ("138+1234+5678", "138%201234%205678", "138-1234-5678", "%2B86%20138%201234%205678", "8613812345678"):
        assert redact(line.format(typed)) == line.format("138****5678"), typed
    encoded_id = "".join(f"%{ord(c):02X}" for c in CANARY_ID)  # every character escaped
    assert redact(line.format(encoded_id)) == line.format("1101**********1237")
    assert redact(line.format("1101+0119+9001+0112+37")) == line.format("1101**********1237")
    other = "GET /api/v1/applications?q=7K3M9QX2TADD&limit=50&after=MjAyNi0xMi0wMg HTTP/1.1"
    assert redact(other) == other  # a reference, a limit and a cursor are left as they were


def test_every_record_is_redacted_whoever_logs_it(runtime, caplog):
    install_log_redaction()
    caplog.set_level(logging.INFO)
    logging.getLogger("some.library").info("looked up %s for %s", CANARY_ID, CANARY_PHONE)
    try:
        raise ValueError(f"bad applicant {CANARY_ID}")
    except ValueError:
        logging.getLogger("govcred.test").exception("failed for %s", CANARY_PHONE)
    text = "\n".join(caplog.messages) + "\n".join(r.exc_text or "" for r in caplog.records) + caplog.text
    assert CANARY_ID not in text and CANARY_PHONE not in text
    assert not FULL_ID.search(text)
    assert "1101**********1237" in text and "138****5678" in text
