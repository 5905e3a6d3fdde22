"""The runtime a request is served by, and the request's id.

Blueprints, request glue and views ask this module, never the app factory's package
(``govcred.core.web``), for the runtime: the factory imports every blueprint, so a blueprint
importing the factory back would close an import cycle.
"""

from __future__ import annotations

from flask import Flask, current_app, g

#: Where :func:`govcred.core.web.create_app` keeps the runtime on the Flask app.
EXTENSION = "govcred"


def runtime_of(app: Flask | None = None):
    """The :class:`~govcred.core.runtime.Runtime` of ``app`` (default: the app serving this request)."""
    return (app or current_app).extensions[EXTENSION]


def request_id() -> str:
    """The id of the request being served (``X-Request-Id``, or one drawn for it): audit entries
    written for it carry it, so an entry leads to the request's log lines."""
    return g.get("request_id", "")
