"""No personal data in plaintext at rest (SQLite and PostgreSQL).

A whole journey runs with canary ID numbers, phone numbers and names: a resident applies online
(SMS sign-in, a proof upload), a clerk enters a window application, a reviewer approves
both, the worker sends the SMS and the provincial push, and a verifier checks the permit.
Then every column of every table and every file of the data directory (the SQLite file
itself, raw, included) is searched for the canaries -- as text, in base64 at each
alignment, in hex and in UTF-16. Only the provincial push drop files may carry them (GB/T
36903 requires the holder's identifier there); masked forms (3301**********7777, 欧**) are fine.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

import sqlalchemy as sa

from govcred.core.db import READONLY
from govcred.core.web import create_app
from govcred.core.worker import run_worker
from tests.core.web.api_helpers import officer_headers, resident_headers, upload_proof, with_key
from tests.core.workflow_helpers import document, import_records
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

ONLINE_ID, ONLINE_PHONE = make_id("19880808", seq="777"), "13987654321"
WINDOW_ID, WINDOW_PHONE = make_id("19790101", seq="555"), "13712340987"
ONLINE_NAME, WINDOW_NAME = "欧阳澈明", "司马青禾"
CANARIES = (ONLINE_ID, ONLINE_PHONE, WINDOW_ID, WINDOW_PHONE, ONLINE_NAME, WINDOW_NAME)


def encodings(canary: str) -> dict[str, bytes]:
    raw = canary.encode()
    forms = {
        "text": raw,
        "hex": binascii.hexlify(raw),
        "HEX": binascii.hexlify(raw).upper(),
        "utf-16": canary.encode("utf-16-le"),
        "json-escaped": json.dumps(canary).strip('"').encode(),  # \uXXXX for a Chinese name
    }
    for shift in range(3):  # base64 of the canary inside a longer value, at each alignment
        encoded = base64.b64encode(b"\0" * shift + raw)
        forms[f"base64+{shift}"] = encoded[4 * ((shift + 2) // 3) : 4 * ((shift + len(raw)) // 3)]
        forms[f"base64url+{shift}"] = forms[f"base64+{shift}"].replace(b"+", b"-").replace(b"/", b"_")
    return forms


def found_in(blob: bytes) -> list[str]:
    return [
        f"{canary} as {form}" for canary in CANARIES for form, needle in encodings(canary).items() if needle in blob
    ]


def _as_bytes(value) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8", "surrogatepass")


def scan_database(engine) -> list[str]:
    hits = []
    with engine.connect().execution_options(**{READONLY: True}) as conn:
        inspector = sa.inspect(conn)
        for table in inspector.get_table_names():
            columns = [c["name"] for c in inspector.get_columns(table)]
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        hits += [f"{table}.{column}: {hit}" for hit in found_in(_as_bytes(value))]
    return hits


def scan_files(paths) -> list[str]:
    return [f"{path}: {hit}" for path in paths for hit in found_in(Path(path).read_bytes())]


def _journey(runtime, tmp_path) -> None:
    client = create_app(runtime=runtime).test_client()
    for id_number in (ONLINE_ID, WINDOW_ID):
        import_records(runtime, id_number)
    # online, by the resident: SMS sign-in, an upload, the application
    resident = resident_headers(client, runtime, ONLINE_PHONE)
    proof = upload_proof(client, resident).get_json()["id"]
    online_doc = document([proof], id_number=ONLINE_ID)
    online_doc["applicant"].update(phone=ONLINE_PHONE, name=ONLINE_NAME)
    online = client.post("/api/v1/applications", json=online_doc, headers=with_key(resident))
    assert online.status_code == 201, online.get_json()
    # at the window, by a clerk
    clerk = officer_headers(client, runtime, "clerk", "clerk-canary")
    proof = upload_proof(client, clerk).get_json()["id"]
    window_doc = document([proof], channel="window", id_number=WINDOW_ID)
    window_doc["applicant"].update(phone=WINDOW_PHONE, name=WINDOW_NAME)
    window = client.post("/api/v1/applications", json=window_doc, headers=with_key(clerk))
    assert window.status_code == 201, window.get_json()
    # approval, then the SMS and the push through the outbox
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer-canary")
    tokens = []
    for submitted in (online, window):
        decided = client.post(
            f"/api/v1/applications/{submitted.get_json()['id']}/decision",
            json={"approve": True},
            headers=with_key(reviewer),
        )
        assert decided.status_code == 200, decided.get_json()
        tokens.append(decided.get_json()["credential"]["token"])
    stats = run_worker(runtime.relay, drain=True)
    assert stats.delivered >= 4 and stats.dead == 0
    # verification by an institution
    from govcred.verifier.app import create_app as create_verifier
    from govcred.verifier.db import add_client
    from tests.verifier.issuers import publish, trust_of

    verifier = create_verifier(
        {
            "trust": trust_of(publish(runtime, tmp_path / "trust")),
            "data_dir": runtime.settings.data_dir / "verifier",
            "clock": runtime.clock,
            "background_refresh": False,
        }
    )
    key = add_client(verifier.extensions["verifier"].engine, "青田县实验小学", now=runtime.clock.now())
    for token in tokens:
        answer = verifier.test_client().post(
            "/api/v1/verify",
            json={"token": token, "benefit": "compulsory_education"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 200 and answer.get_json()["valid"] is True, answer.get_json()
    verifier.extensions["verifier"].engine.dispose()


def test_a_whole_journey_leaves_no_canary_in_plaintext(runtime, tmp_path):
    _journey(runtime, tmp_path)
    data_dir = runtime.settings.data_dir
    push_drops = set((data_dir / "push").glob("*.jsonl"))
    assert push_drops and scan_files(push_drops), "the push drop files carry the identifier (the scan sees it)"
    files = [p for p in data_dir.rglob("*") if p.is_file() and p not in push_drops]
    database = runtime.engine.url.database
    if runtime.engine.dialect.name == "sqlite":
        files += [p for p in Path(database).parent.glob(Path(database).name + "*") if p.is_file()]
    hits = scan_database(runtime.engine) + scan_files(files)
    assert hits == []


def test_the_scan_sees_a_canary_however_it_is_encoded():
    raw = ONLINE_ID.encode()
    for prefix in range(6):
        around = b"p" * prefix + raw + b"s"
        for blob in (base64.b64encode(around), base64.urlsafe_b64encode(around), binascii.hexlify(around)):
            assert found_in(blob), (prefix, blob)
    assert found_in(f'{{"id": "{ONLINE_ID}"}}'.encode("utf-16-le"))
    assert not found_in(f"{ONLINE_ID[:4]}**********{ONLINE_ID[-4:]}".encode())  # the masked form is fine
