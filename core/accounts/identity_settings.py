"""The ``[identity]`` settings table: how residents prove who they are.

``[identity.oidc]`` configures the built-in OpenID Connect relying party for the province's
real-name service; ``identity.sms_sign_in`` says whether the SMS-code sign-in (a phone, not
a person) is offered. Without the key, the SMS sign-in is on in development and off in
production, and :func:`production_sign_in_problems` refuses a production start-up that
would leave it as the residents' only sign-in unless an administrator said
``sms_sign_in = true``.

Reading the table touches nothing: no network, no database. The client secret may come from
``GOVCRED_OIDC_CLIENT_SECRET`` instead of the file (it wins), so that it stays out of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from govcred.core.exceptions import ConfigError, PermissionDenied

CLIENT_SECRET_ENV = "GOVCRED_OIDC_CLIENT_SECRET"
TABLE_KEYS = frozenset({"sms_sign_in", "oidc"})
OIDC_KEYS = frozenset(
    {
        "issuer",
        "client_id",
        "client_secret",
        "scopes",
        "name_claim",
        "id_number_claim",
        "assurance_claim",
        "assurance_levels",
        "minimum_assurance",
        "label",
        "timeout_seconds",
        "metadata_ttl_seconds",
    }
)


@dataclass(frozen=True)
class OidcSettings:
    """One OpenID Connect provider (``[identity.oidc]``)."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ("openid", "profile")
    #: the ID token claims that carry the verified name, ID number and assurance level
    name_claim: str = "name"
    id_number_claim: str = "id_number"
    assurance_claim: str = "acr"
    #: the provider's assurance levels, lowest first; a level not listed is below every one
    assurance_levels: tuple[str, ...] = ("1", "2", "3", "4")
    minimum_assurance: str = "3"
    #: what the sign-in button says
    label: str = "实名认证登录"
    timeout_seconds: float = 10.0
    #: how long the discovery document and the key set are kept before being fetched again
    metadata_ttl_seconds: int = 3600

    def assurance_sufficient(self, level: str) -> bool:
        """Whether ``level`` reaches :attr:`minimum_assurance` (an unknown level never does)."""
        if level not in self.assurance_levels:
            return False
        return self.assurance_levels.index(level) >= self.assurance_levels.index(self.minimum_assurance)


@dataclass(frozen=True)
class IdentitySettings:
    oidc: OidcSettings | None
    #: whether residents may sign in with an SMS code
    sms_sign_in: bool
    #: whether ``sms_sign_in`` was set explicitly (production refuses it otherwise)
    sms_explicit: bool


def identity_settings(settings) -> IdentitySettings:
    """The ``[identity]`` table of ``settings``, parsed (it was validated when loaded)."""
    parsed, problems = _parse(settings.identity, settings.production, settings.environ)
    if problems:
        raise ConfigError("；".join(problems), problems=problems)
    assert parsed is not None
    return parsed


def identity_problems(table: Any, production: bool, environ: Mapping[str, str]) -> list[str]:
    """Every problem of the ``[identity]`` table (empty when it is right)."""
    return _parse(table, production, environ)[1]


def require_sms_sign_in(settings) -> None:
    """Refuse the SMS-code sign-in where it is off (production, unless enabled explicitly)."""
    if not identity_settings(settings).sms_sign_in:
        raise PermissionDenied("短信验证码登录未开放，请使用实名认证登录", code="SMS_SIGN_IN_DISABLED")


def production_sign_in_problems(settings) -> list[str]:
    """What a production start-up refuses about the residents' sign-in."""
    if not settings.production:
        return []
    parsed = identity_settings(settings)
    if parsed.oidc is None and not (parsed.sms_explicit and parsed.sms_sign_in):
        return [
            "production mode refuses the SMS-code sign-in of residents (it proves a phone, not a person): "
            "configure the real-name provider in [identity.oidc], or set identity.sms_sign_in = true "
            "to allow it explicitly as a low-assurance fallback"
        ]
    return []


