"""Issuers for verifier tests: real runtimes that sign credentials and status lists, and the
files a verifier trusts them through (JWKS and status-list tokens written to disk)."""

from __future__ import annotations

import json
from pathlib import Path

from govcred.testing import make_runtime, make_settings
from govcred.verifier.trust import TrustConfig, TrustedIssuer

QINGTIAN = "https://qt.example.gov.cn"
LISHUI = "https://ls.example.gov.cn"


def issuer_runtime(tmp_path: Path, sqlite_template, clock, issuer: str):
    """A second (third...) county: its own data dir, database and signing key."""
    import shutil

    base = tmp_path / issuer.split("//")[1].split(".")[0]
    base.mkdir(parents=True, exist_ok=True)
    db = base / "govcred.sqlite3"
    shutil.copy(sqlite_template, db)
    (base / "var").mkdir(exist_ok=True)
    rt = make_runtime(make_settings(base / "var", f"sqlite:///{db}", issuer=issuer), clock)
    rt.keystore.ensure_key()
    return rt


def publish(rt, directory: Path, list_ids=None) -> TrustedIssuer:
    """Write the issuer's JWKS and its current status lists as files; the trust entry naming them."""
    import sqlalchemy as sa

    from govcred.core.orm import status_lists

    directory.mkdir(parents=True, exist_ok=True)
    tag = rt.settings.issuer.split("//")[1].split(".")[0]
    jwks = directory / f"{tag}-jwks.json"
    jwks.write_text(json.dumps(rt.keystore.jwks()))
    if list_ids is None:
        with rt.uow(readonly=True) as uow:
            list_ids = uow.session.execute(sa.select(status_lists.c.id)).scalars().all()
    files = []
    for list_id in list_ids:
        path = directory / f"{tag}-status-{list_id}.jwt"
        path.write_text(rt.status_list_publisher.current(list_id).token)
        files.append(str(path))
    return TrustedIssuer(rt.settings.issuer, f"{tag} 公安局", str(jwks), None, tuple(files))


def trust_of(*issuers: TrustedIssuer, plugins=("zhejiang_residence",)) -> TrustConfig:
    return TrustConfig(tuple(issuers), tuple(plugins))


def verifier_app(rt, tmp_path: Path, **config):
    """A verifier app trusting ``rt`` (its JWKS and lists published under ``tmp_path/trust``),
    on ``rt``'s clock, refreshed once at creation (no background thread)."""
    from govcred.verifier.app import create_app

    return create_app(
        {
            "trust": trust_of(publish(rt, tmp_path / "trust")),
            "data_dir": tmp_path / "verifier",
            "clock": rt.clock,
            "background_refresh": False,
            **config,
        }
    )
