"""The runtime a request is served by.

Blueprints, request glue and views ask this module, never the app factory's package
(``govcred.core.web``), for the runtime: the factory imports every blueprint, so a blueprint
importing the factory back would close an import cycle.
"""

from __future__ import annotations

from flask import Flask, current_app

#: Where :func:`govcred.core.web.create_app` keeps the runtime on the Flask app.
EXTENSION = "govcred"


def runtime_of(app: Flask | None = None):
    """The :class:`~govcred.core.runtime.Runtime` of ``app`` (default: the app serving this request)."""
    return (app or current_app).extensions[EXTENSION]
