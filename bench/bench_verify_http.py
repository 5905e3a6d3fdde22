"""The verifier under gunicorn (2 sync workers) against a Flask endpoint returning a constant,
served by the same gunicorn settings, loaded from 127.0.0.1 in the same run.

Between the two, printed for reading the gap: a bare Flask endpoint that verifies the same
token with every check (:meth:`Verifier.verify_text`: signature, claims, issuer scope, status
list, benefit) and does nothing of the institution API (no API key, limits, verification log,
metrics, request id): what verifying itself costs over HTTP, and so what is left to the rest.

Target (DESIGN.md, issue 12): >= 70 % of the constant endpoint's requests/s, aim >= 85 %. Every
verify request is a full one: API key, the shared limits counted exactly (per institution, per
address, failed keys) in the verifier's SQLite database (or Redis: GOVCRED_BENCH_REDIS_URL), the
verification-log row, and every check of the token including the status list.

Load generator: ``wrk`` when installed (apt-get install wrk), otherwise a multi-process Python
client (``GOVCRED_BENCH_LOAD=python`` forces it); the output says which. Loopback only; each
run is bounded in time.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from flask import Flask, jsonify, request

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 6
#: Pairs of runs (constant, then verifier): on a shared 2-core box one run can be 2x another,
#: so the figure is the median of the paired ratios, printed with their range.
ROUNDS = 3
CONNECTIONS = 8
WORKERS = 2

#: The baseline: same framework, same server, same request body, a constant answer.
constant_app = Flask("constant")


@constant_app.post("/api/v1/verify")
def _constant():
    request.get_data()
    return jsonify(
        {
            "valid": True,
            "reasons": [],
            "kind": "credential",
            "holder": None,
            "county": None,
            "benefit": None,
            "checked_at": "2026-01-01T00:00:00+00:00",
        }
    )


#: The bare verifying endpoint (see the module's docstring); its verifier is built on first use
#: in each gunicorn worker from the files ``_setup`` wrote (GOVCRED_BENCH_TRUST_DIR).
verify_only_app = Flask("verify_only")


@functools.cache
def _bare_verifier():
    from bench.bench_verify import verifier_for

    return verifier_for(Path(os.environ["GOVCRED_BENCH_TRUST_DIR"]))


@verify_only_app.post("/api/v1/verify")
def _verify_only():
    body = request.get_json()
    return jsonify(_bare_verifier().verify_text(body["token"], benefit=body.get("benefit")).as_json())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup(directory: Path) -> tuple[dict, str, str]:
    """Trust file, verifier database with one institution, and a token; returns (env, key, body)."""
    import datetime as dt

    from bench.bench_verify import ISSUER
    from bench.bench_verify import _setup as setup_issuer
    from govcred.verifier.db import add_client, create_tables, make_verifier_engine

    _key, token, _status, _verifier = setup_issuer(directory)
    trust = directory / "trust.toml"
    trust.write_text(
        f'benefit_plugins = ["zhejiang_residence"]\n\n[[issuer]]\niss = "{ISSUER}"\n'
        f'jwks = "{directory / "jwks.json"}"\nstatus_list_files = ["{directory / "list.jwt"}"]\n'
    )
    data = directory / "verifier"
    data.mkdir()
    engine = make_verifier_engine(f"sqlite:///{data / 'verifier.sqlite3'}")
    create_tables(engine)
    api_key = add_client(engine, "基准测试", now=dt.datetime.now(dt.UTC), rate_per_minute=100_000)
    engine.dispose()
    env = {
        **os.environ,
        "GOVCRED_VERIFIER_TRUST": str(trust),
        "GOVCRED_VERIFIER_DATA_DIR": str(data),
        "PYTHONPATH": str(ROOT),
        "GOVCRED_BENCH_TRUST_DIR": str(directory),
        # counted as in production, but the load comes from one address: above what it sends
        "GOVCRED_VERIFIER_LIMIT_VERIFY_PER_ADDRESS": "10000000",
    }
    redis_url = _redis_url()
    if redis_url:
        env["GOVCRED_VERIFIER_REDIS_URL"] = redis_url
    return env, api_key, json.dumps({"token": token, "benefit": "compulsory_education"})


def _redis_url() -> str | None:
    """Redis for the shared limits and replay cache when GOVCRED_BENCH_REDIS_URL names one
    that answers (e.g. redis://127.0.0.1:6379/14); else the verifier database (SQLite) keeps
    them, which on a loaded box is the cheaper of the two (a Redis round trip is a context
    switch to another process)."""
    url = os.environ.get("GOVCRED_BENCH_REDIS_URL", "")
    if not url:
        return None
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        client.close()
    except Exception:
        return None
    return url


class Gunicorn:
    def __init__(self, app: str, env: dict):
        self.port = _free_port()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [
                str(gunicorn),
                "-w",
                str(WORKERS),
                "-k",
                "sync",
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                app,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def __enter__(self) -> Gunicorn:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.__exit__()
            raise SystemExit("gunicorn did not start")
        return self

    def warm_up(self, body: str, headers: dict) -> dict:
        """Requests until every worker has built its app and answers quickly (each worker loads
        keys and lists at start); returns the last answer."""
        fast, deadline = 0, time.monotonic() + 60
        while fast < 4 * WORKERS and time.monotonic() < deadline:
            started = time.monotonic()
            answer = _check_answer(self.url, body, headers)
            fast = fast + 1 if time.monotonic() - started < 0.2 else 0
        return answer

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/verify"


def _check_answer(url: str, body: str, headers: dict) -> dict:
    req = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())


def _wrk(url: str, body: str, headers: dict, directory: Path) -> tuple[float, int]:
    script = directory / "post.lua"
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = {json.dumps(body)}",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{SECONDS}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=SECONDS + 30,
    ).stdout
    rate = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    errors = sum(int(line.split()[-1]) for line in out.splitlines() if line.strip().startswith("Non-2xx"))
    return rate, errors


def _python_client(args) -> tuple[int, int]:
    import http.client

    port, body, headers, deadline = args
    done = errors = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.monotonic() < deadline:
        try:
            conn.request("POST", "/api/v1/verify", body=body, headers={"Content-Type": "application/json", **headers})
            response = conn.getresponse()
            response.read()
            done += 1
            errors += response.status != 200
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            conn.close()
            errors += 1
    return done, errors


def _python_load(port: int, body: str, headers: dict) -> tuple[float, int]:
    deadline = time.monotonic() + SECONDS
    with multiprocessing.get_context("fork").Pool(CONNECTIONS) as pool:
        results = pool.map(_python_client, [(port, body, headers, deadline)] * CONNECTIONS)
    return sum(r[0] for r in results) / SECONDS, sum(r[1] for r in results)


def main() -> None:
    # GOVCRED_BENCH_LOAD=python forces the Python client (to compare, or where wrk misbehaves)
    use_wrk = shutil.which("wrk") is not None and os.environ.get("GOVCRED_BENCH_LOAD") != "python"
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        env, api_key, body = _setup(directory)
        auth = {"Authorization": f"Bearer {api_key}"}
        generator = (
            f"wrk -t2 -c{CONNECTIONS}"
            if use_wrk
            else f"Python client, {CONNECTIONS} processes ({'forced' if shutil.which('wrk') else 'wrk not installed: apt-get install wrk'})"
        )
        shared = env.get("GOVCRED_VERIFIER_REDIS_URL") or "the verifier database (no Redis answered)"
        print(
            f"verify over HTTP: gunicorn {WORKERS} sync workers on 127.0.0.1, {SECONDS} s per run, "
            f"load: {generator}; limits and replay cache in {shared}; {ROUNDS} rounds of constant, verify only, verifier; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        rates: dict[str, list[float]] = {"constant": [], "verify only": [], "verifier": []}
        for _ in range(ROUNDS):
            for name, app in (
                ("constant", "bench.bench_verify_http:constant_app"),
                ("verify only", "bench.bench_verify_http:verify_only_app"),
                ("verifier", "govcred.verifier.wsgi:app"),
            ):
                with Gunicorn(app, env) as server:
                    answer = server.warm_up(body, auth)
                    if name != "constant" and not answer.get("valid"):
                        raise SystemExit(f"the verifier did not accept the benchmark token: {answer}")
                    rate, errors = (
                        _wrk(server.url, body, auth, directory) if use_wrk else _python_load(server.port, body, auth)
                    )
                if errors:
                    raise SystemExit(f"{name}: {errors} failed requests under load")
                rates[name].append(rate)
                print(f"  {name}: {rate:,.0f} req/s")
        shares = sorted(v / c for c, v in zip(rates["constant"], rates["verifier"]))
        share = statistics.median(shares)
        constant, verifier = statistics.median(rates["constant"]), statistics.median(rates["verifier"])
        verdict = "ok" if share >= 0.7 else "BELOW TARGET"
        print(
            f"verifier = {share:.0%} of the constant Flask endpoint (median ratio of {ROUNDS} paired rounds, range {shares[0]:.0%}-{shares[-1]:.0%}; best runs "
            f"{max(rates['verifier']) / max(rates['constant']):.0%}; medians {verifier:,.0f} and {constant:,.0f} req/s; "
            f"load average {os.getloadavg()[0]:.1f}; "
            f"target >= 70 %, aim >= 85 %: {verdict})"
        )
        bare = sorted(v / c for c, v in zip(rates["constant"], rates["verify only"]))
        print(
            f"for reading the gap: a bare Flask endpoint running verify_text alone (no API key, limits, log, "
            f"metrics) = {statistics.median(bare):.0%} of the constant one (range {bare[0]:.0%}-{bare[-1]:.0%}; "
            f"median {statistics.median(rates['verify only']):,.0f} req/s): verifying costs the difference to 100 %, "
            f"the institution API the rest"
        )


if __name__ == "__main__":
    main()
