"""``govcred audit verify | checkpoint | prove``: the audit log against its signed checkpoints."""

from __future__ import annotations

import sys

import click

from govcred.core.cli.context import AppContext, echo_json, pass_app

NAMES = {
    "modified": "记录被修改",
    "missing": "记录缺失",
    "truncated": "日志被截断",
    "rewritten": "日志被重写",
    "rolled_back": "数据库为旧副本",
    "missing_checkpoint": "缺少检查点",
    "bad_checkpoint": "检查点签名无效",
}


@click.group()
def audit() -> None:
    """Audit log: verify it against the signed checkpoints, write one, prove an entry."""


def audit_report(app: AppContext):
    """The audit log checked against every witness (also what ``govcred db check`` runs)."""
    from govcred.core.audit_verify import verify_audit

    rt = app.runtime
    return verify_audit(rt.uow, rt.settings, rt.clock, rt.audit_witnesses, rt.secrets.audit_key)


def echo_report(report) -> None:
    click.echo(
        f"审计日志 {report.entries} 条 (entries); 已入树 {report.tree_size} (in the tree); "
        f"待签 {report.pending} (pending)"
    )
    cp = report.checkpoint
    if cp:
        click.echo(
            f"最新检查点 (latest checkpoint): {cp['tree_size']} 条, {cp['at']}, root {cp['root_hash']} [{cp['witness']}]"
        )
    else:
        click.echo("最新检查点 (latest checkpoint): 无 (none)")
    for w in report.witnesses:
        if w["error"]:
            click.echo(f"  见证方不可用 (witness unavailable) {w['name']}: {w['error']}")
    for p in report.as_json()["problems"]:
        where = f"位置 {p['position']}" if p["position"] is not None else "—"
        seq = f" (seq {p['seq']})" if p["seq"] is not None else ""
        click.echo(f"  {where}{seq}: {NAMES.get(p['problem'], p['problem'])} [{p['problem']}] — {p['message']}")
    click.echo("完整 (log intact)" if report.ok else "已被篡改 (log BROKEN)")


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def audit_verify(app: AppContext, as_json: bool) -> None:
    """Check every entry against the newest signed checkpoint the witnesses hold; exit 1 on
    truncation, rewriting, an older copy, a missing checkpoint or an edited entry."""
    app.checkpoint_on_close = False
    report = audit_report(app)
    if as_json:
        echo_json(report.as_json())
    else:
        echo_report(report)
    sys.exit(0 if report.ok else 1)


@audit.command("checkpoint")
@pass_app
def audit_checkpoint(app: AppContext) -> None:
    """Put pending entries into the tree and publish a signed checkpoint now."""
    published = app.runtime.checkpointer.checkpoint()
    c = published.checkpoint
    click.echo(f"检查点 (checkpoint): {c.tree_size} 条 (entries), root {c.root_hash.hex()}, {c.at.isoformat()}")
    witnesses = app.runtime.audit_witnesses
    for error in published.witness_errors:
        click.echo(f"  未送达 (not stored): {error}", err=True)
    stored = len(witnesses) - len(published.witness_errors)
    click.echo(f"已送达见证方 (stored by witnesses): {stored}/{len(witnesses)}")
    sys.exit(0 if stored else 1)


@audit.command("prove")
@click.argument("seq", type=int)
@pass_app
def audit_prove(app: AppContext, seq: int) -> None:
    """Print (JSON) the RFC 9162 inclusion proof of entry SEQ in the latest witnessed checkpoint."""
    from govcred.core.audit_proofs import prove
    from govcred.core.checkpoint_note import CheckpointKey, key_path

    rt = app.runtime
    key = CheckpointKey.load(key_path(rt.settings.data_dir))
    with rt.uow(readonly=True) as uow:
        echo_json(prove(uow.session, seq, key=key, witnesses=rt.audit_witnesses, issuer=rt.settings.issuer))
