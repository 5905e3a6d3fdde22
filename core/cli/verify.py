"""``govcred verify``: offline verification against a JWKS file and a status-list file."""
from __future__ import annotations

from pathlib import Path

import click

from govcred.core.cli import echo_json


def read_input(value: str) -> bytes | str:
    """A file (token text or a QR image) when ``value`` names one, else the token/QR text itself."""
    try:
        if Path(value).is_file():
            return Path(value).read_bytes()
    except OSError:  # e.g. a token longer than a file name may be
        pass
    return value


@click.command()
@click.argument("input_")
@click.option("--jwks", "jwks_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="The issuer's JWKS (what /.well-known/jwks.json serves).")
@click.option("--status-list", "status_file", type=click.Path(exists=True, dir_okay=False),
              help="The issuer's status-list token; without it the answer is STATUS_UNAVAILABLE.")
@click.option("--issuer", help="Pin the issuer (iss); default: the one the credential names.")
@click.option("--benefit", help="Benefit code to ask about, e.g. compulsory_education.")
@click.option("--json", "as_json", is_flag=True)
def verify(input_: str, jwks_file: str, status_file: str | None, issuer: str | None, benefit: str | None,
           as_json: bool) -> None:
    """Verify a credential or presentation (token, file holding one, or a QR image); exit 0 valid, 1 not."""
    from govcred.core.plugins import get_plugin_manager
    from govcred.verifier.cache import TrustCache
    from govcred.verifier.check import Verifier, claimed_issuer, token_of
    from govcred.verifier.trust import TrustConfig, TrustedIssuer

    data = read_input(input_)
    if issuer is None:
        try:
            issuer = claimed_issuer(token_of(data))
        except Exception:  # an unreadable input is reported by the verifier below
            issuer = None
    issuers = ()
    if issuer:
        issuers = (TrustedIssuer(issuer, issuer, str(Path(jwks_file).resolve()), None,
                                 (str(Path(status_file).resolve()),) if status_file else ()),)
    cache = TrustCache(TrustConfig(issuers) if issuers else TrustConfig(()))
    problems = cache.refresh()
    answer = Verifier(cache, pm=get_plugin_manager()).verify_text(data, benefit=benefit)
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


COMMANDS = [verify]
