"""``govcred init`` and ``govcred db upgrade``: create or migrate the data directory."""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from govcred.core.cli.context import AppContext, echo_json, pass_app
from govcred.core.filemodes import private_dir

DEMO_OFFICERS = (("clerk", "窗口受理员", "clerk"), ("reviewer", "审核员", "reviewer"), ("admin", "系统管理员", "admin"))


def demo_logins_path(settings) -> Path:
    return Path(settings.data_dir) / "secrets" / "demo-logins.txt"


@click.command()
@click.option("--no-demo-accounts", is_flag=True, help="Do not create the development demo officers.")
@pass_app
def init(app: AppContext, no_demo_accounts: bool) -> None:
    """Create or migrate the data directory: database, signing key, (development) demo accounts."""
    settings = app.settings
    data = Path(settings.data_dir)
    private_dir(data)
    private_dir(settings.uploads_dir)
    rt = app.runtime
    migrate(rt)
    key = rt.keystore.ensure_key()
    click.echo(f"数据目录 (data directory): {data.resolve()}")
    click.echo(f"数据库 (database): {_redacted(settings)}")
    click.echo(f"签名密钥 (signing key): {key.kid} {key.alg}{' [开发密钥 development key]' if key.development else ''}")
    if not (settings.production or no_demo_accounts) and _ensure_demo_officers(rt):
        click.echo(f"已创建演示账号 (demo accounts created), see {demo_logins_path(settings)}")
    checkpoint = rt.checkpointer.checkpoint().checkpoint  # the witnesses know the log from its first day
    click.echo(f"审计检查点 (audit checkpoint): {checkpoint.tree_size} 条 (entries), witness {settings.witness_dir}")


def migrate(rt) -> None:
    """Every pending migration, then the search indexes a migration cannot fill itself (it
    has neither the blind-index key nor the credential types: core/services/search_indexes.py)."""
    from govcred.core.migrate import upgrade
    from govcred.core.services.search_indexes import fill_phone_indexes

    upgrade(rt.engine, rt.pm)
    filled = fill_phone_indexes(rt.collaborators)
    if filled:
        click.echo(f"已为 {filled} 件申请建立手机号检索索引 (phone search index filled)")


def _redacted(settings) -> str:
    return settings.redacted()["database"]


def _ensure_demo_officers(rt) -> bool:
    from urllib.parse import parse_qs, urlsplit

    from govcred.core.accounts.officers import create_officer
    from govcred.core.accounts.totp import enrol, requires_totp

    path = demo_logins_path(rt.settings)
    if path.exists():
        return False
    lines = []
    with rt.uow() as uow:
        for username, name, role in DEMO_OFFICERS:
            if uow.officers.by_username(username) is not None:
                continue
            password = f"demo-{secrets.token_urlsafe(12)}"
            officer = create_officer(
                uow,
                username=username,
                display_name=name,
                role=role,
                password=password,
                now=rt.clock.now(),
                actor="system",
            )
            officer.demo = True  # production mode refuses to start while it is active
            line = f"{role}\t{username}\t{password}"
            if requires_totp(officer):  # every officer logs in with a TOTP code as well
                uri = enrol(uow, officer, rt.secrets.cipher, actor="system")
                line += f"\ttotp-seed={parse_qs(urlsplit(uri).query)['secret'][0]}\t{uri}"
            lines.append(line)
        uow.commit()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return bool(lines)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: AppContext) -> None:
    """Apply every pending migration (core and plugins)."""
    from govcred.core.migrate import current_heads

    rt = app.runtime
    before = ", ".join(sorted(current_heads(rt.engine, rt.pm))) or "base"
    migrate(rt)
    after = ", ".join(sorted(current_heads(rt.engine, rt.pm)))
    if after == before:
        click.echo(f"数据库已是最新 (database at): {after}")
    else:  # it said 已是最新 ("already up to date") after applying migrations too
        click.echo(f"数据库已升级 (database upgraded): {before} -> {after}")


