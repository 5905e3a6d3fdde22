"""Delivery commands: ``govcred worker`` and ``govcred outbox list / show / retry``."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import click

from govcred.core.cli.context import AppContext, echo_json, pass_app

_STATUS_ZH = {"pending": "待投递", "inflight": "投递中", "delivered": "已投递", "dead": "投递失败(死信)"}


@click.command()
@click.option("--drain", is_flag=True, help="Stop as soon as nothing is due.")
@click.option("--max-seconds", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
@click.option("--batch", type=click.IntRange(min=1), default=None, help="Rows claimed at a time (default: settings).")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="Deliveries in flight at once (order per aggregate is kept).",
)
@click.option(
    "--lease-seconds",
    type=click.FloatRange(min=1),
    default=None,
    help="How long a claim stays with this worker if it dies (default 60).",
)
@click.option(
    "--record-every",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Outcomes written per transaction (1: one commit per message; more: fewer fsyncs, "
    "more re-sends after a crash, which receivers deduplicate).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def worker(
    app: AppContext,
    drain: bool,
    max_seconds: float | None,
    batch: int | None,
    concurrency: int,
    lease_seconds: float | None,
    record_every: int,
    as_json: bool,
) -> None:
    """Deliver outbox messages (SIGTERM/SIGINT: finish the message in hand, then stop)."""
    from govcred.core.production_checks import refuse_unsafe_production
    from govcred.core.worker import DEFAULT_LEASE_SECONDS, run_worker

    refuse_unsafe_production(app.runtime)  # a worker would deliver through the same backends
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    stop = threading.Event()

    def on_signal(signum, _frame):
        click.echo(
            f"收到信号 {signal.Signals(signum).name}，完成当前消息后停止 (stopping after the message in hand)", err=True
        )
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    from govcred.core.audit_checkpoints import BackgroundCheckpointer

    checkpoints = BackgroundCheckpointer(app.runtime.checkpointer, app.settings).start()
    try:
        stats = run_worker(
            app.runtime.relay,
            drain=drain,
            max_seconds=max_seconds,
            batch=batch,
            stop_event=stop,
            concurrency=concurrency,
            lease_seconds=lease_seconds or DEFAULT_LEASE_SECONDS,
            record_every=record_every,
        )
    finally:
        checkpoints.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if as_json:
        echo_json(stats.as_dict())
        return
    click.echo(
        f"投递进程 (worker) {stats.worker_id}: 已投递 {stats.delivered}，稍后重试 {stats.retried}，"
        f"死信 {stats.dead}，租约被接管 {stats.lost_lease}，退回 {stats.released}，"
        f"用时 {stats.seconds:.1f} 秒 (delivered/retry/dead/lease lost/released)"
    )


@click.group()
def outbox() -> None:
    """Outbox messages (SMS, provincial push): inspect and replay."""


@outbox.command("list")
@click.option("--dead", "dead_only", is_flag=True, help="Only dead letters.")
@click.option("--channel", default=None, help="Only this channel.")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def outbox_list(app: AppContext, dead_only: bool, channel: str | None, limit: int, as_json: bool) -> None:
    """List messages, newest first."""
    from govcred.core.outbox_admin import list_messages

    rows = list_messages(app.runtime.collaborators, dead_only=dead_only, channel=channel, limit=limit)
    now = app.runtime.clock.now()
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("没有消息 (no messages)")
        return
    for r in rows:
        line = (
            f"{r['id']}  {r['channel']:<16} {r['event_type']:<28} {r['aggregate_type']}:{r['aggregate_id']}"
            f"#{r['aggregate_seq']}  {_STATUS_ZH.get(r['status'], r['status'])}  尝试 {r['attempts']} 次"
        )
        wait = _waiting(r, now)
        if wait:
            line += f"  {wait}"
        if r["last_error"] and r["status"] != "delivered":
            line += f"  — {r['last_error'][:80]}"
        click.echo(line)


def _waiting(row: dict, now) -> str:
    """Why a pending message has not gone yet: a night-time SMS waits for the morning (it is
    held until 08:00 Beijing, not stuck), a failed one for its next retry."""
    from govcred.core.clock import BEIJING, DAYTIME_HOURS

    due = row.get("next_attempt_at")
    if row["status"] != "pending" or due is None or due <= now:
        return ""
    local = due.astimezone(BEIJING)
    when = f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（北京时间）"
    if row["attempts"]:
        return f"将于{when}重试 (next retry)"
    if (local.hour, local.minute, local.second) == (DAYTIME_HOURS[0], 0, 0):
        return f"夜间不发送，{when}起投递 (waits for daytime)"
    return f"定于{when}起投递 (not before)"


@outbox.command("show")
@click.argument("message_id")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def outbox_show(app: AppContext, message_id: str, as_json: bool) -> None:
    """One message: payload (personal data stays encrypted), attempts, last error, result."""
    from govcred.core.outbox_admin import show_message

    m = show_message(app.runtime.collaborators, message_id)
    if as_json:
        echo_json(m)
        return
    click.echo(f"消息 (message)   {m['id']}")
    click.echo(f"通道 (channel)   {m['channel']}  事件 (event) {m['event_type']}")
    click.echo(f"对象 (aggregate) {m['aggregate_type']}:{m['aggregate_id']} 序号 (seq) {m['aggregate_seq']}")
    click.echo(f"状态 (status)    {_STATUS_ZH.get(m['status'], m['status'])}，已尝试 {m['attempts']} 次 (attempts)")
    click.echo(f"创建 (created)   {m['created_at']:%Y-%m-%d %H:%M:%S} UTC")
    if m["status"] == "pending":
        click.echo(f"下次尝试 (next)  {m['next_attempt_at']:%Y-%m-%d %H:%M:%S} UTC")
    if m["delivered_at"]:
        click.echo(f"投递 (delivered) {m['delivered_at']:%Y-%m-%d %H:%M:%S} UTC")
    if m["last_error"]:
        click.echo(f"最近错误 (last error) {m['last_error']}")
    if m["result"]:
        click.echo(f"结果 (result)    {m['result']}")
    for w in m["waiting_for"]:
        click.echo(f"等待前序消息 (waits for seq {w['seq']}, {w['status']}) {w['id']}")
    for d in m["not_held_behind_dead"]:
        click.echo(f"前序消息 seq {d['seq']} 为死信，本消息不再等待它 (not held behind dead letter) {d['id']}")
    if m["status"] == "dead" and m.get("later_messages_flowing"):
        click.echo(
            f"注意：同一对象的后续 {m['later_messages_flowing']} 条消息不会等待本死信，已照常投递或排队 "
            f"(later messages of this aggregate are not held behind this dead letter)"
        )
    click.echo("内容 (payload):")
    echo_json(m["payload"])
    if m["has_secret"]:
        click.echo("(另有加密的个人信息，不显示 — encrypted personal data not shown)")


@outbox.command("retry")
@click.argument("message_ids", nargs=-1, required=True)
@pass_app
def outbox_retry(app: AppContext, message_ids: tuple[str, ...]) -> None:
    """Queue dead (or waiting) messages again now, with the same id; each retry is audited."""
    from govcred.core.outbox_admin import retry_messages

    for r in retry_messages(app.runtime.collaborators, message_ids, actor="cli"):
        if r.outcome == "requeued":
            click.echo(f"{r.id}: 已重新排队 (requeued; was {r.previous_status} after {r.previous_attempts} attempts)")
        elif r.outcome == "already_delivered":
            click.echo(f"{r.id}: 已投递，无需重试 (already delivered)")
        else:
            click.echo(f"{r.id}: 正在投递中，未改动 (being delivered right now, left alone)")


COMMANDS = [outbox, worker]
