"""The issuer URL compared with where the server listens (a proxy's public name is left alone)."""

from __future__ import annotations

import pytest

from govcred.core.web.issuer_address import issuer_mismatch


@pytest.mark.parametrize(
    ("issuer", "host", "port"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1", 8000),
        ("http://localhost:8000", "0.0.0.0", 8000),
        ("https://zj.example.gov.cn", "127.0.0.1", 8000),  # a reverse proxy's public name
        ("http://10.0.0.5:8000", "10.0.0.5", 8000),
    ],
)
def test_matching_or_proxied_issuers_are_quiet(issuer, host, port):
    assert issuer_mismatch(issuer, host, port) is None


@pytest.mark.parametrize(
    ("issuer", "host", "port", "served"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1", 8001, "http://127.0.0.1:8001"),
        ("http://localhost", "0.0.0.0", 8000, "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000", "10.0.0.5", 8000, "http://10.0.0.5:8000"),
        ("http://10.0.0.5:8000", "10.0.0.5", 9000, "http://10.0.0.5:9000"),
    ],
)
def test_an_issuer_naming_this_machine_elsewhere_is_named_with_the_fix(issuer, host, port, served):
    warning = issuer_mismatch(issuer, host, port)
    assert warning is not None and f"GOVCRED_ISSUER={issuer}" in warning and f"GOVCRED_ISSUER={served}" in warning
