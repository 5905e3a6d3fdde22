"""``govcred sms log``: the development backend's messages, newest first, phones masked."""

from __future__ import annotations

import json

import click

from govcred.plugins.sms_gateway.dev import recent_messages


@click.group("sms")
def sms() -> None:
    """短信 (SMS): development log."""


@sms.command("log")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="How many messages.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def log_command(app, limit: int, as_json: bool) -> None:
    """Show the messages the development backend recorded (开发环境短信记录)."""
    rows = recent_messages(app.runtime.engine, limit)
    if as_json:
        click.echo(
            json.dumps([{**r, "created_at": r["created_at"].isoformat()} for r in rows], ensure_ascii=False, indent=2)
        )
        return
    if not rows:
        click.echo("没有短信记录 (no messages)")
        return
    for r in rows:
        click.echo(f"{r['created_at']:%Y-%m-%d %H:%M:%S}Z  {r['phone_masked']}  {r['segments']}条  {r['text']}")
