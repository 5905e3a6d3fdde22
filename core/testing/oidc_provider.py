"""A real OpenID Connect provider on 127.0.0.1, built from Authlib's server components.

Discovery document, JWKS, authorization endpoint (authorization code with PKCE, nonce
required; it approves at once as :attr:`OidcTestProvider.person`), token endpoint (client
secret, codes usable once) and ID tokens signed with its RS256 key -- a protocol peer for
the relying party's tests, not a mock of the client. A test makes the next ID token wrong
with :meth:`OidcTestProvider.tamper` (another nonce or audience, shifted times, signed by a
key it never published, ``alg: none``) to check that the relying party refuses it.

The fixture ``oidc_provider`` (govcred.testing.plugin) runs one per test on the test's
``clock``; :meth:`OidcTestProvider.identity_table` is the ``[identity]`` settings table
that points govcred at it.
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Error, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.grants.util import create_half_hash
from flask import Flask, jsonify, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

CLIENT_ID = "govcred-qingtian"
#: where govcred's relying party asks to be sent back (core/web/pages/resident_identity.py)
CALLBACK_PATH = "/resident/identity/oidc/callback"
CLIENT_SECRET = "test-client-secret-of-some-length"


@functools.cache
def _keys() -> tuple[RSAKey, RSAKey]:
    """The provider's signing key and a key it never publishes (generated once per process)."""
    return (
        RSAKey.generate_key(2048, parameters={"kid": "provider-key-1", "use": "sig", "alg": "RS256"}),
        RSAKey.generate_key(2048, parameters={"kid": "never-published", "use": "sig", "alg": "RS256"}),
    )


@dataclass
class Person:
    """Who the provider signs in (its authorization endpoint approves at once)."""

    sub: str = "zlb-000001"
    name: str = "张三明"
    id_number: str = ""
    acr: str = "3"


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scope: str = "openid profile"

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        given = (client_secret or "").encode("utf-8", "surrogatepass")  # bytes: str with non-ASCII would raise
        return secrets.compare_digest(given, self.client_secret.encode())

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "client_secret_basic" if endpoint == "token" else True

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    person: Person
    auth_time: int

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None  # the person's level goes into the ID token with their claims

    def get_amr(self):
        return None


@dataclass
class Tamper:
    """What is wrong with the next ID token."""

    claims: dict[str, Any] = field(default_factory=dict)
    #: seconds added to iat and exp (negative: issued and expired in the past)
    shift: int = 0
    #: ``unknown`` (a key never published) or ``none`` (no signature at all)
    sign_with: str = ""


