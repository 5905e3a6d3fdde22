"""The shape of one readiness check, as ``/readyz`` reports it (the issuer's and the verifier
service's alike): ``{"ready": all ok, "checks": [{"name", "ok", "detail"}, ...]}``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def readiness_answer(checks: list[Check], retry_after: int) -> tuple[dict, int, dict[str, str]]:
    """(body, status, headers) of ``/readyz`` for ``checks``: 200, or 503 with Retry-After (a
    load balancer takes the process out of rotation and asks again); never cached."""
    ready = all(c.ok for c in checks)
    headers = {"Cache-Control": "no-store"}
    if not ready:
        headers["Retry-After"] = str(retry_after)
    return {"ready": ready, "checks": [c.as_dict() for c in checks]}, 200 if ready else 503, headers
