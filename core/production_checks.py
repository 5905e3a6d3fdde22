"""What a production start-up refuses, found together and listed at once.

``govcred serve``, the WSGI app (``govcred.core.web.wsgi:app``) and ``govcred worker`` ask
:func:`refuse_unsafe_production` before they take a request or a message. Each refusal is a
setup a development data directory leaves behind and production must not run with:

- a demo officer (``govcred init``/``govcred demo``; its password is in a plain-text file);
- a development signing key the JWKS still publishes, active or retired (its passphrase is in a
  plain-text file, so whoever reads the data directory could sign permits verifiers accept);
- the residents' SMS-code sign-in as their only sign-in (a phone, not a person), unless an
  administrator allowed it explicitly;
- whatever a plugin names through ``govcred_production_refusals`` (the development SMS backend).

The settings' own problems (a missing passphrase, an http:// issuer) stop earlier, when they are
loaded (:mod:`govcred.core.config`); these need the database and the plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from govcred.core.accounts.identity_settings import production_sign_in_problems
from govcred.core.exceptions import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.runtime import Runtime

HEADLINE = "production mode refuses to start"


def demo_officer_problems(runtime: Runtime) -> list[str]:
    with runtime.uow(readonly=True) as uow:
        names = uow.officers.active_demo_usernames()
    if not names:
        return []
    return [
        f"production mode refuses the demo officer account(s) {', '.join(names)} (made by `govcred init` "
        "or `govcred demo`, their passwords are in secrets/demo-logins.txt): disable each with "
        + ", ".join(f"`govcred officer disable {n}`" for n in names)
    ]


def development_key_problems(runtime: Runtime) -> list[str]:
    problems = []
    for kid, active in runtime.keystore.published_development_keys():
        if active:
            problems.append(
                f"production mode refuses the development signing key {kid}, active and published in the JWKS: "
                "run `govcred keys rotate` with GOVCRED_KEY_PASSPHRASE set (the retired key leaves the JWKS "
                "at once unless credentials it signed are still valid; then revoke it as below)"
            )
        else:
            problems.append(
                f"production mode refuses the development signing key {kid}, retired but still published in "
                "the JWKS for the credentials it signed: run `govcred keys revoke "
                f"{kid} --compromised --reason ...` (verifiers then refuse those credentials; it signs the permits in use again)"
            )
    return problems


def production_problems(runtime: Runtime) -> list[str]:
    """Every refusal of a production start-up (empty in development and when all is well)."""
    settings = runtime.settings
    if not settings.production:
        return []
    problems = [*demo_officer_problems(runtime), *development_key_problems(runtime)]
    problems += production_sign_in_problems(settings)
    for found in runtime.pm.hook.govcred_production_refusals(settings=settings):
        problems.extend(found or ())
    return problems


def refuse_unsafe_production(runtime: Runtime) -> None:
    """Raise one :class:`ConfigError` listing every problem of :func:`production_problems`."""
    problems = production_problems(runtime)
    if problems:
        message = HEADLINE + ":\n" + "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(message, problems=problems)
