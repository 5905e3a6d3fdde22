"""What README.md says of the API matches the API: the routes its "Retrying API calls" section
says need an ``Idempotency-Key`` are exactly those the OpenAPI document gives the header."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_routes_said_to_need_an_idempotency_key_are_those_that_do(sqlite_runtime, app_factory):
    spec = app_factory(sqlite_runtime).test_client().get("/api/v1/openapi.json").get_json()
    needing = {
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
        and any(isinstance(p, dict) and p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    section = _section("Retrying API calls (Idempotency-Key)")
    named = set(re.findall(r"`(POST /api/v1/[^`\s]+)`", section))
    assert named == needing, f"README names {sorted(named)}, the API requires the header on {sorted(needing)}"
