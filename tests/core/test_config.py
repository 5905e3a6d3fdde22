"""Settings: defaults < config file < environment; every problem reported at once."""

from __future__ import annotations

import pytest

from govcred.core.config import load_settings
from govcred.core.exceptions import ConfigError


def test_environment_overrides_the_config_file(tmp_path):
    (tmp_path / "govcred.toml").write_text(
        'mode = "development"\nverifier_urls = ["http://file:8100"]\n', encoding="utf-8"
    )
    from_file = load_settings(tmp_path, env={})
    assert from_file.verifier_urls == ("http://file:8100",)
    from_env = load_settings(tmp_path, env={"GOVCRED_VERIFIER_URLS": "http://a:8100/, http://b"})
    assert from_env.verifier_urls == ("http://a:8100/", "http://b")


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(
            tmp_path,
            env={"GOVCRED_MODE": "production", "GOVCRED_LEEWAY_SECONDS": "90", "GOVCRED_KEY_ALGORITHM": "HS256"},
        )
    problems = caught.value.details["problems"]
    assert len(problems) >= 5  # algorithm, leeway, passphrase, secret key, https issuer


def test_unknown_setting_in_the_file_is_named(tmp_path):
    (tmp_path / "govcred.toml").write_text('sms_backnd = "http"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="sms_backnd"):
        load_settings(tmp_path, env={})


def test_an_unknown_setting_and_values_of_the_wrong_type_are_named_with_every_other_problem(tmp_path):
    """An unknown name stopped the reading there (the file's other mistakes came one run at a
    time), and a value of the wrong type (a list for a number, a number for a URL) ended every
    command in a TypeError / AttributeError traceback."""
    (tmp_path / "govcred.toml").write_text(
        'sms_backend = "dev"\nmode = "prod"\nleeway_seconds = [1]\nissuer = 5\n'
        "worker_in_serve = 3\nworker_batch = true\nverifier_urls = [1]\nplugins = 5\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, env={"GOVCRED_JOB_POLL_SECONDS": "soon"})
    problems = caught.value.details["problems"]
    assert problems == [
        f"配置文件 {tmp_path / 'govcred.toml'} 中有未知的设置：sms_backend",
        "issuer 应为文字，现为 5",
        "leeway_seconds 应为整数，现为 [1]",
        "worker_in_serve 应为 true 或 false，现为 3",
        "worker_batch 应为整数，现为 True",
        "job_poll_seconds 应为整数，现为 'soon'",
        "verifier_urls 应为文字列表（或以逗号分隔的文字），现为 [1]",
        "plugins 应为表（[plugins]），现为 5",
        "mode 应为 development、production 之一，现为 'prod'",
    ]


def test_plugins_find_the_variables_no_core_setting_reads(tmp_path):
    """``environ`` holds the host's other ``GOVCRED_*`` variables, for plugins to read their own
    overrides; core's own variables, empty values and unrelated variables stay out."""
    env = {
        "GOVCRED_EXAMPLE_URL": "https://gw",
        "GOVCRED_EXAMPLE_SECRET": "s3cret",
        "GOVCRED_EXAMPLE_EMPTY": "",
        "GOVCRED_ISSUER": "https://qt.example.gov.cn",
        "GOVCRED_CONFIG": str(tmp_path / "elsewhere.toml"),
        "HOME": "/root",
    }
    (tmp_path / "elsewhere.toml").write_text("", encoding="utf-8")
    settings = load_settings(tmp_path, env=env)
    assert settings.environ == {"GOVCRED_EXAMPLE_URL": "https://gw", "GOVCRED_EXAMPLE_SECRET": "s3cret"}
    shown = settings.redacted()["environ"]
    assert shown == {"GOVCRED_EXAMPLE_URL": "https://gw", "GOVCRED_EXAMPLE_SECRET": "********"}


def test_the_file_cannot_set_the_environment(tmp_path):
    (tmp_path / "govcred.toml").write_text('[environ]\nGOVCRED_EXAMPLE_URL = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="environ"):
        load_settings(tmp_path, env={})


def test_audit_witness_settings_are_checked_together(tmp_path):
    env = {
        "GOVCRED_AUDIT_WITNESS_DIR": str(tmp_path / "var" / "witness"),
        "GOVCRED_AUDIT_WITNESS_URLS": "https://witness.example.gov.cn/cp, ftp://old",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "var", env=env, audit_checkpoint_entries=0)
    assert caught.value.details["problems"] == [
        "audit_checkpoint_entries 至少为 1，现为 0",
        f"audit_witness_dir 应在数据目录之外（否则复制或恢复数据时会一并带走见证文件），现为 {tmp_path / 'var' / 'witness'}",
        "audit_witness_urls 应为 http(s) 网址，现为 'ftp://old'",
    ]


def test_the_file_witness_defaults_to_the_users_state_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    settings = load_settings(tmp_path / "var", env={})
    assert settings.witness_dir.parent == tmp_path / "state" / "govcred" / "audit-witness"
    assert settings.witness_dir.name.startswith("var-")
    assert (
        load_settings(tmp_path / "var", env={"GOVCRED_AUDIT_WITNESS_DIR": "/srv/w"}).witness_dir.as_posix() == "/srv/w"
    )


def test_a_config_file_named_by_govcred_config_must_exist(tmp_path):
    """An operator who names a config file means it: running on the defaults would hide a typo."""
    with pytest.raises(ConfigError, match=r"GOVCRED_CONFIG 指定的配置文件 .*missing\.toml 不存在或不是文件"):
        load_settings(tmp_path, env={"GOVCRED_CONFIG": str(tmp_path / "missing.toml")})
    with pytest.raises(ConfigError, match="不存在或不是文件"):
        load_settings(tmp_path, env={"GOVCRED_CONFIG": str(tmp_path)})  # a directory


def test_an_unusable_database_url_is_named_with_the_other_problems(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, env={"GOVCRED_DATABASE_URL": "postgress://u:pw@db/govcred", "GOVCRED_MODE": "prod"})
    problems = caught.value.details["problems"]
    assert problems[0].startswith("database_url 不是可用的数据库地址 (postgress://u:********@db/govcred)")
    assert "pw" not in problems[0]
    assert problems[1] == "mode 应为 development、production 之一，现为 'prod'"
    with pytest.raises(ConfigError, match="database_url 不是可用的数据库地址"):
        load_settings(tmp_path, env={"GOVCRED_DATABASE_URL": "not a url"})
    assert load_settings(tmp_path, env={"GOVCRED_DATABASE_URL": "postgresql://u:pw@db/govcred"}).database_url


def test_each_data_directory_has_its_own_default_witness_directory(tmp_path, monkeypatch):
    """Every data directory on the machine shared ~/.local/state/govcred/audit-witness: a copy
    of a deployment (same log) appended its checkpoints to the other's witness file."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    first, second = (load_settings(tmp_path / name / "var", env={}) for name in ("county-a", "county-b"))
    assert first.witness_dir != second.witness_dir
    assert first.witness_dir.parent == second.witness_dir.parent == first.shared_witness_dir
    (tmp_path / "county-a").mkdir()
    monkeypatch.chdir(tmp_path / "county-a")
    assert load_settings("var", env={}).witness_dir == first.witness_dir  # the same directory, however named
    configured = {"GOVCRED_AUDIT_WITNESS_DIR": str(tmp_path / "w")}
    assert load_settings(tmp_path / "county-a" / "var", env=configured).witness_dir == tmp_path / "w"


def test_a_config_file_nested_too_deep_is_a_configuration_error(tmp_path):
    """tomllib raises RecursionError (no TOMLDecodeError) for arrays nested thousands deep."""
    (tmp_path / "govcred.toml").write_text("x = " + "[" * 100_000)
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path, env={})
    assert "嵌套层数过多" in refused.value.message
