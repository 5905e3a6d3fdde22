"""The embedded development backend: every message goes into ``sms_messages`` instead of
a phone. ``govcred sms log`` shows them (the login code included in development, so a
developer can log in; the phone stays masked)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from govcred.core import READONLY, Clock
from govcred.plugins.sms_gateway.phone import mask_phone
from govcred.plugins.sms_gateway.tables import sms_messages
from govcred.plugins.sms_gateway.templates import CODE_TEMPLATES, RenderedSms, render

#: What a login code becomes in the stored text outside development mode.
HIDDEN_CODE = "******"


class DevBackend:
    name = "dev"

    def __init__(self, engine: Engine, clock: Clock, *, signature: str, development: bool = True):
        self._engine = engine
        self._clock = clock
        self._signature = signature
        self._development = development

    def send(self, message_id: str, phone: str, sms: RenderedSms, params: Mapping[str, str]) -> str:
        text = sms.text
        if sms.template in CODE_TEMPLATES and not self._development:
            # a production database must not hold usable one-time codes
            text = render(sms.template, {**params, "code": HIDDEN_CODE}, self._signature).text
        with self._engine.begin() as conn:
            exists = conn.execute(sa.select(sms_messages.c.id).where(sms_messages.c.id == message_id)).first()
            if exists is None:
                conn.execute(
                    sa.insert(sms_messages).values(
                        id=message_id,
                        template=sms.template,
                        phone_masked=mask_phone(phone),
                        text=text,
                        segments=sms.segments,
                        created_at=self._clock.now(),
                    )
                )
        return message_id


def recent_messages(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The newest ``limit`` logged messages, newest first."""
    with engine.connect() as conn:
        conn.execution_options(**{READONLY: True})
        rows = (
            conn.execute(
                sa.select(sms_messages).order_by(sms_messages.c.created_at.desc(), sms_messages.c.id).limit(limit)
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]
