"""Probes and metrics: ``/healthz`` (the process answers), ``/readyz`` (database reachable,
migrations at head, a signing key loaded: 503 otherwise, so a load balancer takes the
process out of rotation) and ``/metrics`` (Prometheus text: an administrator, or the scraper with the bearer token
``GOVCRED_METRICS_TOKEN``, since a scraper cannot sign in with a second factor)."""

from __future__ import annotations

import hmac

from flask import Blueprint, jsonify

from govcred.core.accounts.officers import require_role
from govcred.core.health import readiness
from govcred.core.outages import RETRY_AFTER_SECONDS
from govcred.core.readiness import readiness_answer
from govcred.core.web import metrics
from govcred.core.web.authn import bearer_token, current_principal, public
from govcred.core.web.context import runtime_of

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@public
def readyz():
    rt = runtime_of()
    body, status, headers = readiness_answer(readiness(rt.engine, rt.pm, rt.keystore), RETRY_AFTER_SECONDS)
    return jsonify(body), status, headers


@bp.get("/metrics")
@public  # checked inside: the scraper's token, else an administrator
def metrics_view():
    rt = runtime_of()
    token = bearer_token()
    wanted = rt.settings.metrics_token
    if not (wanted and token and hmac.compare_digest(token.encode(), wanted.encode())):
        require_role(current_principal(), "admin")
    return metrics.exposition(rt)


metrics_view.govcred_roles = ("admin",)
