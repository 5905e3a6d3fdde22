"""The ``sms`` channel on a real database: development log, idempotency, throttle, masking, CLI."""

from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner

from govcred.core.exceptions import PermanentDeliveryError, RetryableDeliveryError
from govcred.plugins.sms_gateway.channel import build_channel
from govcred.plugins.sms_gateway.config import sms_config
from govcred.plugins.sms_gateway.dev import recent_messages
from govcred.testing import make_settings
from tests.plugins.delivery_helpers import PHONE, message
from tests.plugins.gateway_stub import GatewayStub, Reply
from tests.production import PRODUCTION_PLUGIN_SETTINGS

LOGIN = {"template": "login_code", "params": {"code": "042917"}}
RECEIVED = {"template": "application_received", "params": {"ref": "1A2B3C4D", "deadline": "2026年12月2日"}}


@pytest.fixture
def channel(sqlite_runtime):
    return sqlite_runtime.channels["sms"]  # the configured gateway's, on the runtime's database and clock


def _channel(settings, runtime, clock):
    """The channel ``settings`` configure, on the database of ``runtime``."""
    return build_channel(sms_config(settings), engine=runtime.engine, secrets=runtime.secrets, clock=clock)


def test_dev_backend_logs_the_message_with_the_phone_masked(channel, sqlite_runtime):
    result = channel(message(RECEIVED))
    assert result["backend"] == "dev" and result["segments"] == 1 and result["chars"] <= 70
    [row] = recent_messages(sqlite_runtime.engine)
    assert row["id"] == "m-1" and row["phone_masked"] == "138****1234" and row["segments"] == 1
    assert row["text"].startswith("【青田公安】您的居住证申请（编号1A2B3C4D）已受理")
    assert PHONE not in json.dumps({k: str(v) for k, v in row.items()})


def test_a_redelivery_adds_no_second_row(channel, sqlite_runtime):
    channel(message(RECEIVED, message_id="same"))
    channel(message(RECEIVED, message_id="same"))
    assert [r["id"] for r in recent_messages(sqlite_runtime.engine)] == ["same"]


def test_no_phone_or_bad_template_fail_permanently(channel):
    with pytest.raises(PermanentDeliveryError, match="no valid mobile number"):
        channel(message(RECEIVED, phone=""))
    with pytest.raises(PermanentDeliveryError, match="unknown SMS template"):
        channel(message({"template": "promo", "params": {}}))
    with pytest.raises(PermanentDeliveryError, match="params must be an object"):
        channel(message({"template": "login_code", "params": ["042917"]}))


def test_login_codes_over_the_hourly_limit_fail_permanently(channel, clock):
    for i in range(5):
        channel(message(LOGIN, message_id=f"login-{i}"))
        clock.advance(minutes=1)
    with pytest.raises(PermanentDeliveryError, match="per-number limit") as info:
        channel(message(LOGIN, message_id="login-5"))
    assert info.value.code == "SMS_THROTTLED"
    # another number is not affected, and a redelivery of a counted message is not throttled
    channel(message(LOGIN, phone="13912345678", message_id="other"))
    channel(message(LOGIN, message_id="login-4"))
    # an hour after the first code the window has room again
    clock.advance(minutes=56)
    channel(message(LOGIN, message_id="login-6"))


def test_notifications_over_the_daily_limit_are_retried_when_the_window_frees(channel, clock):
    for i in range(10):
        channel(message(RECEIVED, message_id=f"n-{i}"))
        clock.advance(hours=1)
    with pytest.raises(RetryableDeliveryError) as info:
        channel(message(RECEIVED, message_id="n-10"))
    # the first of the ten was sent 10 hours ago: it leaves the 24-hour window in 14 hours
    assert info.value.retry_after == 14 * 3600
    # login codes are counted apart from notifications
    channel(message(LOGIN, message_id="code"))


def test_limits_come_from_the_config(sqlite_runtime, data_dir, sqlite_url, clock):
    settings = make_settings(data_dir, sqlite_url, plugins={"sms_gateway": {"login_codes_per_hour": 1}})
    channel = _channel(settings, sqlite_runtime, clock)
    channel(message(LOGIN, message_id="a"))
    with pytest.raises(PermanentDeliveryError):
        channel(message(LOGIN, message_id="b"))


