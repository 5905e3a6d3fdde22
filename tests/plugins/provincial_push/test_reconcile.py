"""Daily reconciliation: a day's signed manifest against the platform's acknowledgement; what
the platform lost or altered is reported, re-pushed, and a later run finds nothing amiss.

Both backends: the jsonl drop directory (its acknowledgement file edited to stand for a
platform that lost two records and altered one) and a real HTTP platform stub on 127.0.0.1
that keeps what it is sent and can be told to lose or alter records."""

from __future__ import annotations

import json
import threading

from govcred.plugins.provincial_push.reconcile import manifest_signature_valid, record_digest
from tests.plugins.delivery_helpers import as_message, make_application, make_credential, outbox_rows
from tests.plugins.gateway_stub import GatewayStub, Reply

DAY = "2026-11-30"  # the kit's clock: 2026-11-30 10:00 Beijing
SECRET = "platform-shared-secret-01"


def _issue_five(runtime) -> list[str]:
    permits = [f"QT-2026-00012{i}" for i in range(5)]
    with runtime.uow() as uow:
        for permit_no in permits:
            application = make_application()
            runtime.pm.hook.govcred_credential_issued(
                credential=make_credential(application, permit_no=permit_no, id=f"cred-{permit_no}"),
                application=application,
                subject=runtime.credential_types.subject_of(application),
                outbox=uow.outbox,
            )
        uow.commit()
    return permits


def _deliver_pending(runtime) -> int:
    """Deliver every undelivered push row through the real channel, as the worker would."""
    import sqlalchemy as sa

    from govcred.core.orm import outbox

    channel = runtime.channels["provincial_push"]
    rows = [r for r in outbox_rows(runtime, "provincial_push") if r["status"] == "pending"]
    for row in rows:
        channel(as_message(runtime, row))
    with runtime.engine.begin() as conn:
        conn.execute(sa.update(outbox).where(outbox.c.id.in_([r["id"] for r in rows])).values(status="delivered"))
    return len(rows)


def _reconcile(govcred_cli) -> tuple[int, dict]:
    result = govcred_cli("reconcile", "--date", DAY, "--json")
    return result.exit_code, json.loads(result.output)


def _identifiers(runtime) -> dict[str, str]:
    """platform id -> ZZBS of the first push of each permit."""
    return {r["id"]: r["payload"]["record"]["ZZBS"] for r in outbox_rows(runtime, "provincial_push")}


def test_jsonl_platform_that_lost_two_and_altered_one(runtime, govcred_cli):
    _issue_five(runtime)
    _deliver_pending(runtime)
    code, first = _reconcile(govcred_cli)
    assert code == 0 and first == {
        "date": DAY,
        "local": 5,
        "acknowledged": 5,
        "missing": [],
        "different": [],
        "requeued": 0,
    }
    push_dir = runtime.settings.data_dir / "push"
    manifest = json.loads((push_dir / "manifests" / f"{DAY}.json").read_text(encoding="utf-8"))
    assert manifest_signature_valid(manifest, runtime.pm.get_plugin("provincial_push.push").manifest_key)
    assert manifest["count"] == 5 and "330102199003071234" not in json.dumps(manifest)  # digests, not people

    ack_path = push_dir / "acks" / f"{DAY}.json"
    ack = json.loads(ack_path.read_text(encoding="utf-8"))
    ids = sorted(ack["records"])
    lost, altered = ids[:2], ids[2]
    for platform_id in lost:
        del ack["records"][platform_id]
    ack["records"][altered] = record_digest({"ZZBH": "tampered"})
    ack_path.write_text(json.dumps(ack), encoding="utf-8")

    names = _identifiers(runtime)
    code, second = _reconcile(govcred_cli)
    assert code == 1
    assert second["missing"] == sorted(names[i] for i in lost) and second["different"] == [names[altered]]
    assert second["local"] == 5 and second["acknowledged"] == 3 and second["requeued"] == 3
    repushed = [r for r in outbox_rows(runtime, "provincial_push") if r["payload"].get("platform_id")]
    assert sorted(r["payload"]["platform_id"] for r in repushed) == sorted([*lost, altered])

    assert _deliver_pending(runtime) == 3
    code, third = _reconcile(govcred_cli)
    assert code == 0 and third["missing"] == [] and third["different"] == [] and third["acknowledged"] == 5


class Platform:
    """A provincial platform over HTTP that keeps the last record sent under each id."""

    def __init__(self):
        self.held: dict[str, dict] = {}
        self.manifests: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, request) -> Reply:
        body = request.json()
        with self.lock:
            if request.path.endswith("/manifests"):
                self.manifests.append(body)
                wanted = {e["id"] for e in body["entries"]}
                held = {i: record_digest(r) for i, r in self.held.items() if i in wanted}
                return Reply(200, {"date": body["date"], "records": held})
            self.held[request.headers["Idempotency-Key"]] = body["record"]
            return Reply(200, {"ok": True})

    def lose(self, *ids: str) -> None:
        for i in ids:
            del self.held[i]

    def alter(self, platform_id: str) -> None:
        self.held[platform_id] = {**self.held[platform_id], "ZZZT": "revoked"}


