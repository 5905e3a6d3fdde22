"""Prometheus metrics (prometheus-client) on ``/metrics``, for administrators.

Request counts and latency are recorded per endpoint (the route's name, never the raw path,
so that ids do not explode the label set). Under gunicorn every worker is its own process:
``govcred serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers start, each worker
writes its samples there and a scrape sums them (prometheus-client's multiprocess mode),
whichever worker answers it. The outbox and deadline figures are read from the database at
scrape time (:mod:`core.health`), so they are the same from every worker.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from govcred.core.health import figures

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# prometheus-client picks in-process or multiprocess values when it is first imported; a
# module imported before ``govcred serve`` set the variable (a plugin, the verifier) would
# leave this worker's samples invisible to the other workers' scrapes. Choose again now.
prometheus_values.ValueClass = prometheus_values.get_value_class()

REQUESTS = Counter("govcred_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "govcred_http_request_seconds",
    "Time to answer an HTTP request",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


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


def install(app: Flask) -> None:
    """Time every request and count it by endpoint and status."""

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            endpoint = request.endpoint or "unmatched"
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
            REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        return response


def exposition(runtime) -> Response:
    """The text exposition: this process's (or, under gunicorn, every worker's) samples, then
    the database figures (two registries' texts: the format allows families one after another)."""
    if os.environ.get(MULTIPROC_ENV):
        requests = CollectorRegistry()
        MultiProcessCollector(requests)
    else:
        requests = REGISTRY
    database = CollectorRegistry()
    database.register(DatabaseFigures(runtime))
    return Response(generate_latest(requests) + generate_latest(database), mimetype=CONTENT_TYPE_LATEST)
