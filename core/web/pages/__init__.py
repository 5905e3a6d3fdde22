"""Server-rendered pages in Chinese for residents, officers and verifiers.

``init_app`` is called by :func:`govcred.core.web.create_app`. Templates live in core/web/templates,
static CSS and JavaScript in core/web/static (served by Flask from the app's static folder);
nothing is fetched from elsewhere at run time, and no page has an inline script or style, so
the strict Content-Security-Policy of :mod:`core.web.security` holds.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask


def init_app(app: Flask) -> None:
    from govcred.core.claims import ID_MASKED, NAME_MASKED
    from govcred.core.web.authn import current_principal
    from govcred.core.web.context import runtime_of
    from govcred.core.web.pages import guard, officer, operations, progress, resident, resident_identity, views

    app.before_request(guard.before_request)
    app.after_request(guard.after_request)
    app.jinja_env.globals.update(
        csrf_token=guard.csrf_token,
        csrf_field=guard.csrf.FIELD,
        principal=current_principal,
        claim={"name": NAME_MASKED, "id": ID_MASKED},
    )
    _add_plugin_templates(app, runtime_of(app).pm)
    views.install_filters(app)
    app.register_blueprint(views.home_bp)
    app.register_blueprint(resident.bp)
    app.register_blueprint(progress.bp)
    app.register_blueprint(resident_identity.bp)
    app.register_blueprint(officer.bp)
    app.register_blueprint(operations.bp)


def _add_plugin_templates(app: Flask, pm) -> None:
    """Plugins may ship templates (a schema's form, notice, summary and advice) in a
    ``templates`` folder next to their module; core's own templates win on a name clash."""
    from jinja2 import ChoiceLoader, FileSystemLoader

    folders = []
    for plugin in pm.get_plugins():
        module_file = getattr(plugin, "__file__", None)
        if module_file:
            folder = Path(module_file).parent / "templates"
            if folder.is_dir():
                folders.append(str(folder))
    if folders:
        app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(folders)])
