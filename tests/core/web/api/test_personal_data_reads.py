"""W-12 on the API: an officer's read of an application's document, of an uploaded proof and of a
permit leaves an audit entry (who, which object, when, which request), as on the pages; a
resident reading their own does not."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govcred.core.orm import audit_log
from govcred.core.web import create_app
from tests.core.permits import beijing, issue_permit
from tests.core.web.api_helpers import officer_headers, resident_headers, upload_proof, with_key
from tests.core.workflow_helpers import document

PHONE = "13800138000"
READS = ("application.viewed", "attachment.viewed", "permit.viewed")


@pytest.fixture
def client(runtime):
    return create_app(runtime=runtime).test_client()


def _reads(rt) -> list[tuple]:
    """(actor, role, action, object type, object id, at, request id) of each read entry."""
    keys = ("actor", "role", "action", "object_type", "object_id", "at", "request_id")
    query = sa.select(audit_log).where(audit_log.c.action.in_(READS)).order_by(audit_log.c.seq)
    with rt.engine.connect() as conn:
        return [tuple(row[k] for k in keys) for row in conn.execute(query).mappings()]


def _officer_id(rt, username: str) -> str:
    with rt.uow(readonly=True) as uow:
        return uow.officers.by_username(username).id


def test_officer_reads_of_an_application_and_its_proof_are_audited(client, runtime, clock):
    resident = resident_headers(client, runtime, PHONE)
    proof = upload_proof(client, resident).get_json()["id"]
    submitted = client.post("/api/v1/applications", json=document([proof]), headers=with_key(resident))
    assert submitted.status_code == 201, submitted.get_json()
    app_id = submitted.get_json()["id"]

    # the applicant reads their own: their data, not audited
    assert client.get(f"/api/v1/applications/{app_id}", headers=resident).status_code == 200
    assert client.get(f"/api/v1/attachments/{proof}", headers=resident).status_code == 200
    assert _reads(runtime) == []

    reviewer = officer_headers(client, runtime, "reviewer", "rev7")
    clock.advance(seconds=5)
    shown = client.get(f"/api/v1/applications/{app_id}", headers={**reviewer, "X-Request-Id": "req-app-1"})
    assert shown.status_code == 200 and shown.get_json()["document"]["applicant"]["id_number"]
    got = client.get(f"/api/v1/attachments/{proof}", headers={**reviewer, "X-Request-Id": "req-file-1"})
    assert got.status_code == 200 and got.data.startswith(b"\x89PNG")

    actor = f"officer:{_officer_id(runtime, 'rev7')}"
    (app_read, file_read) = _reads(runtime)
    assert app_read[:5] == (actor, "reviewer", "application.viewed", "application", app_id)
    assert app_read[6] == "req-app-1" and app_read[5] == clock.now()
    assert file_read[:5] == (actor, "reviewer", "attachment.viewed", "attachment", proof)
    assert file_read[6] == "req-file-1"

    # a read refused (not found) leaves no entry: nothing was read
    assert client.get("/api/v1/applications/no-such-id", headers=reviewer).status_code == 404
    assert client.get("/api/v1/attachments/no-such-id", headers=reviewer).status_code == 404
    assert len(_reads(runtime)) == 2


def test_officer_read_of_a_permit_is_audited_against_its_current_version(client, runtime, clock):
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(runtime, owner_phone=PHONE)
    holder = resident_headers(client, runtime, PHONE)
    assert client.get(f"/api/v1/permits/{permit.permit_no}", headers=holder).status_code == 200
    assert _reads(runtime) == []

    clerk = officer_headers(client, runtime, "clerk", "clerk7")
    view = client.get(f"/api/v1/permits/{permit.permit_no}", headers=clerk)
    assert view.status_code == 200
    ((actor, role, action, object_type, object_id, _at, _req),) = _reads(runtime)
    assert (actor, role, action, object_type) == (
        f"officer:{_officer_id(runtime, 'clerk7')}",
        "clerk",
        *READS[2:],
        "credential",
    )
    assert object_id == view.get_json()["history"][0]["id"] == permit.id
