"""``govcred serve``: the issuer under gunicorn (or Flask's development server with ``--dev``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from govcred.core.cli.context import AppContext, check_listen_address, pass_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=click.IntRange(1, 65535), show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=None,
    help="gunicorn worker processes (default: 2 x cores + 1 on PostgreSQL, one per core up to 4 on SQLite).",
)
@click.option("--threads", type=click.IntRange(min=1, max=64), default=4, show_default=True, help="Threads per worker.")
@click.option("--no-worker", is_flag=True, help="Do not run the outbox relay thread.")
@click.option("--dev", is_flag=True, help="Flask's development server: one process, for debugging only.")
@pass_app
def serve(app: AppContext, host: str, port: int, workers: int | None, threads: int, no_worker: bool, dev: bool) -> None:
    """Run the issuer web app and API under gunicorn, with the jobs (daily sweep, outbox relay)
    in whichever worker holds their lease. HUP reloads gracefully, TERM stops."""
    from govcred.core.db import is_sqlite
    from govcred.core.leases import ServerLock
    from govcred.core.production_checks import refuse_unsafe_production

    settings = app.settings
    rt = app.runtime
    refuse_unsafe_production(rt)  # in the master, before any worker: every refusal listed once
    rt.keystore.active_key()  # refuse to start without a usable key
    sqlite = is_sqlite(rt.engine)
    relay = settings.worker_in_serve and not no_worker
    lock = ServerLock(settings.data_dir)
    if sqlite:
        lock.acquire(f"govcred serve on {host}:{port}")
    try:
        # after the data-directory lock: a second serve of the same directory, on the same port
        # too, is told which process holds the directory, not only that the port is taken
        check_listen_address(host, port)
        _clean_uploads(rt)
        _banner(rt, f"http://{host}:{port}")
        _warn_about_issuer(settings.issuer, host, port)
        if dev:
            _serve_dev(rt, host, port, relay)
        else:
            rt.close()  # the master keeps no connection: each worker opens its own after the fork
            workers = workers or _default_workers(sqlite)
            click.echo(f"  gunicorn: {workers} 个工作进程 (workers) x {threads} 线程 (threads)")
            _serve_gunicorn(app, f"{host}:{port}", workers, threads, relay)
    finally:
        lock.release()


def _warn_about_issuer(issuer: str, host: str, port: int) -> None:
    from govcred.core.web.issuer_address import issuer_mismatch

    warning = issuer_mismatch(issuer, host, port)
    if warning:
        click.echo(warning, err=True)


def _clean_uploads(rt) -> None:
    """What a crash left in the uploads directory, before any worker takes a request."""
    from govcred.core.attachments import clean_orphan_files

    report = clean_orphan_files(rt.collaborators)
    if report.count:
        click.echo(
            f"上传目录清理 (uploads): {len(report.published)} 个文件补完移动 (moved into place), "
            f"{len(report.removed)} 个孤立文件已删除 (orphans removed)"
        )


def _default_workers(sqlite: bool) -> int:
    from govcred.core.web.server import default_workers

    return default_workers(sqlite)


def _banner(rt, base: str) -> None:
    from govcred.core.cli.db import demo_logins_path

    click.echo(f"govcred 正在运行 (running) at {base}")
    click.echo(f"  居民办理 (residents):  {base}/resident/login   — 短信验证码见 `govcred sms log`")
    click.echo(f"  工作人员 (officers):   {base}/officer/login")
    click.echo(f"  公钥 JWKS:             {base}/.well-known/jwks.json")
    click.echo(f"  API (OpenAPI):         {base}/api/v1/openapi.json")
    click.echo(f"  健康检查 (probes):     {base}/healthz  {base}/readyz  {base}/metrics")
    demo = demo_logins_path(rt.settings)
    if demo.exists() and not rt.settings.production:
        click.echo("  演示账号 (demo log-ins: role, username, password):")
        for line in demo.read_text(encoding="utf-8").splitlines():
            click.echo(f"    {line}")


def _serve_dev(rt, host: str, port: int, relay: bool) -> None:
    from govcred.core.web import create_app

    click.echo("  开发服务器 (Flask development server): 仅供调试 (not for production)")
    flask_app = create_app(runtime=rt)
    jobs = rt.server_jobs(relay=relay).start()
    checkpoints = _checkpoints(rt)
    try:
        flask_app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)
    finally:
        checkpoints.stop()
        jobs.stop()


def _checkpoints(rt):
    """Signed audit checkpoints every N entries or T seconds. Every process runs one: they take
    turns in the database (a lock), and a second one at the same moment finds nothing pending."""
    from govcred.core.audit_checkpoints import BackgroundCheckpointer

    return BackgroundCheckpointer(rt.checkpointer, rt.settings).start()


class _WorkerJobs:
    """What a gunicorn worker stops on exit: its jobs thread, then its runtime's connections."""

    def __init__(self, runtime, relay: bool):
        self._runtime = runtime
        self._jobs = runtime.server_jobs(relay=relay).start()
        self._checkpoints = _checkpoints(runtime)

    def stop(self) -> None:
        self._checkpoints.stop()
        self._jobs.stop()
        self._runtime.close()


def _serve_gunicorn(app: AppContext, bind: str, workers: int, threads: int, relay: bool) -> None:
    metrics_dir = _fresh_metrics_dir(Path(app.settings.data_dir))
    # before any worker imports prometheus-client: each worker writes its samples there
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

    from govcred.core.web.context import runtime_of
    from govcred.core.web.server import IssuerServer

    def build_app():
        from govcred.core.config import load_settings
        from govcred.core.runtime import Runtime
        from govcred.core.web import create_app

        # read again in every worker, so that a reload (HUP) picks up changed settings
        return create_app(runtime=Runtime.create(load_settings(app.data_dir, **app.overrides)))

    def on_worker_gone(pid: int) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)

    IssuerServer(
        build_app,
        bind=bind,
        workers=workers,
        threads=threads,
        jobs=lambda wsgi: _WorkerJobs(runtime_of(wsgi), relay),
        on_worker_gone=on_worker_gone,
    ).run()


def _fresh_metrics_dir(data_dir: Path) -> Path:
    """An empty folder for this server's metric samples (a previous run's would be summed in)."""
    path = data_dir / "run" / "prometheus"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)
    return path
