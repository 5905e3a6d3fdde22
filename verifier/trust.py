"""Trusted issuers: which ``iss`` values the verifier accepts and where their keys and lists are.

A trust file (TOML or JSON) lists several issuers at once (one per county)::

    benefit_plugins = ["zhejiang_residence"]   # entry points that answer benefit questions

    [[issuer]]
    iss = "https://qt.example.gov.cn"
    name = "青田县公安局"
    jwks = "https://qt.example.gov.cn/.well-known/jwks.json"   # an https URL or a file
    status_lists = "https://qt.example.gov.cn/status"          # optional aggregation URL
    status_list_files = ["lists/qt-1.jwt"]                       # optional: lists from files

Keys are pinned per issuer: a token's key is looked up only in its own issuer's key set, and
a status list is fetched only from below its issuer's URL (the credential names the list).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from govcred.core.exceptions import ConfigError


@dataclass(frozen=True)
class TrustedIssuer:
    iss: str
    name: str
    jwks: str
    status_lists: str | None = None
    status_list_files: tuple[str, ...] = ()

    @property
    def jwks_is_url(self) -> bool:
        return self.jwks.startswith(("https://", "http://"))

    def owns_list(self, uri: str) -> bool:
        """A list URI the verifier may fetch for this issuer: below the issuer's own URL."""
        return isinstance(uri, str) and uri.startswith(self.iss.rstrip("/") + "/") and len(uri) <= 512


@dataclass(frozen=True)
class TrustConfig:
    issuers: tuple[TrustedIssuer, ...]
    benefit_plugins: tuple[str, ...] = field(default=())

    def by_iss(self) -> dict[str, TrustedIssuer]:
        return {i.iss: i for i in self.issuers}


def _resolve(base: Path, value: str) -> str:
    if value.startswith(("https://", "http://")):
        return value
    path = Path(value)
    return str(path if path.is_absolute() else (base / path))


def parse_trust(data: dict, base: Path = Path(".")) -> TrustConfig:
    """Build the trust configuration; every problem is named in one ConfigError."""
    problems: list[str] = []
    entries = data.get("issuer")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("trust file needs at least one [[issuer]] entry")
    issuers: list[TrustedIssuer] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        where = f"issuer {n + 1}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table")
            continue
        found: list[str] = []
        iss, jwks = entry.get("iss"), entry.get("jwks")
        if not isinstance(iss, str) or not iss.startswith(("https://", "http://")):
            found.append("iss must be an http(s) URL")
        elif iss in seen:
            found.append(f"iss {iss} listed twice")
        else:
            seen.add(iss)
        if not isinstance(jwks, str) or not jwks:
            found.append("jwks (URL or file) is required")
        lists = entry.get("status_lists")
        if lists is not None and (not isinstance(lists, str) or not lists.startswith(("https://", "http://"))):
            found.append("status_lists must be an http(s) URL")
        files = entry.get("status_list_files", [])
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            found.append("status_list_files must be a list of paths")
        unknown = sorted(set(entry) - {"iss", "name", "jwks", "status_lists", "status_list_files"})
        if unknown:
            found.append(f"unknown key(s) {', '.join(unknown)}")
        problems += [f"{where}: {p}" for p in found]
        if not found:
            issuers.append(
                TrustedIssuer(
                    iss,
                    str(entry.get("name", iss)),
                    _resolve(base, jwks),
                    lists,
                    tuple(_resolve(base, f) for f in files),
                )
            )
    plugins = data.get("benefit_plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        problems.append("benefit_plugins must be a list of plugin names")
    unknown = sorted(set(data) - {"issuer", "benefit_plugins"})
    if unknown:
        problems.append(f"unknown top-level key(s) {', '.join(unknown)}")
    if problems:
        raise ConfigError("trust file rejected: " + "; ".join(problems), problems=problems)
    return TrustConfig(tuple(issuers), tuple(plugins))


def load_trust(path: str | Path) -> TrustConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read trust file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"trust file {path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"trust file {path} must hold an object")
    return parse_trust(data, path.parent)
