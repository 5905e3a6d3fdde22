"""The verifier service's ``/metrics`` (prometheus-client text), for the operator's scraper
with the bearer token ``GOVCRED_VERIFIER_METRICS_TOKEN`` (the service has no operator
accounts to sign in with; without a token set the endpoint is off).

What it shows: the requests and latency of :mod:`core.web.request_metrics`; verifications by
outcome ("valid" or the first reason code, a fixed set); and, read from the answering
process's trust cache at scrape time, whether the start-up refresh is done, how many problems
the last refresh round met, and for every issuer's keys, every status list and the signed
trust list how old it is and how long it may still be used -- a list that an issuer stopped
publishing shows here hours before its permits start answering STATUS_UNAVAILABLE.
"""

from __future__ import annotations

from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily

from govcred.core.web.metrics_files import sample_or_skip
from govcred.core.web.request_metrics import process_samples

VERIFICATIONS = Counter(
    "govcred_verifier_verifications_total",
    "Verifications answered, by outcome (valid or the first reason)",
    ["outcome"],
)


def count(answer) -> None:
    """Count one answer of :meth:`verifier.check.Verifier.verify_text`."""
    with sample_or_skip():
        VERIFICATIONS.labels("valid" if answer.valid else (answer.reasons[0] if answer.reasons else "invalid")).inc()


class TrustFigures:
    """A collector reading the trust cache at scrape time."""

    def __init__(self, cache):
        self._cache = cache

    def collect(self):
        cache, now = self._cache, self._cache.now()
        yield GaugeMetricFamily(
            "govcred_verifier_ready",
            "1 once the start-up refresh holds every issuer's keys and lists",
            value=int(cache.ready),
        )
        yield GaugeMetricFamily(
            "govcred_verifier_refresh_problems",
            "Problems the last refresh round met (each is logged)",
            value=len(cache.last_problems),
        )
        labels = ["what", "issuer", "source"]
        left = GaugeMetricFamily(
            "govcred_verifier_usable_seconds",
            "Seconds until a held key set, status list or trust list may no longer be used (negative: stale)",
            labels=labels,
        )
        age = GaugeMetricFamily(
            "govcred_verifier_fetched_age_seconds",
            "Seconds since a held key set or status list was fetched",
            labels=labels,
        )
        for held in cache.holdings():
            names = [held.what, held.issuer, held.source]
            left.add_metric(names, held.usable_until - now)
            if held.fetched_at is not None:
                age.add_metric(names, now - held.fetched_at)
        yield left
        yield age


def exposition(cache) -> Response:
    """The processes' samples, then the trust figures of this process's cache."""
    figures = CollectorRegistry()
    figures.register(TrustFigures(cache))
    return Response(process_samples() + generate_latest(figures), mimetype=CONTENT_TYPE_LATEST)
