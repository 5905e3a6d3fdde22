"""W-06: a stateful machine of three applicants creating, reading, downloading and
withdrawing on random ids, their own and the others'. Invariant: foreign ids always give 404
and no response ever carries another applicant's canary (their phone number)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    rule,
    run_state_machine_as_test,
)

from govcred.core.web import create_app
from tests.core.web.api_helpers import resident_headers, upload_proof, with_key
from tests.core.workflow_helpers import document
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

PHONES = ("13800138001", "13800138002", "13800138003")
IDS = tuple(make_id(birth) for birth in ("19900101", "19850202", "19700303"))


@pytest.fixture
def applicants(sqlite_runtime):
    client = create_app(runtime=sqlite_runtime).test_client()
    return client, [resident_headers(client, sqlite_runtime, phone) for phone in PHONES]


def test_applicants_never_see_each_other(applicants):
    client, headers = applicants

    class Scoping(RuleBasedStateMachine):
        apps = Bundle("apps")
        files = Bundle("files")

        @initialize()
        def start(self):
            self.owner: dict[str, int] = {}

        def _clean(self, who: int, text: str) -> None:
            for other, phone in enumerate(PHONES):
                if other != who:
                    assert phone not in text

        @rule(target=files, who=st.integers(0, 2))
        def upload(self, who):
            r = upload_proof(client, headers[who])
            if r.status_code == 409:  # the per-owner quota is used up
                assert r.get_json()["code"] == "ATTACHMENT_QUOTA_EXCEEDED"
                return multiple()
            assert r.status_code == 201
            self.owner[r.get_json()["id"]] = who
            return r.get_json()["id"]

        @rule(target=apps, who=st.integers(0, 2))
        def submit(self, who):
            doc = document([], id_number=IDS[who])
            doc["applicant"]["phone"] = PHONES[who]
            doc["status"] = "approved"  # mass assignment is refused, never applied
            r = client.post("/api/v1/applications", json=doc, headers=with_key(headers[who]))
            assert r.status_code == 422
            del doc["status"]
            r = client.post("/api/v1/applications", json=doc, headers=with_key(headers[who]))
            assert r.status_code == 201 and r.get_json()["state"] == "submitted"
            self.owner[r.get_json()["id"]] = who
            return r.get_json()["id"]

        @rule(who=st.integers(0, 2), app_id=apps)
        def read(self, who, app_id):
            r = client.get(f"/api/v1/applications/{app_id}", headers=headers[who])
            assert r.status_code == (200 if self.owner[app_id] == who else 404)
            self._clean(who, r.get_data(as_text=True))

        @rule(who=st.integers(0, 2), file_id=files)
        def download(self, who, file_id):
            r = client.get(f"/api/v1/attachments/{file_id}", headers=headers[who])
            assert r.status_code == (200 if self.owner[file_id] == who else 404)

        @rule(who=st.integers(0, 2), app_id=apps)
        def withdraw(self, who, app_id):
            r = client.post(f"/api/v1/applications/{app_id}/withdraw", headers=headers[who])
            assert r.status_code in ((200, 409) if self.owner[app_id] == who else (404,))
            self._clean(who, r.get_data(as_text=True))

    run_state_machine_as_test(
        Scoping,
        settings=settings(
            max_examples=8,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
