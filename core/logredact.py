"""Personal data never reaches a log line (PIPL art. 51; security checklist W-13).

Every log record is rewritten as it is created, whatever logger or library wrote it:
resident ID numbers keep their first and last four characters (3301**********1234) and
mobile numbers their first three and last four (138****1234), in the message, its
arguments and any exception text. Installed once by :class:`core.runtime.Runtime`.

Query strings get one more pass, as an access log line carries them URL-encoded: a phone typed
``139 0000 6262`` arrives as ``q=139+0000+6262`` or ``q=139%200000%206262``, which the plain
patterns do not see. Each parameter value is decoded, stripped of the separators people type,
and re-encoded masked when it holds an ID number or a phone.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, unquote_plus

_ID = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_QUERY_STRING = re.compile(r"\?([^\s\"'#]+)")
#: what people type inside a number (spaces, hyphens, the full-width space, brackets)
_SEPARATORS = re.compile(r"[\s\-\u3000()（）]+")
_COUNTRY_CODE = re.compile(r"^(?:\+|00)?86(?=1[3-9]\d{9}$)")

_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    """Mask ID numbers and mobile numbers in ``text``."""
    if not any(c.isdigit() for c in text):
        return text
    if "?" in text:
        text = _QUERY_STRING.sub(_redact_query_string, text)
    return _mask(text)


def _mask(text: str) -> str:
    return _PHONE.sub(r"\1****\2", _ID.sub(r"\1**********\2", text))


def _redact_query_string(match: re.Match) -> str:
    pairs = []
    for pair in match.group(1).split("&"):
        name, eq, value = pair.partition("=")
        compact = _COUNTRY_CODE.sub("", _SEPARATORS.sub("", unquote_plus(value)))
        masked = _mask(compact)
        pairs.append(f"{name}{eq}{quote(masked, safe='*')}" if masked != compact else pair)
    return "?" + "&".join(pairs)


def install_log_redaction() -> None:
    """Wrap the log-record factory so every record is redacted at creation (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()
        formatter = logging.Formatter()

        def factory(*args, **kwargs) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                message = record.getMessage()
            except Exception:  # a broken format string: leave it for the handler to report
                return record
            record.msg, record.args = redact(message), ()
            if record.exc_info and not record.exc_text:
                record.exc_text = redact(formatter.formatException(record.exc_info))
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
