"""Operations commands: plugins, config, keys, officers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from govcred.core.cli.context import AppContext, console_admin, echo_json, pass_app
from govcred.core.plugins import get_plugin_manager


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_app
def plugins(app: AppContext, as_json: bool) -> None:
    """List loaded plugins with their version and the hooks they implement."""
    from govcred.core.plugins import describe_plugins

    infos = describe_plugins(app.runtime.pm)
    if as_json:
        echo_json(
            [
                {"name": p.name, "distribution": p.distribution, "version": p.version, "hooks": list(p.hooks)}
                for p in infos
            ]
        )
        return
    for p in infos:
        click.echo(f"{p.name}  ({p.distribution} {p.version})")
        for hook in p.hooks:
            click.echo(f"    {hook}")


@click.group()
def config() -> None:
    """Effective configuration."""


@config.command("show")
@pass_app
def config_show(app: AppContext) -> None:
    """Print the effective settings (defaults < config file < environment), secrets hidden.

    ``placeholders`` lists the plugins' development placeholders still in effect (values
    production must replace); it is empty once every one is configured.
    """
    settings = app.settings
    # a plugin manager without a runtime: showing the configuration must not need a
    # database, nor fail because production mode refuses a placeholder it should show
    pm = get_plugin_manager()
    placeholders: dict[str, str] = {}
    for found in pm.hook.govcred_config_placeholders(settings=settings):
        placeholders.update(found or {})
    echo_json({**settings.redacted(), "placeholders": dict(sorted(placeholders.items()))})


@click.group()
def keys() -> None:
    """Signing keys."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def keys_list(app: AppContext, as_json: bool) -> None:
    """List signing keys: active, retired (published until), revoked (when and why)."""
    infos = app.runtime.keystore.list()
    if as_json:
        echo_json(
            [
                {
                    "kid": k.kid,
                    "alg": k.alg,
                    "active": k.active,
                    "development": k.development,
                    "created_at": k.created_at,
                    "retired_at": k.retired_at,
                    "verify_until": k.verify_until,
                    "revoked_at": k.revoked_at,
                    "revocation_reason": k.revocation_reason,
                }
                for k in infos
            ]
        )
        return
    for k in infos:
        if k.revoked_at is not None:
            state = f"REVOKED {k.revoked_at:%Y-%m-%d %H:%M} UTC (compromised: {k.revocation_reason})"
        elif k.active:
            state = "active"
        else:
            state = f"retired {k.retired_at:%Y-%m-%d}, published until {k.verify_until:%Y-%m-%d}"
        click.echo(f"{k.kid}  {k.alg}  {state}{'  [development]' if k.development else ''}")


@keys.command("rotate")
@pass_app
def keys_rotate(app: AppContext) -> None:
    """Create a new signing key; the old one is retired but stays published."""
    from govcred.core.services.signing_keys import rotate_signing_key

    principal = console_admin(app)  # with the console's factor (see console_factor)
    info = rotate_signing_key(app.runtime.collaborators, principal)
    click.echo(f"新签名密钥 (new signing key): {info.kid} {info.alg}")