class OidcTestProvider:
    """The provider; :meth:`start` serves it on a free port of 127.0.0.1."""

    def __init__(self, *, now: Callable[[], float] = time.time, redirect_uris: list[str] | None = None):
        self.now = now
        self.person = Person()
        self.key, self.unknown_key = _keys()
        self.clients = {CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET, list(redirect_uris or []))}
        self.codes: dict[str, AuthorizationCode] = {}
        #: requests served, by path (``/token``, ``/jwks`` ...)
        self.hits: Counter[str] = Counter()
        self._tamper: Tamper | None = None
        self._lock = threading.Lock()
        self.app = self._build_app()
        self.url = ""
        self._server = None

    # ---- what tests call ------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.url

    def allow_redirect_uri(self, uri: str) -> None:
        self.clients[CLIENT_ID].redirect_uris.append(uri)

    def tamper(self, *, shift: int = 0, sign_with: str = "", **claims: Any) -> None:
        """Make the next ID token wrong (once): override ``claims``, shift its times by
        ``shift`` seconds, sign it with the ``unknown`` key or not at all (``none``)."""
        self._tamper = Tamper(claims=claims, shift=shift, sign_with=sign_with)

    def rotate_key(self) -> None:
        """Sign from now on with a new key, published in place of the old one (key rotation)."""
        self.key = RSAKey.generate_key(
            2048, parameters={"kid": f"provider-key-{secrets.token_hex(4)}", "use": "sig", "alg": "RS256"}
        )

    def authorize(self, authorization_url: str) -> str:
        """What a browser does at the authorization endpoint: the URL it is sent back to."""
        import requests

        response = requests.get(authorization_url, allow_redirects=False, timeout=10)
        if response.status_code != 302:
            raise AssertionError(f"the provider refused the authorization request: {response.text[:300]}")
        return response.headers["Location"]

    def identity_table(self, **overrides: Any) -> dict[str, Any]:
        """The ``[identity]`` settings table pointing govcred at this provider."""
        oidc = {
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scopes": ["openid", "profile"],
            "name_claim": "name",
            "id_number_claim": "id_number",
            "assurance_claim": "acr",
            "assurance_levels": ["1", "2", "3", "4"],
            "minimum_assurance": "3",
            "label": "浙里办实名登录",
        }
        oidc.update(overrides)
        return {"oidc": oidc}

    def start(self, port: int = 0) -> OidcTestProvider:
        self._server = make_server("127.0.0.1", port, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ---- the server -----------------------------------------------------------------------

    def _take_tamper(self) -> Tamper:
        with self._lock:
            found, self._tamper = self._tamper, None
        return found or Tamper()

    def _id_token(self, token: dict, request_, person: Person, code: AuthorizationCode) -> str:
        tamper = self._take_tamper()
        now = int(self.now()) + tamper.shift
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": person.sub,
            "aud": request_.client.get_client_id(),
            "iat": now,
            "exp": now + 300,
            "auth_time": code.auth_time,
            "nonce": code.nonce,
            "at_hash": create_half_hash(token["access_token"], "RS256").decode(),
            **UserInfo(name=person.name, id_number=person.id_number, acr=person.acr),
        }
        claims.update(tamper.claims)
        claims = {k: v for k, v in claims.items() if v is not None}
        if tamper.sign_with == "none":
            header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": self.key.kid}).encode())
            body = base64.urlsafe_b64encode(json.dumps(claims).encode())
            return f"{header.decode().rstrip('=')}.{body.decode().rstrip('=')}."
        key = self.unknown_key if tamper.sign_with == "unknown" else self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def _build_app(self) -> Flask:
        provider = self
        app = Flask("govcred-test-oidc-provider")
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 300}

        @app.before_request
        def _count():
            provider.hits[request.path] += 1

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

            def save_authorization_code(self, code, request_):
                data = request_.payload.data
                provider.codes[code] = AuthorizationCode(
                    code=code,
                    client_id=request_.client.get_client_id(),
                    redirect_uri=request_.payload.redirect_uri,
                    scope=request_.payload.scope,
                    nonce=data.get("nonce", ""),
                    code_challenge=data.get("code_challenge", ""),
                    code_challenge_method=data.get("code_challenge_method", ""),
                    person=Person(**vars(request_.user)),
                    auth_time=int(provider.now()),
                )

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found is not None and found.client_id == client.get_client_id() else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)  # a code is good once

            def authenticate_user(self, authorization_code):
                return authorization_code.person

        class IdTokens(OpenIDCode):
            def exists_nonce(self, nonce, request_):
                return any(c.nonce == nonce for c in provider.codes.values())

            def generate_user_info(self, user, scope):  # pragma: no cover - _id_token builds the claims
                return UserInfo(sub=user.sub)

            def encode_id_token(self, token, request_):
                code = request_.authorization_code
                return provider._id_token(token, request_, code.person, code)

        server = AuthorizationServer(
            app, query_client=lambda client_id: provider.clients.get(client_id), save_token=lambda *_: None
        )
        server.register_grant(CodeGrant, [CodeChallenge(required=True), IdTokens(require_nonce=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(
                {
                    "issuer": provider.issuer,
                    "authorization_endpoint": provider.url + "/authorize",
                    "token_endpoint": provider.url + "/token",
                    "jwks_uri": provider.url + "/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                    "scopes_supported": ["openid", "profile"],
                    "claims_supported": ["sub", "name", "id_number", "acr"],
                }
            )

        @app.get("/jwks")
        def jwks():
            return jsonify(KeySet([provider.key]).as_dict(private=False))

        @app.get("/authorize")
        def authorize():
            try:
                grant = server.get_consent_grant(end_user=provider.person)
            except OAuth2Error as error:
                return server.handle_error_response(None, error)
            return server.create_authorization_response(grant_user=provider.person, grant=grant)

        @app.post("/token")
        def token():
            return server.create_token_response()

        return app
