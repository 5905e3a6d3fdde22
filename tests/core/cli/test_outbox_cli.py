"""`govcred outbox list/show/retry` and `govcred worker`, through click's runner."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from govcred.core.cli import AppContext
from govcred.core.cli.outbox import outbox, worker
from govcred.core.exceptions import NotFound
from govcred.core.orm import outbox as outbox_table
from govcred.testing import make_runtime
from tests.core.outbox_stub import ChannelPlugin, HttpChannel, gateway  # noqa: F401 (gateway is a fixture)


def _app(rt) -> AppContext:
    """What the root group puts on the context, with the test runtime already built."""
    app = AppContext(str(rt.settings.data_dir))
    app.settings, app.runtime = rt.settings, rt  # cached properties: plain attributes win
    return app


@pytest.fixture
def rt(sqlite_url, data_dir, clock, gateway):
    from govcred.testing import make_settings

    rt = make_runtime(
        make_settings(data_dir, sqlite_url),
        clock,
        extra_plugins=[(ChannelPlugin(HttpChannel(gateway.url, read_timeout=0.5)), "test_channel")],
    )
    yield rt
    rt.close()


@pytest.fixture
def run(rt):
    runner = CliRunner()
    app = _app(rt)

    def invoke(command, *args: str):
        return runner.invoke(command, list(args), obj=app)

    return invoke


def add(rt, channel="test_http", aggregate_id="app-1", n=1, phone=None) -> list[str]:
    with rt.uow() as uow:
        ids = [
            uow.outbox.add(
                channel,
                "application.accepted",
                {"deadline": "2026-12-03"},
                aggregate_type="application",
                aggregate_id=aggregate_id,
                secret={"phone": phone} if phone else None,
            )
            for _ in range(n)
        ]
        uow.commit()
    return ids


def test_worker_drain_prints_a_summary(run, rt, gateway):
    ids = add(rt, n=3)
    result = run(worker, "--drain", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["delivered"], summary["dead"], summary["retried"]) == (3, 0, 0)
    assert set(gateway.effects) == set(ids)
    human = run(worker, "--drain", "--max-seconds", "5")
    assert human.exit_code == 0 and "已投递 0" in human.output
    more = add(rt, aggregate_id="app-2", n=2)
    one_by_one = run(worker, "--drain", "--record-every", "1", "--concurrency", "2", "--batch", "1", "--json")
    assert json.loads(one_by_one.stdout)["delivered"] == 2 and set(more) <= set(gateway.effects)


def test_list_filters_dead_letters_and_channels(run, rt, gateway):
    [bad] = add(rt, aggregate_id="bad")
    [good] = add(rt, aggregate_id="good")
    [other] = add(rt, channel="not_installed", aggregate_id="x")
    gateway.responder = lambda key, body: ("status", 400) if key == bad else ("ok",)
    run(worker, "--drain")

    listed = json.loads(run(outbox, "list", "--json").stdout)
    assert {r["id"]: r["status"] for r in listed} == {bad: "dead", good: "delivered", other: "dead"}
    dead = json.loads(run(outbox, "list", "--dead", "--json").stdout)
    assert {r["id"] for r in dead} == {bad, other}
    only_test = json.loads(run(outbox, "list", "--dead", "--channel", "test_http", "--json").stdout)
    assert [r["id"] for r in only_test] == [bad]
    human = run(outbox, "list", "--dead").output
    assert bad in human and "死信" in human and "400" in human and good not in human


def test_show_hides_the_encrypted_secret_and_names_the_error(run, rt, gateway):
    [message_id] = add(rt, phone="13812345678")
    gateway.script.append(("status", 503, {"Retry-After": "30"}))
    run(worker, "--drain")
    shown = json.loads(run(outbox, "show", message_id, "--json").stdout)
    assert shown["payload"] == {"deadline": "2026-12-03"} and shown["has_secret"] is True
    assert shown["status"] == "pending" and shown["attempts"] == 1 and "503" in shown["last_error"]
    human = run(outbox, "show", message_id)
    assert human.exit_code == 0
    assert "待投递" in human.output and "503" in human.output and "加密" in human.output
    assert "13812345678" not in human.output and "_secret" not in human.output


def test_show_unknown_id_is_not_found(run):
    result = run(outbox, "show", "nope")
    assert isinstance(result.exception, NotFound) and "nope" in result.exception.message


def test_retry_after_the_fix_delivers_once_and_a_second_retry_says_already_delivered(run, rt, gateway):
    [message_id] = add(rt)
    gateway.script.append(("status", 400))
    run(worker, "--drain")
    first = run(outbox, "retry", message_id)
    assert first.exit_code == 0 and "已重新排队" in first.output and "was dead after 1 attempts" in first.output
    with rt.engine.connect() as conn:
        row = conn.execute(sa.select(outbox_table).where(outbox_table.c.id == message_id)).one()
    assert (row.status, row.attempts) == ("pending", 0)
    run(worker, "--drain")
    second = run(outbox, "retry", message_id)
    assert second.exit_code == 0 and "already delivered" in second.output
    run(worker, "--drain")
    assert gateway.effects[message_id] == 1 and len(gateway.requests_for(message_id)) == 2
    with rt.engine.connect() as conn:
        audit = conn.execute(sa.text("SELECT details FROM audit_log WHERE action = 'outbox.retry' ORDER BY seq")).all()
    assert [json.loads(d) if isinstance(d, str) else d for (d,) in audit] == [
        {"result": "requeued", "previous_status": "dead", "previous_attempts": 1},
        {"result": "already_delivered", "previous_status": "delivered", "previous_attempts": 1},
    ]


def test_retry_with_unknown_ids_names_all_of_them_and_changes_nothing(run, rt, gateway):
    [message_id] = add(rt)
    gateway.script.append(("status", 400))
    run(worker, "--drain")
    result = run(outbox, "retry", message_id, "missing-1", "missing-2")
    assert isinstance(result.exception, NotFound)
    assert "missing-1" in result.exception.message and "missing-2" in result.exception.message
    with rt.engine.connect() as conn:
        assert conn.execute(sa.select(outbox_table.c.status)).scalar_one() == "dead"
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log WHERE action = 'outbox.retry'")).scalar() == 0


def test_list_says_a_night_time_sms_waits_for_the_morning(run, rt, clock):
    import datetime as dt

    from govcred.core.clock import BEIJING, next_daytime

    clock.set(dt.datetime(2026, 12, 1, 22, 30, tzinfo=BEIJING))
    with rt.uow() as uow:
        night = uow.outbox.add(
            "test_http",
            "application.accepted",
            {"deadline": "2026-12-03"},
            aggregate_type="application",
            aggregate_id="night",
            not_before=next_daytime(clock.now()),
        )
        uow.commit()
    [line] = [line for line in run(outbox, "list").output.splitlines() if night in line]
    assert "待投递" in line and "夜间不发送，2026年12月2日 08:00（北京时间）起投递" in line

    clock.set(dt.datetime(2026, 12, 2, 8, 0, tzinfo=BEIJING))
    [line] = [line for line in run(outbox, "list").output.splitlines() if night in line]
    assert "夜间不发送" not in line  # due now: the worker's next pass sends it