def test_http_backend_through_the_channel_reports_segments_and_provider_id(sqlite_runtime, data_dir, sqlite_url, clock):
    with GatewayStub(lambda r: Reply(200, {"id": "gw-1"})) as stub:
        settings = make_settings(data_dir, sqlite_url, plugins={"sms_gateway": {"backend": "http", "url": stub.url}})
        channel = _channel(settings, sqlite_runtime, clock)
        long = {
            "template": "application_rejected",
            "params": {"ref": "1A2B3C4D", "reasons": "本县户籍、未作承诺、居住地不在本县、无合法稳定条件"},
        }
        result = channel(message(long, message_id="r-1"))
    assert result == {
        "backend": "http",
        "template": "application_rejected",
        "chars": result["chars"],
        "segments": 2,
        "provider_id": "gw-1",
    }
    assert 70 < result["chars"] <= 134
    assert stub.requests[0].headers["Idempotency-Key"] == "r-1"
    assert recent_messages(sqlite_runtime.engine) == []  # only the dev backend logs


def test_logs_never_show_the_full_phone(channel, caplog):
    caplog.set_level(logging.DEBUG)
    channel(message(RECEIVED, message_id="log-1"))
    with pytest.raises(PermanentDeliveryError):
        channel(message(RECEIVED, phone="1381234", message_id="log-2"))
    assert "138****1234" in caplog.text
    assert PHONE not in caplog.text and "1381234" not in caplog.text


def test_production_log_hides_login_codes(sqlite_runtime, data_dir, sqlite_url, clock):
    settings = make_settings(data_dir, sqlite_url, mode="production", plugins=PRODUCTION_PLUGIN_SETTINGS)
    _channel(settings, sqlite_runtime, clock)(message(LOGIN, message_id="p-1"))
    [row] = recent_messages(sqlite_runtime.engine)
    assert "042917" not in row["text"] and "******" in row["text"]


def test_sms_log_command_shows_the_code_in_development(channel, sqlite_runtime, clock):
    from govcred.core.cli import AppContext, cli
    from govcred.plugins.sms_gateway.cli import sms

    channel(message(RECEIVED, message_id="first"))
    clock.advance(minutes=1)
    channel(message(LOGIN, message_id="second"))
    app = AppContext(str(sqlite_runtime.settings.data_dir))
    app.__dict__["runtime"] = sqlite_runtime  # the test database, not a fresh one
    cli.add_command(sms)
    runner = CliRunner()
    result = runner.invoke(cli, ["sms", "log", "--limit", "1"], obj=app)
    assert result.exit_code == 0, result.output
    assert "042917" in result.output and "138****1234" in result.output and PHONE not in result.output
    assert "已受理" not in result.output  # --limit 1: the newest only
    result = runner.invoke(cli, ["sms", "log", "--json"], obj=app)
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == ["second", "first"] and rows[0]["phone_masked"] == "138****1234"


def test_concurrent_workers_never_share_the_last_slot(runtime, clock):
    """Eight deliveries to one number at once, limit five: exactly five admitted (both databases)."""
    import datetime as dt
    import threading

    from govcred.plugins.sms_gateway.throttle import LOGIN, Limit, Throttle

    throttle = Throttle(runtime.engine, {LOGIN: Limit(5, dt.timedelta(hours=1))}, clock)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def deliver(n: int) -> None:
        barrier.wait()
        try:
            throttle.admit(f"m-{n}", "ab" * 32, LOGIN)
            outcomes.append("sent")
        except PermanentDeliveryError:
            outcomes.append("throttled")

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["sent"] * 5 + ["throttled"] * 3


def test_two_runtimes_in_one_process_each_deliver_with_their_own_gateway(tmp_path, sqlite_template, clock):
    """No module-level state: each runtime's gateway has its own signature, database and limits."""
    import shutil

    from govcred.testing import make_runtime

    runtimes = []
    for county, signature in (("qingtian", "【青田公安】"), ("jinyun", "【缙云公安】")):
        data = tmp_path / county
        data.mkdir()
        shutil.copy(sqlite_template, data / "govcred.sqlite3")
        settings = make_settings(
            data,
            f"sqlite:///{data / 'govcred.sqlite3'}",
            plugins={"sms_gateway": {"signature": signature, "login_codes_per_hour": 1}},
        )
        runtimes.append(make_runtime(settings, clock))
    try:
        for rt in runtimes:
            rt.channels["sms"](message(LOGIN, message_id="same-id"))
        texts = [[r["text"][:6] for r in recent_messages(rt.engine)] for rt in runtimes]
        assert texts == [["【青田公安】"], ["【缙云公安】"]]
        with pytest.raises(PermanentDeliveryError):  # each ledger counts its own sends only
            runtimes[1].channels["sms"](message(LOGIN, message_id="second"))
    finally:
        for rt in runtimes:
            rt.close()
