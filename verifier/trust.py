"""Trusted issuers: which ``iss`` values the verifier accepts and where their keys and lists are.

A trust file (TOML or JSON) lists several issuers at once (one per county)::

    benefit_plugins = ["zhejiang_residence"]   # entry points that answer benefit questions

    [[issuer]]
    iss = "https://qt.example.gov.cn"
    name = "青田县公安局"
    jwks = "https://qt.example.gov.cn/.well-known/jwks.json"   # an https URL or a file
    status_lists = "https://qt.example.gov.cn/status"          # optional aggregation URL
    status_list_files = ["lists/qt-1.jwt"]                       # optional: lists from files
    divisions = ["331121"]              # division-code prefixes it may issue for ("3311": the city)
    credential_types = ["zj-rp"]        # the credential types (claim ``ct``) it may issue

An issuer's scope binds it to what it may issue: a credential it signs for another division
or of another type answers ISSUER_OUT_OF_SCOPE. A local file may leave a scope out (development,
or one county trusting only itself): that issuer is then not narrowed, and a warning says so.
The province's signed trust list (:mod:`govcred.verifier.trustlist`) always states both.

Keys are pinned per issuer: a token's key is looked up only in its own issuer's key set, and
a status list is fetched only from below its issuer's URL (the credential names the list).
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from govcred.core.claims import COUNTY, CREDENTIAL_TYPE
from govcred.core.exceptions import ConfigError, VerificationError
from govcred.core.file_problems import UNREADABLE, unreadable

log = logging.getLogger("govcred.verifier.trust")

#: A division-code prefix: province (2 digits), city (4) or county (6), GB/T 2260.
DIVISION_PREFIX = re.compile(r"\d{2}(\d{2}){0,2}")
ENTRY_KEYS = frozenset({"iss", "name", "jwks", "status_lists", "status_list_files", "divisions", "credential_types"})


@dataclass(frozen=True)
class TrustedIssuer:
    iss: str
    name: str
    jwks: str
    status_lists: str | None = None
    status_list_files: tuple[str, ...] = ()
    #: division-code prefixes and credential types it may issue for; None: not narrowed
    divisions: tuple[str, ...] | None = None
    credential_types: tuple[str, ...] | None = None

    def check_scope(self, claims: dict) -> None:
        """ISSUER_OUT_OF_SCOPE unless the verified claims are within what this issuer may issue."""
        if self.divisions is not None:
            county = claims.get(COUNTY)
            if not isinstance(county, str) or not county.startswith(self.divisions):
                raise VerificationError("ISSUER_OUT_OF_SCOPE", "DIVISION_OUT_OF_SCOPE")
        if self.credential_types is not None and claims.get(CREDENTIAL_TYPE) not in self.credential_types:
            raise VerificationError("ISSUER_OUT_OF_SCOPE", "TYPE_OUT_OF_SCOPE")

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


def parse_issuer(
    entry, where: str, base: Path, *, scope_required: bool = False
) -> tuple[TrustedIssuer | None, list[str]]:
    """One trust entry, or None and every problem with it (prefixed with ``where``)."""
    if not isinstance(entry, dict):
        return None, [f"{where}：应为一个表 ([[issuer]])"]
    found: list[str] = []
    iss, jwks = entry.get("iss"), entry.get("jwks")
    if not isinstance(iss, str) or not iss.startswith(("https://", "http://")):
        found.append("iss 应为 http(s) 网址")
    if not isinstance(jwks, str) or not jwks:
        found.append("缺少 jwks（公钥集的网址或文件）")
    lists = entry.get("status_lists")
    if lists is not None and (not isinstance(lists, str) or not lists.startswith(("https://", "http://"))):
        found.append("status_lists 应为 http(s) 网址")
    files = entry.get("status_list_files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        found.append("status_list_files 应为文件路径的列表")
    divisions, types = entry.get("divisions"), entry.get("credential_types")
    if divisions is not None and (
        not isinstance(divisions, list) or not divisions or not all(_is_division(d) for d in divisions)
    ):
        found.append("divisions 应为非空列表，每项是 2、4 或 6 位的行政区划代码前缀")
    if types is not None and (
        not isinstance(types, list) or not types or not all(isinstance(t, str) and t for t in types)
    ):
        found.append("credential_types 应为非空列表，每项是一个证照类型名称")
    if scope_required and (divisions is None or types is None):
        found.append("缺少 divisions 和 credential_types（信任列表中每个签发机关都须限定范围）")
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        found.append(f"未知的键：{'、'.join(unknown)}")
    if found:
        return None, [f"{where}：{p}" for p in found]
    issuer = TrustedIssuer(
        iss,
        str(entry.get("name", iss)),
        _resolve(base, jwks),
        lists,
        tuple(_resolve(base, f) for f in files),
        None if divisions is None else tuple(divisions),
        None if types is None else tuple(types),
    )
    return issuer, []


def _is_division(value) -> bool:
    return isinstance(value, str) and DIVISION_PREFIX.fullmatch(value) is not None


def parse_issuers(entries, base: Path, *, scope_required: bool = False) -> tuple[list[TrustedIssuer], list[str]]:
    """Every entry of an issuer list, and every problem with any of them."""
    if not isinstance(entries, list) or not entries:
        return [], ["至少需要一个签发机关条目 ([[issuer]])"]
    issuers: list[TrustedIssuer] = []
    problems: list[str] = []
    for n, entry in enumerate(entries):
        issuer, found = parse_issuer(entry, f"第 {n + 1} 个签发机关", base, scope_required=scope_required)
        if issuer is not None and issuer.iss in {i.iss for i in issuers}:
            issuer, found = None, [f"第 {n + 1} 个签发机关：iss {issuer.iss} 重复列出"]
        problems += found
        if issuer is not None:
            issuers.append(issuer)
    return issuers, problems


def parse_trust(data: dict, base: Path = Path(".")) -> TrustConfig:
    """Build the trust configuration; every problem is named in one ConfigError."""
    issuers, problems = parse_issuers(data.get("issuer"), base)
    plugins = data.get("benefit_plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        problems.append("benefit_plugins 应为插件名称的列表")
    unknown = sorted(set(data) - {"issuer", "benefit_plugins"})
    if unknown:
        problems.append(f"未知的顶层键：{'、'.join(unknown)}")
    if problems:
        raise ConfigError("信任文件有误：" + "；".join(problems), problems=problems)
    for issuer in issuers:
        if issuer.divisions is None or issuer.credential_types is None:
            log.warning("信任文件：%s 未设 divisions/credential_types，不限定其签发的地区和证照类型", issuer.iss)
    return TrustConfig(tuple(issuers), tuple(plugins))


def read_trust_data(path: Path) -> dict:
    """The object a trust file (TOML, or JSON by its suffix) holds; ConfigError naming the problem."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except UNREADABLE as exc:  # UnicodeDecodeError and both decode errors are ValueErrors
        raise ConfigError(f"无法读取信任文件 {path}：{unreadable(exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"信任文件 {path} 应为一个对象（表），其中有 [[issuer]] 条目")
    return data


def load_trust(path: str | Path) -> TrustConfig:
    path = Path(path)
    return parse_trust(read_trust_data(path), path.parent)
