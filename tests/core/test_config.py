"""Settings: defaults < config file < environment; every problem reported at once."""
from __future__ import annotations

import pytest

from govcred.core.config import load_settings
from govcred.core.exceptions import ConfigError


def test_environment_overrides_the_config_file(tmp_path):
    (tmp_path / "govcred.toml").write_text('sms_backend = "http"\nverifier_urls = ["http://file:8100"]\n',
                                           encoding="utf-8")
    from_file = load_settings(tmp_path, env={})
    assert from_file.sms_backend == "http" and from_file.verifier_urls == ("http://file:8100",)
    from_env = load_settings(tmp_path, env={"GOVCRED_VERIFIER_URLS": "http://a:8100/, http://b"})
    assert from_env.verifier_urls == ("http://a:8100/", "http://b")


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, env={"GOVCRED_MODE": "production", "GOVCRED_LEEWAY_SECONDS": "90",
                                     "GOVCRED_KEY_ALGORITHM": "HS256"})
    problems = caught.value.details["problems"]
    assert len(problems) >= 5  # algorithm, leeway, passphrase, secret key, https issuer


def test_unknown_setting_in_the_file_is_named(tmp_path):
    (tmp_path / "govcred.toml").write_text('sms_backnd = "http"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="sms_backnd"):
        load_settings(tmp_path, env={})