def _parse(table: Any, production: bool, environ: Mapping[str, str]) -> tuple[IdentitySettings | None, list[str]]:
    if not isinstance(table, Mapping):
        return None, ["[identity] 应为一个表"]
    problems = [f"[identity] 中有未知的设置 {k!r}" for k in sorted(set(table) - TABLE_KEYS)]
    sms = table.get("sms_sign_in")
    if sms is not None and not isinstance(sms, bool):
        problems.append(f"identity.sms_sign_in 应为 true 或 false，现为 {sms!r}")
        sms = None
    oidc = None
    if "oidc" in table:
        oidc, found = _parse_oidc(table["oidc"], production, environ)
        problems.extend(found)
    explicit = sms is not None
    parsed = IdentitySettings(oidc=oidc, sms_sign_in=sms if explicit else not production, sms_explicit=explicit)
    return parsed, problems


def _text(values: Mapping[str, Any], key: str, problems: list[str], default: str | None = None) -> str:
    value = values.get(key, default)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"identity.oidc.{key} 应为非空字符串" + ("" if key in values else "（未设置）"))
        return ""
    return value.strip()


def _parse_oidc(values: Any, production: bool, environ: Mapping[str, str]) -> tuple[OidcSettings | None, list[str]]:
    if not isinstance(values, Mapping):
        return None, ["[identity.oidc] 应为一个表"]
    problems = [f"[identity.oidc] 中有未知的设置 {k!r}" for k in sorted(set(values) - OIDC_KEYS)]
    defaults = OidcSettings("", "", "")
    issuer = _text(values, "issuer", problems)
    if issuer and not issuer.startswith(("https://", "http://")):
        problems.append(f"identity.oidc.issuer 应为 http(s) 网址，现为 {issuer!r}")
    elif production and issuer and not issuer.startswith("https://"):
        problems.append("production mode needs an https:// identity.oidc.issuer")
    client_id = _text(values, "client_id", problems)
    secret_values = dict(values)
    if environ.get(CLIENT_SECRET_ENV):
        secret_values["client_secret"] = environ[CLIENT_SECRET_ENV]
    if not secret_values.get("client_secret"):
        problems.append(f"缺少 identity.oidc.client_secret（或设置环境变量 {CLIENT_SECRET_ENV}）")
    client_secret = str(secret_values.get("client_secret") or "")
    texts = {
        key: _text(values, key, problems, getattr(defaults, key))
        for key in ("name_claim", "id_number_claim", "assurance_claim", "label")
    }
    scopes = _strings(values, "scopes", defaults.scopes, problems)
    if scopes and "openid" not in scopes:
        problems.append("identity.oidc.scopes 须包含 'openid'")
    levels = _strings(values, "assurance_levels", defaults.assurance_levels, problems, allow_numbers=True)
    minimum = values.get("minimum_assurance", defaults.minimum_assurance)
    minimum = str(minimum) if isinstance(minimum, (str, int)) and not isinstance(minimum, bool) else None
    if minimum is None or (levels and minimum not in levels):
        problems.append(
            f"identity.oidc.minimum_assurance 应为 assurance_levels 中的一项（{'、'.join(levels)}），"
            f"现为 {values.get('minimum_assurance')!r}"
        )
    numbers = {}
    for key, low, high in (("timeout_seconds", 1, 60), ("metadata_ttl_seconds", 60, 86400)):
        value = values.get(key, getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            problems.append(f"identity.oidc.{key} 应为 {low} 到 {high} 之间的数，现为 {value!r}")
            value = getattr(defaults, key)
        numbers[key] = value
    if problems:
        return None, problems
    return (
        OidcSettings(
            issuer=issuer,
            client_id=client_id,
            client_secret=client_secret,
            scopes=scopes,
            assurance_levels=levels,
            minimum_assurance=minimum or "",
            timeout_seconds=float(numbers["timeout_seconds"]),
            metadata_ttl_seconds=int(numbers["metadata_ttl_seconds"]),
            **texts,
        ),
        [],
    )


def _strings(
    values: Mapping[str, Any], key: str, default: tuple[str, ...], problems: list[str], *, allow_numbers: bool = False
) -> tuple[str, ...]:
    value = values.get(key, default)
    kinds = (str, int) if allow_numbers else (str,)
    if (
        not isinstance(value, (list, tuple))
        or not value
        or not all(isinstance(v, kinds) and not isinstance(v, bool) and str(v).strip() for v in value)
    ):
        problems.append(f"identity.oidc.{key} 应为非空的字符串列表，现为 {value!r}")
        return ()
    return tuple(str(v).strip() for v in value)
