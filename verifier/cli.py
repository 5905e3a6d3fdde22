"""The verifier's commands on the ``govcred`` command line, registered through the
``govcred_cli_commands`` hook (entry point ``verifier`` in the ``govcred`` group), so the
issuer's core never imports the verifier:

- ``govcred verify``: offline verification against a JWKS file and a status-list file;
- ``govcred verifier serve`` and ``govcred verifier-client add``: the standalone verifier
  service. Its own database lives in ``<data dir>/verifier`` (or ``--database-url``); it never
  opens the issuer's database.

The verifier's modules are imported inside the commands: loading this plugin (which every
``govcred`` process does) stays cheap.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from govcred.core.cli.context import AppContext, check_listen_address, echo_json, pass_app
from govcred.core.hookspecs import hookimpl

# the report hook lives with the verifier's database code; pluggy finds it in this module
from govcred.verifier.report import govcred_report_verifications  # noqa: F401

#: what names a file rather than being token or QR text: a JWS is base64url (no "/" and no
#: file suffix) and a QR text's only "/" follows its prefix (GC1:/, GC2:/)
_QR_PREFIX = re.compile(r"[A-Z0-9]+:/")
_FILE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".jwt", ".txt")


def read_input(value: str) -> bytes | str:
    """A file (token text or a QR image) when ``value`` names one, else the token/QR text itself;
    BadParameter for a path that names no file (it would otherwise be judged as token text)."""
    try:
        if Path(value).is_file():
            return Path(value).read_bytes()
    except OSError:  # e.g. a token longer than a file name may be
        pass
    if ("/" in value and not _QR_PREFIX.match(value)) or value.lower().endswith(_FILE_SUFFIXES):
        what = "是目录，应为文件" if Path(value).is_dir() else "不存在"
        raise click.BadParameter(f"文件 {value} {what} (not a file)", param_hint="INPUT")
    return value


def check_jwks_file(path: str, issuer: str | None) -> None:
    """BadParameter naming why ``path`` is no JWKS: read as one, a broken file made every token
    UNKNOWN_ISSUER (a verdict on the token) under an English refresh warning (the file's fault)."""
    import json

    from govcred.core.exceptions import KeyStoreError
    from govcred.core.file_problems import UNREADABLE, unreadable
    from govcred.core.keys import KeySet

    try:
        document = json.loads(Path(path).read_bytes())
    except UNREADABLE as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise click.BadParameter(
            f"文件 {path} 无法作为公钥集 (JWKS) 读取：{unreadable(exc)}", param_hint="--jwks"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list) or not document["keys"]:
        raise click.BadParameter(
            f"文件 {path} 不是公钥集 (JWKS)：应为含非空 keys 列表的 JSON 对象（签发方 /.well-known/jwks.json 的内容）",
            param_hint="--jwks",
        )
    try:
        KeySet.from_jwks(document, issuer or path)
    except KeyStoreError as exc:
        raise click.BadParameter(f"文件 {path} 中的公钥无效 ({exc.message})", param_hint="--jwks") from None


def check_status_list_file(path: str) -> None:
    """BadParameter when ``path`` holds no status-list token (a JWKS, a credential, an error page
    given by mistake): it only warned, in English, "status list not refreshed (LIST_MALFORMED);
    keeping the last good copy", and answered STATUS_UNAVAILABLE as if the list said so."""
    import base64
    import json

    from govcred.core.file_problems import UNREADABLE, unreadable
    from govcred.core.tokens import STATUS_LIST

    expected = f"应为签发方状态列表地址（/status/…）返回的 {STATUS_LIST} 令牌"
    try:
        text = Path(path).read_bytes().strip().decode("utf-8")
    except UNREADABLE as exc:
        raise click.BadParameter(
            f"文件 {path} 无法作为状态列表读取：{unreadable(exc)}", param_hint="--status-list"
        ) from None
    try:
        header_b64 = text.split(".")[0] if text.count(".") == 2 else ""
        header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get("typ") != STATUS_LIST:
        raise click.BadParameter(f"文件 {path} 不是状态列表：{expected}", param_hint="--status-list")


def check_image_input(value: str, data: bytes | str) -> None:
    """BadParameter when INPUT is a picture without a readable QR code, or a file that is
    neither a picture nor token text (a PDF): the operator's mistake, as the API's 422
    QR_NOT_FOUND says, not the verdict 无效 (not valid): MALFORMED on a permit."""
    from govcred.core.exceptions import VerificationError
    from govcred.verifier.check import token_of
    from govcred.verifier.views import NO_QR_MESSAGES

    if not isinstance(data, bytes):
        return
    try:
        token_of(data)
    except VerificationError as exc:
        if exc.detail in NO_QR_MESSAGES:
            raise click.BadParameter(f"文件 {value}：{NO_QR_MESSAGES[exc.detail]}", param_hint="INPUT") from None
        if exc.detail == "NOT_TEXT":
            raise click.BadParameter(
                f"文件 {value} 既不是二维码图片（PNG、JPEG），也不是令牌或二维码文本", param_hint="INPUT"
            ) from None


def check_benefit(benefit: str, verifier) -> None:
    """BadParameter for a benefit code no credential type knows: a misspelt code
    (``compulsory_educaton``) answered 权益 …: 不符合, as if the holder did not qualify."""
    why = verifier.unknown_benefit(benefit)
    if why:
        raise click.BadParameter(why, param_hint="--benefit")


@click.command()
@click.argument("input_", metavar="INPUT")
@click.option(
    "--jwks",
    "jwks_file",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="The issuer's JWKS (what /.well-known/jwks.json serves).",
)
@click.option(
    "--status-list",
    "status_file",
    type=click.Path(exists=True, dir_okay=False),
    help="The issuer's status-list token; without it the answer is STATUS_UNAVAILABLE.",
)
@click.option("--issuer", help="Pin the issuer (iss); default: the one the credential names.")
@click.option("--benefit", help="Benefit code to ask about, e.g. compulsory_education.")
@click.option("--json", "as_json", is_flag=True)
def verify(
    input_: str, jwks_file: str, status_file: str | None, issuer: str | None, benefit: str | None, as_json: bool
) -> None:
    """Verify a credential or presentation (token, file holding one, or a QR image); exit 0 valid, 1 not."""
    from govcred.core.plugins import configure_plugins, get_plugin_manager, standalone_host
    from govcred.verifier.cache import TrustCache
    from govcred.verifier.check import Verifier, claimed_issuer, token_of
    from govcred.verifier.trust import TrustConfig, TrustedIssuer

    data = read_input(input_)
    check_image_input(input_, data)
    if status_file:
        check_status_list_file(status_file)
    if issuer is None:
        try:
            issuer = claimed_issuer(token_of(data))
        except Exception:  # an unreadable input is reported by the verifier below
            issuer = None
    check_jwks_file(jwks_file, issuer)
    issuers = ()
    if issuer:
        issuers = (
            TrustedIssuer(
                issuer,
                issuer,
                str(Path(jwks_file).resolve()),
                None,
                (str(Path(status_file).resolve()),) if status_file else (),
            ),
        )
    cache = TrustCache(TrustConfig(issuers) if issuers else TrustConfig(()))
    problems = cache.refresh()
    # configured without a database: the plugins' credential types answer benefit questions
    pm = get_plugin_manager()
    configure_plugins(pm, standalone_host(pm))
    checker = Verifier(cache, pm=pm)
    if benefit is not None:
        check_benefit(benefit, checker)
    answer = checker.verify_text(data, benefit=benefit)
    if as_json:
        echo_json(answer.as_json())
    else:
        verdict = "有效 (valid)" if answer.valid else "无效 (not valid): " + ", ".join(answer.reasons)
        click.echo(verdict)
        if answer.holder:
            click.echo(f"持证人 {answer.holder['name_masked']} {answer.holder['id_masked']}  县 {answer.county}")
        if answer.benefit:
            click.echo(f"权益 {answer.benefit['code']}: {'符合' if answer.benefit['qualifies'] else '不符合'}")
    for problem in problems:
        click.echo(f"警告 (warning): {problem}", err=True)
    raise SystemExit(0 if answer.valid else 1)


def _verifier_dir(app: AppContext) -> Path:
    return Path(app.data_dir or os.environ.get("GOVCRED_DATA_DIR") or "./var") / "verifier"


_database_option = click.option(
    "--database-url",
    envvar="GOVCRED_VERIFIER_DATABASE_URL",
    default="",
    help="The verifier's own database (default: SQLite in <data dir>/verifier).",
)


@click.group()
def verifier() -> None:
    """The standalone verifier service (核验服务)."""


@verifier.command("serve")
@click.option(
    "--trust",
    "trust_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Trust file (TOML/JSON): issuers, their JWKS and status lists (development, one county).",
)
@click.option("--trust-list", help="The province's signed trust list (URL or file); needs --trust-root.")
@click.option(
    "--trust-root",
    type=click.Path(exists=True, dir_okay=False),
    help="The pinned provincial root the trust list must be signed by (`govcred trust sign --root-out`).",
)
@click.option("--benefit-plugin", "benefit_plugins", multiple=True, help="Plugin answering benefit questions.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8100, show_default=True)
@click.option("--refresh-seconds", type=click.FloatRange(5, 86400), default=300, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True, help="Threads per worker.")
@click.option("--redis-url", envvar="GOVCRED_VERIFIER_REDIS_URL", help="Redis shared by the workers (replay, limits).")
@click.option("--dev", is_flag=True, help="Flask's development server: one process, for debugging only.")
@_database_option
@pass_app
def serve(
    app: AppContext,
    trust_file: str | None,
    trust_list: str | None,
    trust_root: str | None,
    benefit_plugins: tuple[str, ...],
    host: str,
    port: int,
    refresh_seconds: float,
    workers: int,
    threads: int,
    redis_url: str | None,
    dev: bool,
    database_url: str,
) -> None:
    """Run the verifier under gunicorn (``--dev``: Flask's development server)."""
    from govcred.verifier.app import VerifierConfig, create_app, environment_settings, trust_sources

    config = VerifierConfig(
        trust_file=trust_file,
        trust_list=trust_list,
        trust_root=trust_root,
        benefit_plugins=benefit_plugins,
        data_dir=_verifier_dir(app),
        database_url=database_url,
        refresh_seconds=refresh_seconds,
        redis_url=redis_url or None,
        **environment_settings(),  # as the WSGI entry reads them: the limits, audience, metrics token
    )
    trust_sources(config)  # refuse a bad configuration before anything starts
    if database_url:  # ... a database URL no driver reads too (under gunicorn: each worker's traceback)
        from govcred.verifier.db import make_verifier_engine

        make_verifier_engine(database_url).dispose()
    check_listen_address(host, port)
    click.echo(f"核验服务 (verifier) on http://{host}:{port}")
    if dev:
        from werkzeug.serving import run_simple

        run_simple(host, port, create_app(config), threaded=True)
        return
    from govcred.verifier.server import VerifierServer, metrics_dir

    click.echo(f"  gunicorn: {workers} 个工作进程 (workers) x {threads} 线程 (threads)")
    with metrics_dir(config.data_dir) as samples:
        # before any worker imports prometheus-client: each worker writes its samples there
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(samples)
        VerifierServer(lambda: create_app(config), bind=f"{host}:{port}", workers=workers, threads=threads).run()


@verifier.command("purge")
@click.option(
    "--days", type=click.IntRange(1, 3650), default=None, help="Keep this many days of the log (default: 180)."
)
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
@_database_option
@pass_app
def purge(app: AppContext, days: int | None, dry_run: bool, database_url: str) -> None:
    """Remove verification-log rows past their retention (the service does it daily)."""
    import datetime as dt

    from govcred.verifier.db import LOG_RETENTION, create_tables, make_verifier_engine, purge_log

    directory = _verifier_dir(app)
    engine = make_verifier_engine(database_url or f"sqlite:///{(directory / 'verifier.sqlite3').resolve()}")
    create_tables(engine)
    keep = dt.timedelta(days=days) if days else LOG_RETENTION
    count = purge_log(engine, dt.datetime.now(dt.UTC) - keep, dry_run=dry_run)
    verb = "将删除 (would remove)" if dry_run else "已删除 (removed)"
    click.echo(f"verification_log  {keep.days}d  {verb} {count}  核验记录")


@click.group("verifier-client")
def verifier_client() -> None:
    """Institutions allowed to call the verifier (API keys)."""


@verifier_client.command("add")
@click.argument("name")
@click.option(
    "--rate",
    "rate_per_minute",
    type=click.IntRange(1, 100_000),
    default=600,
    show_default=True,
    help="Requests per minute for this institution.",
)
@_database_option
@pass_app
def client_add(app: AppContext, name: str, rate_per_minute: int, database_url: str) -> None:
    """Register an institution; its API key is printed ONCE and stored only hashed."""
    import datetime as dt

    from govcred.verifier.db import add_client, create_tables, make_verifier_engine

    directory = _verifier_dir(app)
    if not database_url:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = make_verifier_engine(database_url or f"sqlite:///{(directory / 'verifier.sqlite3').resolve()}")
    create_tables(engine)
    key = add_client(engine, name, now=dt.datetime.now(dt.UTC), rate_per_minute=rate_per_minute)
    click.echo(f"已登记 (registered) {name}。API 密钥只显示这一次 (shown once):")
    click.echo(key)


@hookimpl
def govcred_cli_commands(cli: click.Group) -> None:
    from govcred.verifier.trustcli import trust

    for command in (verify, verifier, verifier_client, trust):
        cli.add_command(command)
