"""Core's own hook implementations: fallbacks every other plugin can override (trylast)."""

from __future__ import annotations

from govcred.core.hookspecs import hookimpl


@hookimpl(trylast=True)
def govcred_working_calendar(settings):
    """The State Council holiday table shipped with govcred, plus imported years."""
    from govcred.core.calendar.working import load_calendar

    return load_calendar(settings.data_dir)


@hookimpl(trylast=True)
def govcred_identity_providers(register, settings):
    """The OpenID Connect relying party, when ``[identity.oidc]`` configures one."""
    from govcred.core.accounts.identity_settings import identity_settings

    config = identity_settings(settings).oidc
    if config is not None:
        from govcred.core.accounts.oidc import OidcProvider

        register(OidcProvider(config, leeway_seconds=settings.leeway_seconds))


@hookimpl(trylast=True)
def govcred_audit_witnesses(register, settings):
    """The file witness, and an HTTP witness per ``audit_witness_urls``."""
    from govcred.core.witnesses import builtin_witnesses

    for witness in builtin_witnesses(settings):
        register(witness)
