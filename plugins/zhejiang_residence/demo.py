"""The sample journey ``govcred demo`` runs for 浙江省居住证: a fresh person each run."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path
from typing import Any

from govcred.core import BEIJING
from govcred.plugins.zhejiang_residence.identifiers import id_check_char

JOURNEY = Path(__file__).parent / "data" / "demo-journey.json"


def demo_id_number() -> str:
    """A well-formed resident ID number, new each run, so a second demo on the same data
    directory is a new person rather than a duplicate permit."""
    birth = dt.date(1980, 1, 1) + dt.timedelta(days=secrets.randbelow(20 * 365))
    body = f"330102{birth:%Y%m%d}{secrets.randbelow(1000):03d}"
    return body + id_check_char(body)


def fill(value: Any, values: dict[str, str]) -> Any:
    """Replace ``{{name}}`` placeholders in every string of a JSON-like value."""
    if isinstance(value, str):
        for name, text in values.items():
            value = value.replace("{{" + name + "}}", text)
        return value
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


def demo_journey(now: dt.datetime) -> dict[str, Any]:
    """The journey with this run's person filled in (``{{attachment}}`` is left for core)."""
    journey = json.loads(JOURNEY.read_text(encoding="utf-8"))
    phone = f"138{secrets.randbelow(10**8):08d}"
    values = {
        "id_number": demo_id_number(),
        "phone": phone,
        "since": (now.astimezone(BEIJING).date() - dt.timedelta(days=240)).isoformat(),
        "now": now.astimezone(BEIJING).isoformat(timespec="seconds"),
    }
    return {
        "schema": journey["schema"],
        "phone": phone,
        "records_csv": fill(journey["records_csv"], values),
        "document": fill(journey["document"], values),
    }
