"""``govcred verifier serve`` and ``govcred verifier-client add``: the standalone verifier service.

The verifier's own database lives in ``<data dir>/verifier`` (or ``--database-url``); it never
opens the issuer's database.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from govcred.core.cli import AppContext, pass_app


def _verifier_dir(app: AppContext) -> Path:
    return Path(app.data_dir or os.environ.get("GOVCRED_DATA_DIR") or "./var") / "verifier"


_database_option = click.option("--database-url", envvar="GOVCRED_VERIFIER_DATABASE_URL", default="",
                                help="The verifier's own database (default: SQLite in <data dir>/verifier).")


@click.group()
def verifier() -> None:
    """The standalone verifier service (核验服务)."""


@verifier.command("serve")
@click.option("--trust", "trust_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Trust file (TOML/JSON): issuers, their JWKS and status lists.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8100, show_default=True)
@click.option("--refresh-seconds", type=click.FloatRange(5, 86400), default=300, show_default=True)
@_database_option
@pass_app
def serve(app: AppContext, trust_file: str, host: str, port: int, refresh_seconds: float, database_url: str) -> None:
    """Run the verifier (development server; use gunicorn 'govcred.verifier.wsgi:app' at scale)."""
    from werkzeug.serving import run_simple

    from govcred.verifier.app import VerifierConfig, create_app

    flask_app = create_app(VerifierConfig(trust_file=trust_file, data_dir=_verifier_dir(app),
                                          database_url=database_url, refresh_seconds=refresh_seconds))
    click.echo(f"核验服务 (verifier) on http://{host}:{port}")
    run_simple(host, port, flask_app, threaded=True)


@click.group("verifier-client")
def verifier_client() -> None:
    """Institutions allowed to call the verifier (API keys)."""


@verifier_client.command("add")
@click.argument("name")
@click.option("--rate", "rate_per_minute", type=click.IntRange(1, 100_000), default=600, show_default=True,
              help="Requests per minute for this institution.")
@_database_option
@pass_app
def client_add(app: AppContext, name: str, rate_per_minute: int, database_url: str) -> None:
    """Register an institution; its API key is printed ONCE and stored only hashed."""
    import datetime as dt

    from govcred.verifier.db import add_client, create_tables, make_verifier_engine

    directory = _verifier_dir(app)
    if not database_url:
        directory.mkdir(parents=True, exist_ok=True)
    engine = make_verifier_engine(database_url or f"sqlite:///{(directory / 'verifier.sqlite3').resolve()}")
    create_tables(engine)
    key = add_client(engine, name, now=dt.datetime.now(dt.timezone.utc), rate_per_minute=rate_per_minute)
    click.echo(f"已登记 (registered) {name}。API 密钥只显示这一次 (shown once):")
    click.echo(key)


COMMANDS = [verifier, verifier_client]
