"""``python -m bench load`` still drives the real sign-in, upload, submit and decide flow.

The load bench is the only client that signs residents and reviewers in over HTTP from a
separate process; when sign-in changed (SMS code ids, per-address limits, officer TOTP) it
kept running and reported thousands of errors instead of figures. This runs it briefly and
asserts what it must show: every endpoint answered, zero errors. It times nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_the_load_bench_signs_in_submits_and_decides_without_errors(postgres):
    env = {**os.environ, "BENCH_LOAD_SECONDS": "3", "BENCH_LOAD_RESIDENTS": "2", "BENCH_LOAD_REVIEWERS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "load"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in output, output
    summaries = re.findall(r"^(PostgreSQL|SQLite): .* errors (\d+)$", done.stdout, re.MULTILINE)
    assert [label for label, _ in summaries] == ["PostgreSQL", "SQLite"], output
    assert all(errors == "0" for _, errors in summaries), output
    for endpoint in ("POST /auth/sms-code", "POST /auth/resident-token", "POST /applications", "POST /auth/token"):
        assert re.search(rf"^  {re.escape(endpoint)} +[1-9]", done.stdout, re.MULTILINE), output
