"""issue_token / verify_token against raw ``cryptography`` sign / verify of the same signing input.

Target (DESIGN.md): in-process verify ≤ 2.0x raw ES256 verify, aim ≤ 1.4x.
Method: warm-up, then the median of 5 repetitions of ≥ 0.3 s each (time.perf_counter).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from govcred.core.keys import KeySet, SigningKey, jwks_document
from govcred.core.tokens import CREDENTIAL, issue_token, verify_token

ISSUER = "https://zwfw.zj.gov.cn/qingtian"
REPETITIONS = 5
MIN_SECONDS = 0.3


def permit_claims(now: int) -> dict:
    """A realistic 浙江省居住证 credential payload (13 claims, masked name and ID)."""
    return {
        "iss": ISSUER,
        "jti": "c7b0a3f2-91d4-4e0b-8a77-2d5f1c3e9b10",
        "iat": now,
        "nbf": now,
        "exp": now + 300 * 86400,
        "nm": "张*明",
        "idm": "3301**********1234",
        "div": "331121",
        "bas": "zj-rp-2024",
        "ben": ["compulsory_education", "public_health", "public_employment", "culture_sports"],
        "status": {"status_list": {"idx": 48213, "uri": ISSUER + "/status/1"}},
        "ver": 1,
        "kind": "permit",
    }


def _batch_size(fn: Callable[[], object]) -> int:
    """Calls per timing batch; running it is also the warm-up."""
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        if time.perf_counter() - start >= 0.05:
            return batch
        batch *= 2


def _rate(fn: Callable[[], object], batch: int) -> float:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < MIN_SECONDS:
        for _ in range(batch):
            fn()
        done += batch
    return done / elapsed


def paired_rates(baseline: Callable[[], object], subject: Callable[[], object]) -> tuple[float, float, float]:
    """Median ops/s of baseline and subject and the median of their per-repetition ratio.

    The two alternate within each repetition, so load from other processes on a shared box hits
    both alike instead of skewing the ratio.
    """
    base_batch, subject_batch = _batch_size(baseline), _batch_size(subject)
    base_rates, subject_rates, ratios = [], [], []
    for _ in range(REPETITIONS):
        base_rates.append(_rate(baseline, base_batch))
        subject_rates.append(_rate(subject, subject_batch))
        ratios.append(base_rates[-1] / subject_rates[-1])
    return statistics.median(base_rates), statistics.median(subject_rates), statistics.median(ratios)


def measure(alg: str) -> list[str]:
    key = SigningKey.generate(alg)
    keys = KeySet.from_jwks(jwks_document([key]), ISSUER)
    claims = permit_claims(int(time.time()))
    token = issue_token(CREDENTIAL, claims, key)
    signing_input = token.rsplit(".", 1)[0].encode("ascii")
    private, public = key.private_key, key.private_key.public_key()

    if alg == "ES256":
        ecdsa = ec.ECDSA(hashes.SHA256())
        der = private.sign(signing_input, ecdsa)
        raw_sign = lambda: decode_dss_signature(private.sign(signing_input, ecdsa))  # noqa: E731
        raw_verify = lambda: public.verify(der, signing_input, ecdsa)  # noqa: E731
    else:
        signature = private.sign(signing_input)
        raw_sign = lambda: private.sign(signing_input)  # noqa: E731
        raw_verify = lambda: public.verify(signature, signing_input)  # noqa: E731

    sign_rate, issue_rate, issue_ratio = paired_rates(raw_sign, lambda: issue_token(CREDENTIAL, claims, key))
    verify_rate, check_rate, check_ratio = paired_rates(
        raw_verify, lambda: verify_token(token, CREDENTIAL, keys, issuers={ISSUER}, leeway=60)
    )
    return [
        f"issue_token {alg}: {issue_rate:,.0f}/s  ({issue_ratio:.2f}x raw sign {sign_rate:,.0f}/s;"
        f" signing input {len(signing_input)} bytes, token {len(token)} chars)",
        f"verify_token {alg}: {check_rate:,.0f}/s  ({check_ratio:.2f}x raw verify {verify_rate:,.0f}/s;"
        " target <= 2.0x, aim <= 1.4x)",
    ]


def main() -> None:
    # Pinned to one core (as in reference/perf-baseline.md) so that migrations between cores do not
    # add noise; the previous affinity is restored for whatever runs next in this process.
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(previous)})
    try:
        print(f"tokens: median of 5 x >=0.3 s after warm-up, baseline and subject alternating, CPU {max(previous)}")
        for alg in ("ES256", "EdDSA"):
            for line in measure(alg):
                print(line)
    finally:
        os.sched_setaffinity(0, previous)


if __name__ == "__main__":
    main()
