"""Prometheus metrics (prometheus-client) on ``/metrics``, for administrators: the request
counts and latency of :mod:`core.web.request_metrics`, and the outbox and deadline figures,
read from the database at scrape time (:mod:`core.health`), so they are the same from every
worker.
"""

from __future__ import annotations

from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from govcred.core.health import figures
from govcred.core.web.request_metrics import install, process_samples

__all__ = ["DatabaseFigures", "exposition", "install"]


class DatabaseFigures:
    """A collector reading the outbox and deadline figures at scrape time."""

    def __init__(self, runtime):
        self._rt = runtime

    def collect(self):
        f = figures(self._rt.engine, self._rt.clock.now())
        depth = GaugeMetricFamily("govcred_outbox_depth", "Outbox messages not yet delivered", labels=["status"])
        depth.add_metric(["pending"], f.outbox_pending)
        depth.add_metric(["inflight"], f.outbox_inflight)
        yield depth
        yield GaugeMetricFamily(
            "govcred_outbox_oldest_seconds",
            "Age of the oldest undelivered outbox message",
            value=f.outbox_oldest_seconds,
        )
        yield GaugeMetricFamily("govcred_outbox_dead", "Dead letters waiting for an operator", value=f.outbox_dead)
        yield GaugeMetricFamily(
            "govcred_applications_overdue",
            "Accepted applications past their statutory deadline (SLA overdue)",
            value=f.applications_overdue,
        )


def exposition(runtime) -> Response:
    """The text exposition: the processes' samples, then the database figures (two registries'
    texts: the format allows families one after another)."""
    database = CollectorRegistry()
    database.register(DatabaseFigures(runtime))
    return Response(process_samples() + generate_latest(database), mimetype=CONTENT_TYPE_LATEST)