def test_http_platform_that_lost_two_and_altered_one(data_dir, sqlite_url, clock):
    from click.testing import CliRunner

    from govcred.core.cli import AppContext, build_cli
    from govcred.testing import make_runtime, make_settings

    stub = Platform()
    with GatewayStub(stub) as server:
        settings = make_settings(
            data_dir,
            sqlite_url,
            plugins={"provincial_push": {"backend": "http", "url": server.url, "secret": SECRET}},
        )
        rt = make_runtime(settings, clock)
        try:
            command = build_cli(rt.pm)

            def run() -> tuple[int, dict]:
                obj = AppContext(str(data_dir))
                obj.settings, obj.runtime = settings, rt
                result = CliRunner().invoke(command, ["reconcile", "--date", DAY, "--json"], obj=obj)
                return result.exit_code, json.loads(result.output)

            _issue_five(rt)
            _deliver_pending(rt)
            assert run()[0] == 0 and len(stub.held) == 5
            [request] = [r for r in server.requests if r.path.endswith("/manifests")]
            assert manifest_signature_valid(request.json(), SECRET.encode())
            assert request.headers["X-Signature"].startswith("sha256=")

            ids = sorted(stub.held)
            stub.lose(ids[0], ids[1])
            stub.alter(ids[2])
            names = _identifiers(rt)
            code, report = run()
            assert code == 1 and report["requeued"] == 3
            assert report["missing"] == sorted([names[ids[0]], names[ids[1]]]) and report["different"] == [
                names[ids[2]]
            ]
            assert _deliver_pending(rt) == 3 and len(stub.held) == 5
            code, again = run()
            assert code == 0 and again["missing"] == again["different"] == [] and again["acknowledged"] == 5
        finally:
            rt.close()


def test_a_platform_answer_that_is_no_acknowledgement_is_a_clear_error(data_dir, sqlite_url, clock):
    from click.testing import CliRunner

    from govcred.core.cli import AppContext, build_cli
    from govcred.testing import make_runtime, make_settings

    with GatewayStub(lambda request: Reply(200, {"unexpected": True})) as server:
        settings = make_settings(
            data_dir, sqlite_url, plugins={"provincial_push": {"backend": "http", "url": server.url, "secret": SECRET}}
        )
        rt = make_runtime(settings, clock)
        try:
            obj = AppContext(str(data_dir))
            obj.settings, obj.runtime = settings, rt
            result = CliRunner().invoke(build_cli(rt.pm), ["reconcile", "--date", DAY, "--json"], obj=obj)
            assert result.exit_code != 0 and "PLATFORM_ANSWER_INVALID" == result.exception.code
        finally:
            rt.close()


def test_every_server_offers_the_daily_reconciliation_of_yesterday(runtime, clock):
    from govcred.core.jobs import run_if_due

    _issue_five(runtime)
    _deliver_pending(runtime)
    jobs = runtime.server_jobs(relay=False)
    [job] = [j for j in jobs._periodic if j.name == "provincial_push-reconcile"]
    clock.advance(days=1)  # the next Beijing day: yesterday is the day of the pushes
    assert run_if_due(runtime.job_place(), job) and not run_if_due(runtime.job_place(), job)  # once a day
    assert (runtime.settings.data_dir / "push" / "manifests" / f"{DAY}.json").exists()


def test_records_delivered_by_the_worker_are_still_reconciled(runtime, govcred_cli):
    """The worker drops a delivered message's encrypted part, but not the holder's ID number of
    a push record: the reconciliation digests the record with it afterwards."""
    from govcred.core.worker import run_worker

    _issue_five(runtime)
    assert run_worker(runtime.relay, drain=True).delivered == 5
    code, report = _reconcile(govcred_cli)
    assert code == 0 and (report["local"], report["acknowledged"], report["missing"]) == (5, 5, [])


def test_a_manifest_whose_signature_holds_any_text_is_judged_not_raised():
    """A signature with a non-ASCII character (a file edited by hand, a broken platform) made
    the check raise TypeError (compare_digest on str); it is simply not a valid signature."""
    assert manifest_signature_valid({"day": DAY, "signature": "hmac-sha256=签名"}, SECRET.encode()) is False
    assert manifest_signature_valid({"day": DAY, "signature": 7}, SECRET.encode()) is False


def test_an_acknowledgement_nested_too_deep_is_a_clear_error(runtime, govcred_cli):
    """A RecursionError (no ValueError) went past the answer check: a traceback."""
    _issue_five(runtime)
    _deliver_pending(runtime)
    ack_dir = runtime.settings.data_dir / "push" / "acks"
    ack_dir.mkdir(parents=True, exist_ok=True)
    (ack_dir / f"{DAY}.json").write_text("[" * 100_000, encoding="utf-8")
    result = govcred_cli("reconcile", "--date", DAY, "--json")
    assert result.exit_code != 0 and result.exception.code == "PLATFORM_ANSWER_INVALID"
