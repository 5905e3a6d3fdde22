"""Personal data never reaches a log line (PIPL art. 51; security checklist W-13).

Every log record is rewritten as it is created, whatever logger or library wrote it:
resident ID numbers keep their first and last four characters (3301**********1234) and
mobile numbers their first three and last four (138****1234), in the message, its
arguments and any exception text. Installed once by :class:`core.runtime.Runtime`.
"""

from __future__ import annotations

import logging
import re
import threading

_ID = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")

_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    """Mask ID numbers and mobile numbers in ``text``."""
    if not any(c.isdigit() for c in text):
        return text
    return _PHONE.sub(r"\1****\2", _ID.sub(r"\1**********\2", text))


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
