"""Request counts and latency for ``/metrics`` (prometheus-client), shared by the issuer and the
verifier service: nothing here reads either one's database.

Recorded per endpoint (the route's name, never the raw path, so that ids do not explode the
label set). Under gunicorn every worker is its own process: the server sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start, each worker writes its samples there
and a scrape sums them (prometheus-client's multiprocess mode), whichever worker answers it.
"""

from __future__ import annotations

import os
import time

from flask import Flask, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import values as prometheus_values
from prometheus_client.multiprocess import MultiProcessCollector

from govcred.core.web import metrics_files

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# prometheus-client picks in-process or multiprocess values when it is first imported; a
# module imported before the server set the variable (a plugin, the verifier's CLI) would
# leave this worker's samples invisible to the other workers' scrapes. Choose again now.
prometheus_values.ValueClass = prometheus_values.get_value_class()
# and its sample files allocated before they are written: a full disk then drops samples
# instead of killing the worker (core/web/metrics_files.py)
metrics_files.install()

REQUESTS = Counter("govcred_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "govcred_http_request_seconds",
    "Time to answer an HTTP request",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
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
            with metrics_files.sample_or_skip():
                LATENCY.labels(endpoint).observe(time.perf_counter() - started)
                REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        return response


def process_samples() -> bytes:
    """The text exposition of what the processes counted: this process's, or under gunicorn
    (``PROMETHEUS_MULTIPROC_DIR`` set) every worker's, summed."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
