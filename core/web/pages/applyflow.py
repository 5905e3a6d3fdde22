"""The application form and its confirmation page, shared by the resident's online
application and the clerk's window intake (same templates, different layout and endpoints).

The draft lives in the page session (``data["draft"]``, ``data["uploads"]``) between the
form and the confirmation, so nothing reaches the application tables before "确认提交".
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, url_for

from govcred.core.services import documents
from govcred.core.web.pages import formdoc
from govcred.core.web.pages.views import FormErrors

#: Session keys that belong to one application in progress (cleared once it is submitted).
DRAFT_KEYS = ("draft", "commitment_at", "uploads", "schema")


def schema_slug(schema: str) -> str:
    """``zj-residence/application@1`` -> ``zj-residence-application-1`` (a template folder name)."""
    return "".join(c if c.isalnum() or c == "-" else "-" for c in schema)


def upload_names(doc: dict, known: dict[str, str]) -> dict[str, str]:
    """Names of the uploads this document references (for the confirmation page)."""
    return {ref: known.get(ref, ref) for _path, ref in documents.attachment_references(doc)}


@dataclass(frozen=True)
class ApplyFlow:
    channel: str  # online | window
    layout: str  # the audience's base template
    form_post: str  # endpoints
    upload: str
    form: str
    confirm_post: str

    def render_form(self, session, schema: str, *, doc: dict | None = None, errors=None, status: int = 200):
        values = formdoc.flatten(doc if doc is not None else session.data.get("draft") or {})
        return render_template(
            "apply/form.html",
            errors=errors if errors is not None else FormErrors(),
            values=values,
            uploads=session.data.get("uploads", {}),
            slug=schema_slug(schema),
            channel=self.channel,
            layout=self.layout,
            action=url_for(self.form_post),
            upload_url=url_for(self.upload),
        ), status

    def render_confirm(self, session, schema: str, doc: dict):
        return render_template(
            "apply/confirm.html",
            doc=doc,
            slug=schema_slug(schema),
            errors=FormErrors(),
            files=upload_names(doc, session.data.get("uploads", {})),
            layout=self.layout,
            confirm_action=url_for(self.confirm_post),
            back_url=url_for(self.form),
        )
