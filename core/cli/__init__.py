"""The ``govcred`` command line (click). Every command finds its data directory through
``--data-dir`` / ``GOVCRED_DATA_DIR`` (default ``./var``). Commands live in small modules
under ``core/cli`` and share :mod:`govcred.core.cli.context`; plugins, and the verifier
(``govcred verify``, ``govcred verifier``), add theirs through ``govcred_cli_commands``."""

from __future__ import annotations

import sys

import click

# AppContext, pass_app, echo_json: re-exported for plugins' and tests' commands
from govcred.core.cli.context import AppContext, data_path, echo_json, pass_app  # noqa: F401
from govcred.core.cli.usage import show_click_error
from govcred.core.exceptions import ConfigError, GovcredError, ValidationError
from govcred.core.file_problems import os_problem
from govcred.core.filemodes import restrict_new_files


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    envvar="GOVCRED_DATA_DIR",
    default=None,
    type=click.Path(file_okay=False),
    help="Data directory (database, keys, uploads). Default ./var",
)
@click.version_option(package_name="govcred")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None) -> None:
    """govcred — 政务电子证照签发与核验 (government e-credential issuance and verification)."""
    restrict_new_files()  # what any command writes in the data directory is the owner's only
    if ctx.obj is None:
        ctx.obj = AppContext(data_dir)
    ctx.call_on_close(ctx.obj.close)


def _register_builtin_commands() -> None:
    from govcred.core.cli import (
        admin,
        alerts,
        application,
        audit,
        calendar,
        credential,
        db,
        decision,
        demo,
        eligibility,
        lifecycle,
        outbox,
        purge,
        report,
        review,
        serve,
    )

    for command in (
        db.init,
        db.db,
        admin.plugins,
        admin.config,
        admin.keys,
        admin.officer,
        audit.audit,
        serve.serve,
        calendar.calendar,
    ):
        cli.add_command(command)
    for module in (
        eligibility,
        outbox,
        credential,
        demo,
        lifecycle,
        review,
        report,
        purge,
        alerts,
        decision,
        application,
    ):
        for command in module.COMMANDS:
            cli.add_command(command)


def build_cli(pm=None) -> click.Group:
    """The root group with built-in and plugin commands."""
    _register_builtin_commands()
    if pm is None:
        from govcred.core.plugins import get_plugin_manager

        pm = get_plugin_manager()
    pm.hook.govcred_cli_commands(cli=cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the CLI and turns govcred errors into messages."""
    try:
        command = build_cli()
        # standalone_mode=False: click *returns* the status of ``ctx.exit(n)`` / ``Exit(n)``
        status = command.main(args=argv, prog_name="govcred", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        show_click_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("已取消 (aborted)", err=True)
        sys.exit(1)
    except ValidationError as exc:
        click.echo(f"错误: {exc.message}", err=True)
        for err in exc.errors:
            click.echo(f"  - {err.field}: {err.message} [{err.code}]", err=True)
        sys.exit(2)
    except ConfigError as exc:
        problems = exc.details.get("problems") or []
        if len(problems) > 1 and "\n" not in exc.message:  # one line each, to be fixed in one go
            click.echo("配置错误 (configuration error):", err=True)
            for problem in problems:
                click.echo(f"  - {problem}", err=True)
        else:
            click.echo(f"配置错误 (configuration error): {exc.message}", err=True)
        sys.exit(2)
    except GovcredError as exc:
        click.echo(f"错误 [{exc.code}]: {exc.message}", err=True)
        sys.exit(1)
    except Exception as exc:
        # The database down or unreachable, or the disk full: the operator's to fix or wait
        # for, named in one line; anything else is a bug and keeps its traceback.
        outage = _outage_problem(exc)
        if outage is None:
            raise
        click.echo(outage, err=True)
        sys.exit(1)
    if isinstance(status, int) and status:
        sys.exit(status)


def _outage_problem(exc: Exception) -> str | None:
    from govcred.core.outages import database_unavailable, missing_table, storage_full

    if isinstance(exc, OSError):
        # A path the operator gave (an export file, a backup directory) that cannot be written
        # or read: theirs to fix, so say which path and why instead of a traceback.
        return _os_problem(exc)
    if storage_full(exc):
        return "错误 [STORAGE_FULL]: 存储空间已满，未保存任何内容 (storage full: nothing was written)"
    table = missing_table(exc)
    if table is not None:
        return (
            f"错误 [DATABASE_NOT_MIGRATED]: 数据库中没有表 {table}：该数据目录尚未初始化，或数据库未升级到当前版本；"
            "新的数据目录请先运行 govcred init（并核对 --data-dir / GOVCRED_DATA_DIR），已有的请运行 govcred db upgrade"
            f" (the database has no table {table}: run govcred init, or govcred db upgrade)"
        )
    if database_unavailable(exc):
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return (
            f"错误 [SERVICE_UNAVAILABLE]: 无法连接数据库，请检查数据库是否运行后重试 (database unavailable: {reason})"
        )
    return None


def _os_problem(exc: OSError) -> str:
    what = os_problem(exc)
    if exc.filename is None:  # no path: a socket or another system call, not a file to fix
        return f"错误 [OS_ERROR]: 操作失败: {what}"
    return f"错误 [FILE_ERROR]: 无法访问 {exc.filename}: {what}"
