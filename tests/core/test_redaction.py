"""`govcred config show` hides credentials inside URLs as it hides other secrets."""

from __future__ import annotations

import pytest

from govcred.core.config import load_settings
from govcred.core.redaction import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:secret@push.example/api", "https://user:********@push.example/api"),
        ("postgresql://app:pw@db:5432/govcred", "postgresql://app:********@db:5432/govcred"),
        ("https://ghp_abcdef@hooks.example/x", "https://********@hooks.example/x"),
        ("https://sms.example/send?token=abc123&to=1", "https://sms.example/send?token=********&to=1"),
        (
            "https://x.example/?access_token=t&sig=s&page=2",
            "https://x.example/?access_token=********&sig=********&page=2",
        ),
        ("https://verifier.example/api", "https://verifier.example/api"),
        ("sqlite:////var/lib/govcred/govcred.sqlite3", "sqlite:////var/lib/govcred/govcred.sqlite3"),
        ("https://user:pw@host:notaport/x", "https://********@host:notaport/x"),
        ("just text", "just text"),
    ],
)
def test_credentials_inside_a_url_are_hidden(url, shown):
    assert redact_url(url) == shown


def test_config_show_hides_url_credentials_everywhere(tmp_path):
    (tmp_path / "govcred.toml").write_text(
        'verifier_urls = ["https://v:vpass@verifier.example"]\n'
        "[plugins.provincial_push]\n"
        'url = "https://push:pushpass@platform.example/in?token=pushtoken"\n',
        encoding="utf-8",
    )
    env = {
        "GOVCRED_DATABASE_URL": "postgresql://govcred:dbpass@db.example/govcred?sslpassword=tlsphrase",
        "GOVCRED_SMS_URL": "https://gw.example/send?apikey=smskey",
    }
    shown = load_settings(tmp_path, env=env).redacted()
    text = repr(shown)
    for secret in ("vpass", "pushpass", "pushtoken", "dbpass", "tlsphrase", "smskey"):
        assert secret not in text, secret
    assert shown["database_url"] == "postgresql://govcred:********@db.example/govcred?sslpassword=********"
    assert shown["verifier_urls"] == ["https://v:********@verifier.example"]
    assert shown["plugins"]["provincial_push"]["url"] == "https://push:********@platform.example/in?token=********"
    assert shown["environ"]["GOVCRED_SMS_URL"] == "https://gw.example/send?apikey=********"
