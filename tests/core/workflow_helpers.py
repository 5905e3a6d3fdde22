"""Accounts, proofs, records and documents for workflow tests (services, API, bench)."""

from __future__ import annotations

import copy
import io
from typing import Any

from PIL import Image

from govcred.core import models
from govcred.core.accounts.officers import Principal, create_officer
from tests.plugins.zhejiang_residence.zj_fixtures import base_document, make_id

PASSWORD = "a long enough passphrase 42"
APPLICANT_ID = make_id("19900307")


def officer(rt, role: str, username: str) -> Principal:
    """A new officer as the use cases see them just after signing in (a fresh factor)."""
    with rt.uow() as uow:
        o = create_officer(
            uow, username=username, display_name=username, role=role, password=PASSWORD, now=rt.clock.now()
        )
        uow.commit()
    return Principal("officer", o.id, role, username, factor_at=rt.clock.now())


def resident(rt, phone: str) -> Principal:
    with rt.uow() as uow:
        r = uow.residents.get_or_create(phone, rt.clock.now())
        uow.commit()
    return Principal("resident", r.id)


def png_bytes(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def upload(rt, principal: Principal, data: bytes | None = None, name: str = "proof.png") -> str:
    from govcred.core import attachments

    return attachments.store(rt.collaborators, data or png_bytes(), name, principal=principal).id


def import_records(
    rt,
    id_number: str = APPLICANT_ID,
    declared: str = "2026-01-01",
    division: str = "331121",
    permits: list[dict[str, Any]] | None = None,
) -> None:
    """Put the person's registration in the local records (the built-in records source)."""
    import datetime as dt

    from govcred.plugins.zhejiang_residence.configured import configured

    regs = [{"division": division, "declared": dt.date.fromisoformat(declared), "ended": None}]
    configured(rt.pm).import_people({id_number: {"registrations": regs, "permits": permits or []}}, rt.clock.now())


def document(
    attachment_ids: list[str], *, channel: str = "online", id_number: str = APPLICANT_ID, **top: Any
) -> dict[str, Any]:
    """An eligible registration-recognition application (with records from import_records)."""
    doc = base_document(channel=channel)
    doc["applicant"]["id_number"] = id_number
    doc["conditions"][0]["attachments"] = list(attachment_ids)
    doc["commitment"]["at"] = "2026-11-30T09:30:00+08:00"
    doc["registrations"] = [{"division": "331121", "declared": "2026-01-01", "ended": None}]
    for key, value in top.items():
        doc[key] = copy.deepcopy(value)
    return doc


def queued_applications(runtime, n: int, *, deadlines, channel="online", state="accepted") -> list[str]:
    """n applications straight into the queue (the queue's subject is paging, not intake)."""
    now = runtime.clock.now()
    ids = []
    with runtime.uow() as uow:
        for i in range(n):
            id_number = make_id(f"19{60 + i % 40}0101", seq=f"{i % 1000:03d}")
            app = models.Application(
                schema="zj-residence/application@1",
                channel=channel,
                document=document(["a"], id_number=id_number),
                state=state,
                subject_index=runtime.secrets.index(id_number + channel + state, "id_number"),
                subject_name_masked="张*明",
                subject_id_masked=id_number[:4] + "*" * 10 + id_number[-4:],
                county="331121",
                created_at=now,
                submitted_at=now,
                accepted_at=now if state == "accepted" else None,
                deadline=deadlines(i),
            )
            uow.applications.add(app)
            ids.append(app.id)
        uow.commit()
    return ids


def rule_clean_applications(rt, n: int, *, first: int = 0) -> list[str]:
    """n accepted applications of n different people, each with a qualifying registration
    (what a launch-day conversion queues): every rule passes. Returns their ids."""
    import datetime as dt

    from govcred.plugins.zhejiang_residence.configured import configured

    births = [f"{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}" for i in range(first, first + n)]
    ids = [make_id(birth, "330102", f"{(first + i) % 1000:03d}") for i, birth in enumerate(births)]
    since = dt.date(2026, 1, 1)
    configured(rt.pm).import_people(
        {i: {"registrations": [{"division": "331121", "declared": since, "ended": None}], "permits": []} for i in ids},
        rt.clock.now(),
    )
    now = rt.clock.now()
    deadline = rt.calendar.deadline(now).at
    app_ids = []
    with rt.uow() as uow:
        for id_number in ids:
            app = models.Application(
                schema="zj-residence/application@1",
                channel="online",
                document=document(["a"], id_number=id_number),
                state=models.ACCEPTED,
                subject_index=rt.secrets.index(id_number, "id_number"),
                subject_name_masked="张*明",
                subject_id_masked=id_number[:4] + "*" * 10 + id_number[-4:],
                county="331121",
                created_at=now,
                submitted_at=now,
                accepted_at=now,
                deadline=deadline,
            )
            uow.applications.add(app)
            app_ids.append(app.id)
        uow.commit()
    return app_ids