@db.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def db_downgrade(app: AppContext, revision: str, yes: bool) -> None:
    """Take the schema back to REVISION (e.g. 0004; `base` drops everything). Back up first:
    what a newer revision added is gone, and the audit log's tree and checkpoints are rebuilt
    as a hash chain."""
    from govcred.core.migrate import check_revision, current_heads, downgrade

    rt = app.runtime
    app.checkpoint_on_close = False  # the tables may no longer be there
    before = ", ".join(sorted(current_heads(rt.engine, rt.pm)))
    check_revision(rt.engine, rt.pm, revision)  # a typo is named before the question
    if not yes:
        click.confirm(
            f"将数据库从 {before} 降级到 {revision}？(downgrade the database from {before} to {revision}?)", abort=True
        )
    downgrade(rt.engine, rt.pm, revision)
    after = ", ".join(sorted(current_heads(rt.engine, rt.pm))) or "base"
    click.echo(f"数据库已降级 (database downgraded): {before} -> {after}")


@db.command("backup")
@click.argument("dest", type=click.Path(file_okay=False))
@pass_app
def db_backup(app: AppContext, dest: str) -> None:
    """Back up the database (SQLite online backup API, or pg_dump), the keys, secrets and uploads
    into DEST, a new or empty directory; a running service may keep writing."""
    from govcred.core.backup import backup
    from govcred.core.migrate import current_heads

    rt = app.runtime
    app.checkpoint_on_close = False
    heads = sorted(current_heads(rt.engine, rt.pm))
    manifest = backup(rt.settings, rt.engine, heads, Path(dest), checkpoint=rt.checkpointer.checkpoint)
    click.echo(f"已备份 (backed up) {manifest.database} 数据库与 {len(manifest.files) - 1} 个文件 -> {dest}")
    click.echo(
        f"  审计日志 {manifest.audit_entries} 条 (entries); 检查点 {manifest.checkpoint_tree_size} 条 (checkpointed)"
    )
    if rt.settings.secret_key or rt.settings.key_passphrase:
        click.echo("  注意: GOVCRED_SECRET_KEY / GOVCRED_KEY_PASSPHRASE 不在备份中，请另行保管 (keep them apart)")


@db.command("restore")
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@pass_app
def db_restore(app: AppContext, src: str) -> None:
    """Restore the backup SRC into this data directory, which must be empty (and, on PostgreSQL,
    into the empty database GOVCRED_DATABASE_URL names); then migrate it to this version."""
    from govcred.core.backup import restore
    from govcred.core.migrate import current_heads

    # the runtime is built only afterwards: building it would create files in the directory
    manifest = restore(app.settings, Path(src))
    app.checkpoint_on_close = False
    rt = app.runtime
    migrate(rt)
    click.echo(f"已恢复 (restored) {src} ({manifest.created_at}) -> {Path(app.settings.data_dir).resolve()}")
    click.echo(f"  数据库 (database) at {', '.join(sorted(current_heads(rt.engine, rt.pm)))}")
    original = manifest.witness_dir
    if original and Path(original) != Path(rt.settings.witness_dir).resolve():
        # restored into another path: its default witness is another directory, which holds
        # none of the log's checkpoints, and audit verify / db check would report the log broken
        click.echo(
            f"  审计检查点保存在原数据目录的见证目录 {original}：请设置 GOVCRED_AUDIT_WITNESS_DIR={original}"
            " 后运行 govcred db check (the audit checkpoints are in the original's witness directory:"
            " set GOVCRED_AUDIT_WITNESS_DIR to it, then run govcred db check)"
        )
    else:
        click.echo("  请运行 govcred db check (then run govcred db check)")


@db.command("check")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def db_check(app: AppContext, as_json: bool) -> None:
    """Integrity of the database, migrations at head, the audit log against its checkpoints;
    exit 1 when any fails."""
    import sys

    from govcred.core.backup import check_database
    from govcred.core.cli.audit import audit_report
    from govcred.core.migrate import current_heads, script_heads

    rt = app.runtime
    app.checkpoint_on_close = False
    heads, script = current_heads(rt.engine, rt.pm), script_heads(rt.engine, rt.pm)
    report = check_database(rt.engine, heads, script, audit_report(app) if heads == script else _NotChecked())
    if as_json:
        echo_json({"ok": report.ok, "checks": report.checks})
    else:
        for c in report.checks:
            click.echo(f"{'通过 ok  ' if c['ok'] else '失败 FAIL'}  {c['check']}: {c['detail']}")
    sys.exit(0 if report.ok else 1)


class _NotChecked:
    """The audit check when the schema is not at head (the tables may not be there yet)."""

    ok, entries, tree_size = False, 0, 0
    problems = [{"problem": "not checked until the migrations are at head"}]
