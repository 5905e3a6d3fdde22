"""The bureau's report counts verifications by institution from the verifier's own log."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from govcred.core.services.reports import ReportPeriod, summary
from govcred.verifier.db import add_client, create_tables, make_verifier_engine, verification_log
from tests.core.permits import make_officer
from tests.core.report_fixture import FIRST, LAST, bj


def _log(engine, client_key: str, *ats: dt.datetime) -> None:
    client_id = client_key.split("_")[1]
    with engine.begin() as conn:
        for at in ats:
            conn.execute(
                sa.insert(verification_log).values(
                    client_id=client_id,
                    at=at.astimezone(dt.UTC),
                    credential_hash="0" * 64,
                    kind="credential",
                    valid=True,
                    reasons="",
                )
            )


def test_verifications_by_institution_come_from_the_verifier_log(runtime):
    admin = make_officer(runtime, "admin")
    period = ReportPeriod.parse(FIRST, LAST)
    assert summary(runtime.collaborators, admin, period)["verifications"] == 0  # no verifier here
    directory = runtime.settings.data_dir / "verifier"
    directory.mkdir(parents=True)
    engine = make_verifier_engine(f"sqlite:///{directory / 'verifier.sqlite3'}")
    create_tables(engine)
    school = add_client(engine, "青田县实验小学", now=bj(9, 1))
    hospital = add_client(engine, "青田县人民医院", now=bj(9, 1))
    _log(engine, school, bj(9, 28, 9), bj(10, 12, 23, 59))
    _log(engine, hospital, bj(10, 9), bj(10, 13, 0, 1))  # the second one is after the period
    engine.dispose()
    answers = runtime.pm.hook.govcred_report_verifications(
        settings=runtime.settings, start=period.start, end=period.end
    )
    assert {"青田县实验小学": 2, "青田县人民医院": 1} in answers
    assert summary(runtime.collaborators, admin, period)["verifications"] == 3
