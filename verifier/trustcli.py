"""``govcred trust sign|verify|show``: the provincial administrator's tool for the signed trust list.

- ``sign SOURCE --key ROOT.pem --issuer URL --version N (--expires ISO | --days D) --out LIST``
  signs the ``[[issuer]]`` tables of a trust file (TOML/JSON; each with its scope) with the
  root key (encrypted PKCS#8 PEM; passphrase from GOVCRED_TRUST_ROOT_PASSPHRASE or asked for);
  ``--root-out FILE`` writes the public root document every verifier pins.
- ``verify LIST --root ROOT.json [--held-version N]``: exit 0 when a verifier holding version N
  would adopt it, 1 (naming why) when it would refuse it.
- ``show LIST --root ROOT.json``: the verified content, issuer by issuer.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import click


def echo_json(data) -> None:
    # not govcred.core.cli.context's: only the verifier's command module may import the CLI layer
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


_root_option = click.option(
    "--root",
    "root_file",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="The pinned provincial root (JSON: iss and keys), as written by `trust sign --root-out`.",
)


@click.group()
def trust() -> None:
    """The province's signed trust list (信任列表)."""


@trust.command("sign")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--issuer", "province", required=True, help="The list's issuer (iss), e.g. the province's URL.")
@click.option("--version", type=click.IntRange(1), required=True, help="Higher than every list published before.")
@click.option("--expires", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]), help="Expiry (UTC if no zone).")
@click.option("--days", type=click.IntRange(1, 366), help="Expiry in days from now (instead of --expires).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), required=True)
@click.option("--root-out", "root_out", type=click.Path(dir_okay=False), help="Write the public root to pin.")
def sign(source, key_file, province, version, expires, days, out_file, root_out) -> None:
    """Sign the issuers of SOURCE as version N of the province's trust list."""
    from govcred.core.exceptions import ConfigError, GovcredError, KeyStoreError
    from govcred.core.file_problems import unreadable
    from govcred.core.keys import SigningKey, decrypt_private_key, encrypted_key_file_problem
    from govcred.verifier.trust import read_trust_data
    from govcred.verifier.trustlist import checked_trust_list_source, root_document, sign_trust_list

    if (expires is None) == (days is None):
        raise click.UsageError("请给出 --expires 或 --days 之一，且只给一个 (give exactly one of --expires and --days)")
    now = dt.datetime.now(dt.UTC)
    if expires is not None:
        expires_at = expires if expires.tzinfo else expires.replace(tzinfo=dt.UTC)
    else:
        expires_at = now + dt.timedelta(days=days)
    if expires_at <= now:
        raise click.UsageError("到期时间必须晚于现在 (the expiry must lie in the future)")
    try:  # the source first: a mistake in it is named before anyone types the passphrase
        data = read_trust_data(Path(source))
        extra = sorted(set(data) - {"issuer"})
        try:
            checked_trust_list_source(data.get("issuer"), province=province, version=version)
            problems = []
        except ConfigError as exc:
            problems = list(exc.details.get("problems") or [exc.message])
        if extra:  # named with the entries' problems: one round of corrections
            problems.insert(0, f"信任列表只含 [[issuer]] 表，请删去 {'、'.join(extra)}")
        if problems:
            raise ConfigError("未签发信任列表：" + "；".join(problems), problems=problems)
    except GovcredError as exc:
        raise click.ClickException(exc.message) from None
    try:  # the key file's form too: a wrong file is named before the passphrase is typed
        pem = Path(key_file).read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"无法读取根密钥文件 {key_file}：{unreadable(exc)}", param_hint="--key") from None
    if problem := encrypted_key_file_problem(pem):
        raise click.BadParameter(f"根密钥文件 {key_file} {problem}", param_hint="--key")
    passphrase = os.environ.get("GOVCRED_TRUST_ROOT_PASSPHRASE") or click.prompt(
        "根密钥口令 (root key passphrase)", hide_input=True
    )
    try:
        private_key = decrypt_private_key(pem, passphrase)
    except KeyStoreError:
        raise click.ClickException(f"无法解密根密钥 {key_file}：口令错误或密钥文件已损坏") from None
    try:
        key = SigningKey.from_private_key(private_key, created_at=now)
        token = sign_trust_list(
            data.get("issuer"), key, province=province, version=version, expires_at=int(expires_at.timestamp())
        )
    except GovcredError as exc:
        raise click.ClickException(exc.message) from None
    Path(out_file).write_text(token + "\n", encoding="ascii")
    if root_out:
        Path(root_out).write_text(json.dumps(root_document(key, province), indent=2) + "\n", encoding="utf-8")
    click.echo(f"已签发信任列表 (signed) 版本 {version}，{len(data['issuer'])} 个发证机关，至 {expires_at.isoformat()}")


def _read(list_file: str, root_file: str, held_version: int = 0):
    from govcred.core.exceptions import ConfigError
    from govcred.verifier.trustlist import TrustListRefused, load_root, read_trust_list

    try:
        return read_trust_list(Path(list_file).read_bytes(), load_root(root_file), held_version=held_version), None
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None
    except TrustListRefused as exc:
        return None, exc


@trust.command("verify")
@click.argument("list_file", type=click.Path(exists=True, dir_okay=False))
@_root_option
@click.option("--held-version", type=click.IntRange(0), default=0, help="The version a verifier holds.")
@click.option("--json", "as_json", is_flag=True)
def verify(list_file, root_file, held_version, as_json) -> None:
    """Would a verifier adopt LIST? exit 0 yes, 1 no (and why)."""
    signed, refused = _read(list_file, root_file, held_version)
    if as_json:
        echo_json(
            {"valid": True, "version": signed.version, "expires_at": signed.expires_at, "issuers": len(signed.issuers)}
            if signed
            else {"valid": False, "reason": refused.reason, "message": refused.message}
        )
    elif signed:
        click.echo(
            f"有效 (valid): 版本 {signed.version}，{len(signed.issuers)} 个发证机关，至 {_when(signed.expires_at)}"
        )
    else:
        click.echo(f"拒绝 (refused) {refused.reason}: {refused.message}")
    raise SystemExit(0 if signed else 1)


@trust.command("show")
@click.argument("list_file", type=click.Path(exists=True, dir_okay=False))
@_root_option
@click.option("--json", "as_json", is_flag=True)
def show(list_file, root_file, as_json) -> None:
    """The verified content of LIST: version, expiry, each issuer with its URLs and scope."""
    signed, refused = _read(list_file, root_file)
    if refused is not None:
        raise click.ClickException(f"拒绝 (refused) {refused.reason}: {refused.message}")
    if as_json:
        echo_json(signed.summary())
        return
    click.echo(
        f"信任列表 {signed.province} 版本 {signed.version}，签发 {_when(signed.issued_at)}，至 {_when(signed.expires_at)}"
    )
    for issuer in signed.issuers:
        click.echo(f"- {issuer.name} ({issuer.iss})")
        click.echo(f"  密钥 jwks: {issuer.jwks}")
        click.echo(f"  状态列表 status_lists: {issuer.status_lists or '-'}")
        click.echo(
            f"  地区 divisions: {', '.join(issuer.divisions)}  证件类型 types: {', '.join(issuer.credential_types)}"
        )


def _when(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()
