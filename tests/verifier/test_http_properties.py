"""Whatever an institution's system sends, the verifier answers it: never a 5xx, every refusal
as application/problem+json. Property tests (hypothesis) over the request bodies, the content
types and the Authorization header; they found a 500 for an API key holding a non-ASCII
character."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govcred.verifier.db import add_client
from govcred.verifier.ratelimits import Policy
from tests.core.credential_rows import make_credential
from tests.verifier.issuers import verifier_app

#: the examples share one verifier, so the failed-key and per-address limits are opened up
OPEN = Policy(verify_per_address=10**7, failed_keys_per_address=10**7, decodes_per_key=10**7, decodes_per_address=10**7)
SHARED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
SCANS = st.sampled_from(["GC2:/", "GC1:/12", "GC2:/0", "GC2:/1" + "9" * 900, "a.b.c", "", " "])


@pytest.fixture
def service(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    cred = make_credential(rt)
    app = verifier_app(rt, tmp_path, limits=OPEN)
    key = add_client(app.extensions["verifier"].engine, "青田县实验小学", now=rt.clock.now(), rate_per_minute=100_000)
    return app.test_client(), key, cred.token


def answered(response) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json", response.mimetype


def authorizations(key: str):
    return st.sampled_from([None, f"Bearer {key}", f"Bearer {key}é", "Bearer gcv_x_y", "Bearer ", "Basic abc"])


@SHARED
@given(data=st.data())
def test_any_json_body_is_answered(service, data):
    client, key, token = service
    body = data.draw(
        st.one_of(
            st.dictionaries(
                st.sampled_from(["qr", "token", "benefit", "x"]), JSON_VALUES | SCANS | st.just(token), max_size=3
            ),
            JSON_VALUES,
        )
    )
    auth = data.draw(authorizations(key))
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    answered(client.post("/api/v1/verify", data=json.dumps(body), headers=headers))


@SHARED
@given(
    raw=st.binary(max_size=300),
    content_type=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data"]),
)
def test_any_raw_body_is_answered(service, raw, content_type):
    client, key, _token = service
    answered(
        client.post(
            "/api/v1/verify", data=raw, headers={"Authorization": f"Bearer {key}", "Content-Type": content_type}
        )
    )


@SHARED
@given(image=st.binary(max_size=1000), field=st.sampled_from(["image", "frame", "x"]), benefit=st.text(max_size=20))
def test_any_upload_is_answered(service, image, field, benefit):
    client, key, _token = service
    answered(
        client.post(
            "/api/v1/verify",
            data={field: (io.BytesIO(b"\x89PNG\r\n\x1a\n" + image), "a.png"), "benefit": benefit},
            headers={"Authorization": f"Bearer {key}"},
            content_type="multipart/form-data",
        )
    )
    decoded = client.post(
        "/scan/decode",
        data={field: (io.BytesIO(b"\xff\xd8\xff" + image), "a.jpg")},
        headers={"X-Api-Key": key},
        content_type="multipart/form-data",
    )
    assert decoded.status_code < 500


@SHARED
@given(
    auth=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80),
    path=st.sampled_from(["/api/v1/verifications", "/metrics", "/readyz", "/healthz"]),
)
def test_any_authorization_header_is_answered(service, auth, path):
    client, _key, _token = service
    response = client.get(path, headers={"Authorization": auth})
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