@keys.command("revoke")
@click.argument("kid")
@click.option(
    "--compromised",
    is_flag=True,
    help="Required: the key is (or may be) known to someone else. Its tokens are refused from now on.",
)
@click.option("--reason", required=True, help="Why (kept in the key table and the audit log, not published).")
@click.option(
    "--no-reissue",
    "no_reissue",
    is_flag=True,
    help="Only revoke; re-issue the key's credentials later with `govcred credential reissue --signed-by KID`.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def keys_revoke(app: AppContext, kid: str, compromised: bool, reason: str, no_reissue: bool, as_json: bool) -> None:
    """Revoke a compromised signing key: out of the JWKS, listed as revoked; verifiers refuse
    every token it signed (KEY_REVOKED) from their next refresh. Then the permits in use it
    signed are signed again with the active key (unless --no-reissue), so holders keep a
    permit that verifies."""
    from govcred.core.cli.credential import print_reissue, reissue_credentials
    from govcred.core.services.key_reissue import follow_up_command

    if not compromised:
        # Revocation makes every credential the key signed unusable; an ordinary change of key
        # is `keys rotate`, which keeps them valid. Saying --compromised is the confirmation.
        raise click.UsageError(
            "keys revoke 仅用于已泄露的密钥，须加 --compromised 确认；平常更换密钥请用 govcred keys rotate",
        )
    done = app.runtime.keystore.revoke(kid, reason=reason, actor="cli")
    follow_up = follow_up_command(done.kid) if done.credentials_affected else None
    if not as_json:
        click.echo(f"已吊销签名密钥 (revoked) {done.kid}：{done.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
        if done.replaced_by:
            click.echo(f"新签名密钥 (new signing key): {done.replaced_by}")
        click.echo(f"该密钥签发的 {done.credentials_affected} 张有效证件将被核验方拒绝 (KEY_REVOKED)。")
    # the revocation is committed first: verifiers refuse the key from their next refresh
    # whatever happens to the re-issue, which can be run again to finish
    report = None
    if follow_up and not no_reissue:
        if not as_json:
            click.echo(f"正在重新签发；如中断，可再次运行（已完成的不会重复）：{follow_up}")
        report = reissue_credentials(app, done.kid)
        follow_up = None
    if as_json:
        echo_json(
            {
                "kid": done.kid,
                "revoked_at": done.revoked_at,
                "reason": done.reason,
                "replaced_by": done.replaced_by,
                "credentials_affected": done.credentials_affected,
                "reissued": report.as_dict() if report else None,
                "follow_up": follow_up,
            }
        )
        return
    if report is not None:
        print_reissue(report)
    elif follow_up:
        click.echo(f"尚未为持证人重新签发，请运行 (to re-issue them): {follow_up}")


@keys.command("export-jwks")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@pass_app
def keys_export(app: AppContext, out: str | None) -> None:
    """Print the public JWKS (what /.well-known/jwks.json serves)."""
    text = json.dumps(app.runtime.keystore.jwks(), indent=2)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


@click.group()
def officer() -> None:
    """Officer accounts."""


@officer.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["clerk", "reviewer", "admin"]), required=True)
@click.option("--name", "display_name", default="", help="Display name (Chinese).")
@click.option("--password", default=None, help="At least 12 characters (asked for, twice, when not given).")
@pass_app
def officer_add(app: AppContext, username: str, role: str, display_name: str, password: str | None) -> None:
    """Create an officer account."""
    from govcred.core.accounts.officers import check_new_username, create_officer

    rt = app.runtime
    if password is None:  # a malformed or taken username is named before anyone types a password
        with rt.uow() as uow:
            check_new_username(uow, username)
        password = click.prompt(
            "密码 (password)", hide_input=True, confirmation_prompt="再次输入密码 (repeat for confirmation)"
        )
    with rt.uow() as uow:
        create_officer(
            uow,
            username=username,
            display_name=display_name,
            role=role,
            password=password,
            now=rt.clock.now(),
            actor="cli",
        )
        uow.commit()
    click.echo(f"已创建账号 (created) {username} [{role}]")


def _officer_named(uow, username: str):
    found = uow.officers.by_username(username)
    if found is None:
        raise click.UsageError(f"没有用户名为 {username} 的账号 (no such officer)")
    return found


@officer.command("totp")
@click.argument("username")
@click.option(
    "--exempt",
    is_flag=True,
    help="Let this clerk sign in without TOTP (audited, with --reason); enrolling again ends the exemption.",
)
@click.option("--reason", default="", help="Why the clerk is exempt (required with --exempt; kept in the audit log).")
@pass_app
def officer_totp(app: AppContext, username: str, exempt: bool, reason: str) -> None:
    """Enrol (or replace) the officer's TOTP seed and print the otpauth:// URI once."""
    from govcred.core.accounts import totp

    rt = app.runtime
    with rt.uow() as uow:
        found = _officer_named(uow, username)
        if exempt:
            totp.exempt(uow, found, reason=reason, actor="cli")
            uow.commit()
            click.echo(f"{username} 可只用密码登录（已记入审计日志）(exempt from TOTP, audited)")
            return
        uri = totp.enrol(uow, found, rt.secrets.cipher, actor="cli")
        uow.commit()
    click.echo("请用身份验证器扫描或输入以下地址；它只显示这一次 (shown once, add it to an authenticator app now):")
    click.echo(uri)


@officer.command("logout")
@click.argument("username")
@pass_app
def officer_logout(app: AppContext, username: str) -> None:
    """End every page session AND bearer token of the officer at once (a lost device, a suspected theft)."""
    from govcred.core.accounts.signin import sign_out_everywhere

    rt = app.runtime
    with rt.uow(readonly=True) as uow:
        _officer_named(uow, username)
    sessions, tokens = sign_out_everywhere(rt.collaborators, username, actor="cli")
    click.echo(f"已结束 {sessions} 个会话、{tokens} 个令牌 (sessions and tokens ended) for {username}")


@officer.command("disable")
@click.argument("username")
@pass_app
def officer_disable(app: AppContext, username: str) -> None:
    """Disable the account: it never signs in again, and its sessions and tokens end now."""
    from govcred.core.accounts.signin import disable_officer

    rt = app.runtime
    with rt.uow(readonly=True) as uow:
        _officer_named(uow, username)
    sessions, tokens = disable_officer(rt.collaborators, username, actor="cli")
    click.echo(f"已停用 {username}，结束 {sessions} 个会话、{tokens} 个令牌 (disabled; sessions and tokens ended)")
