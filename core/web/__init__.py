"""The issuer web application (Flask app factory).

JSON API under ``/api/v1`` with errors as ``application/problem+json`` carrying a stable
``code``; the public keys at ``/.well-known/jwks.json``; the OpenAPI document at
``/api/v1/openapi.json``. Plugins add blueprints through ``govcred_blueprints``.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, g, request

from govcred.core.production_checks import refuse_unsafe_production
from govcred.core.web.context import EXTENSION, runtime_of  # noqa: F401  (runtime_of: re-exported)
from govcred.core.web.errors import register_error_handlers
from govcred.core.web.security import SecurityHeaders


def create_app(runtime=None, *, settings=None, test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the issuer app around a :class:`core.runtime.Runtime`."""
    from govcred.core.runtime import Runtime

    if runtime is None:
        from govcred.core.config import load_settings

        runtime = Runtime.create(settings or load_settings())
    refuse_unsafe_production(runtime)  # every refusal at once, before a request is taken
    # An explicit instance path: Flask's own search walks the parent package's paths, and
    # the govcred namespace has none it can use under an editable install.
    app = Flask(__name__, instance_path=str(runtime.settings.data_dir.resolve()))
    app.config.from_mapping(
        SECRET_KEY=runtime.secrets.session_key,
        MAX_CONTENT_LENGTH=11 * 1024 * 1024,  # 10 MiB per attachment plus form overhead
        MAX_FORM_PARTS=20,
        JSON_AS_ASCII=False,
    )
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False
    app.extensions[EXTENSION] = runtime

    @app.before_request
    def _request_id() -> None:
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or secrets.token_hex(8)

    @app.after_request
    def _headers(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    app.wsgi_app = SecurityHeaders(app.wsgi_app)

    register_error_handlers(app)
    from govcred.core.web import metrics  # here, not at import: see core/web/request_metrics.py

    metrics.install(app)

    from govcred.core.web import health
    from govcred.core.web.api import officer_auth as api_auth
    from govcred.core.web.api import openapi, wellknown

    app.register_blueprint(health.bp)
    app.register_blueprint(wellknown.bp)
    app.register_blueprint(api_auth.bp)
    _register_blueprints(app)

    def register(blueprint, **options) -> None:
        app.register_blueprint(blueprint, **options)

    runtime.pm.hook.govcred_blueprints(register=register)
    app.register_blueprint(openapi.bp)
    return app


def _register_blueprints(app: Flask) -> None:
    """One blueprint per concern, each in its own module under core/web."""
    from govcred.core.web import pages
    from govcred.core.web.api import applications, credentials, holder, lifecycle, reports, review, signing_keys
    from govcred.core.web.api import status_lists as status

    applications.init_app(app)
    pages.init_app(app)
    for module in (review, credentials, status, holder, lifecycle, reports, signing_keys):
        app.register_blueprint(module.bp)
