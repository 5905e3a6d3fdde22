"""IETF Token Status List (draft-ietf-oauth-status-list), 2 bits per credential.

Values: 0 valid, 1 invalid (revoked, replaced, cancelled), 2 suspended. Each credential gets
an index chosen at random within its list (herd privacy; the draft and W3C BSL recommend
random, non-sequential allocation) and never reused: credentials are never deleted and
``(status_list_id, status_idx)`` is unique.
"""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import sqlalchemy as sa

from core.exceptions import GovcredError
from core.orm import credentials, status_lists

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

BITS = 2
#: Stop filling a list at this share: random probing would get slow, and a list that is
#: never full keeps decoys for herd privacy.
FILL_LIMIT = 0.75


class StatusListFull(GovcredError):
    """No status list has room for another credential."""

    code = "STATUS_LIST_FULL"


def status_list_uri(issuer: str, list_id: str) -> str:
    return f"{issuer.rstrip('/')}/status/{list_id}"


def _open_list(session: "Session", size: int, now) -> tuple[str, int]:
    row = session.execute(
        sa.select(status_lists.c.id, status_lists.c.size).where(status_lists.c.full.is_(False))
        .order_by(status_lists.c.created_at).limit(1).with_for_update()
    ).first()
    if row is not None:
        return row.id, row.size
    count = session.execute(sa.select(sa.func.count()).select_from(status_lists)).scalar() or 0
    list_id = str(count + 1)
    session.execute(sa.insert(status_lists).values(id=list_id, bits=BITS, size=size, created_at=now,
                                                  updated_at=now, revision=0, full=False))
    return list_id, size


def allocate_index(session: "Session", *, size: int, now, rng=secrets.SystemRandom()) -> tuple[str, int]:
    """Pick a free index at random in the open list (opening a new list when it is full)."""
    for _ in range(3):
        list_id, list_size = _open_list(session, size, now)
        used = session.execute(
            sa.select(sa.func.count()).select_from(credentials).where(credentials.c.status_list_id == list_id)
        ).scalar() or 0
        if used >= list_size * FILL_LIMIT:
            session.execute(sa.update(status_lists).where(status_lists.c.id == list_id).values(full=True))
            continue
        for _attempt in range(64):
            idx = rng.randrange(list_size)
            taken = session.execute(
                sa.select(credentials.c.id).where(credentials.c.status_list_id == list_id,
                                                  credentials.c.status_idx == idx)
            ).first()
            if taken is None:
                return list_id, idx
    raise StatusListFull("状态列表已满，请联系管理员")
