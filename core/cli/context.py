"""What every ``govcred`` command shares: the click context object and JSON output.

Command modules import this module, never the root group's package (``govcred.core.cli``):
the root group imports every command module, so a command importing it back would close an
import cycle. Plugins' commands (``govcred_cli_commands``) use it the same way.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

import click

from govcred.core.config import load_settings


class AppContext:
    """What every command gets as ``ctx.obj``: settings and runtime, built on first use."""

    def __init__(self, data_dir: str | None, overrides: dict | None = None):
        self.data_dir = data_dir
        self.overrides = overrides or {}
        #: commands that examine the audit log (verify, db check, backup) turn it off: what they
        #: report on must not change under them
        self.checkpoint_on_close = True

    @functools.cached_property
    def settings(self):
        return load_settings(self.data_dir, **self.overrides)

    @functools.cached_property
    def runtime(self):
        from govcred.core.runtime import Runtime

        return Runtime.create(self.settings)

    def close(self) -> None:
        """After every command: a checkpoint of what it appended to the audit log, so entries
        written from the console do not wait for a server's checkpointer."""
        if "runtime" not in self.__dict__ or not self.checkpoint_on_close:
            return
        from govcred.core.outages import database_unavailable, missing_table

        failed = sys.exc_info()[1]  # what the command raised, if it did (click calls this on the way out)
        if failed is not None and (database_unavailable(failed) or missing_table(failed) is not None):
            return  # the checkpoint would fail for the same cause, which main names in one line
        try:
            checkpointer = self.runtime.checkpointer
            if checkpointer.pending():
                checkpointer.checkpoint()
        except Exception as exc:  # never turn a command that worked into a failure
            if missing_table(exc) is not None:
                return  # a database never migrated (govcred plugins before init) has no log to checkpoint
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            logging.getLogger("govcred.audit").warning(
                "警告：命令结束后未能签发审计检查点，服务或下一条命令会补签 (audit checkpoint after the command failed: %s)",
                reason,
            )


pass_app = click.make_pass_decorator(AppContext)


def echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def console_admin(app: AppContext | None = None):
    """The administrator at the server's console, as a principal; the OS user names who it
    was in the audit log. Given ``app``, with the sign-in factor of :func:`console_factor`."""
    import getpass

    from govcred.core.accounts.officers import Principal

    factor_at = console_factor(app) if app is not None else None
    return Principal("officer", f"cli:{getpass.getuser()}"[:36], "admin", "命令行管理员", factor_at=factor_at)


def console_factor(app: AppContext):
    """The sign-in factor of whoever runs a command: now.

    The deciding use cases want a factor from the last 10 minutes
    (:mod:`govcred.core.accounts.factors`). A command runs on the server, as an operator
    signed in to it, who can read the data directory's secrets anyway; a TOTP asked here
    would guard nothing the shell does not already give away.
    """
    return app.runtime.clock.now()


def data_path(ctx_obj: AppContext) -> Path:
    return Path(ctx_obj.settings.data_dir)


def officer_principal(app: AppContext, username: str):
    """The stored, active officer a command acts as (``--as USERNAME``), so that the audit log
    names who did it and the same role checks apply as on the web."""
    from govcred.core.accounts.officers import Principal
    from govcred.core.exceptions import AuthenticationRequired

    with app.runtime.uow(readonly=True) as uow:
        officer = uow.officers.by_username(username)
        if officer is None or not officer.active:
            raise AuthenticationRequired(f"没有名为 {username} 的在用工作人员账号", code="OFFICER_UNKNOWN")
        return Principal("officer", officer.id, officer.role, officer.display_name, factor_at=console_factor(app))


def check_listen_address(host: str, port: int) -> None:
    """ConfigError unless ``host:port`` can be listened on: `serve` and `verifier serve` ask it
    before their banner says the service runs (gunicorn would retry for five seconds, log in
    English and exit)."""
    import errno
    import socket

    from govcred.core.exceptions import ConfigError

    try:
        family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        raise ConfigError(f"无法监听 {host}:{port}：主机名无法解析 (unknown host)") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            reason = {
                errno.EADDRINUSE: "端口已被占用 (address already in use)",
                errno.EADDRNOTAVAIL: "本机没有这个地址 (address not available)",
                errno.EACCES: "没有权限使用该端口 (permission denied)",
            }.get(exc.errno, exc.strerror)
            raise ConfigError(f"无法监听 {host}:{port}：{reason}") from None
