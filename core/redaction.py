"""Hiding secrets in settings before they are printed (``govcred config show``).

A credential is often not a setting of its own but part of a URL: ``https://user:secret@host``,
``postgresql://app:pw@db/govcred``, ``https://hook.example/x?token=...``. Every string that
parses as a URL with a network location has its password (or, with no password, its bare
user part -- a token put there, as many webhook URLs do) and its secret-looking query values
replaced by the marker, wherever it appears: core settings, plugin tables, environment
variables, lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MARKER = "********"
#: A setting or query parameter whose name contains one of these holds a secret.
SECRET_WORDS = ("secret", "password", "passphrase", "token", "key_id", "access_key", "apikey", "api_key")
#: Query parameters that carry credentials although their names say little.
SECRET_QUERY_NAMES = frozenset({"key", "sig", "signature", "auth", "pwd", "pass", "code", "credential"})


def mask(value: Any) -> Any:
    return MARKER if value else ""


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def redact_url(text: str) -> str:
    """``text`` with the credentials inside it hidden; text that is not a URL is returned as is."""
    if "://" not in text:
        return text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises on a malformed port, which we then leave alone
    except ValueError:
        return _redact_userinfo_by_hand(text)
    if not parts.scheme or not parts.netloc:
        return text
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:{MARKER}@{host}" if sep else f"{MARKER}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_secret_query(name) for name, _ in pairs):
            query = urlencode(
                [(name, MARKER if _secret_query(name) and value else value) for name, value in pairs], safe="*"
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secret_query(name: str) -> bool:
    return is_secret_name(name) or name.lower() in SECRET_QUERY_NAMES


def _redact_userinfo_by_hand(text: str) -> str:
    # urlsplit refused it (e.g. a bad port); still hide whatever sits before the last "@"
    scheme, rest = text.split("://", 1)
    if "@" not in rest:
        return text
    _userinfo, host = rest.rsplit("@", 1)
    return f"{scheme}://{MARKER}@{host}"


def redact_value(value: Any) -> Any:
    """Strings have URL credentials hidden; lists and mappings are walked."""
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


def redact_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """Secret-named entries masked whole; every other entry through :func:`redact_value`."""
    return {k: (mask(v) if is_secret_name(str(k)) else redact_value(v)) for k, v in values.items()}
