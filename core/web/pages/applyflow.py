"""The application form and its confirmation page, shared by the resident's online
application and the clerk's window intake (same templates, different layout and endpoints).

Between the form and the confirmation nothing reaches the application tables before
"确认提交": a resident's draft is kept on the server (``govcred.core.services.drafts``), a
clerk's in the page session (``data["values"]``, ``data["draft"]``, ``data["uploads"]``).
The form is always refilled from the values as typed, never from the document built from
them, so a value stays in its field whatever was left empty around it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request, url_for

from govcred.core.exceptions import Conflict, ValidationError
from govcred.core.services import documents, returns
from govcred.core.web.context import runtime_of
from govcred.core.web.pages import formdoc
from govcred.core.web.pages.views import FormErrors

#: Session keys that belong to one application in progress (cleared once it is submitted).
DRAFT_KEYS = ("draft", "values", "moves", "commitment_at", "uploads", "schema")


def schema_slug(schema: str) -> str:
    """``zj-residence/application@1`` -> ``zj-residence-application-1`` (a template folder name)."""
    return "".join(c if c.isalnum() or c == "-" else "-" for c in schema)


def upload_names(doc: dict, known: dict[str, str]) -> dict[str, str]:
    """Names of the uploads this document references (for the confirmation page)."""
    return {ref: known.get(ref, ref) for _path, ref in documents.attachment_references(doc)}


@dataclass(frozen=True)
class TypedForm:
    """One submission of the form: the fields as typed, the document built from them, and
    where list items moved on the way (so errors on the document land on their fields)."""

    values: dict
    document: dict
    moves: dict

    @classmethod
    def from_request(cls, form, *, schema: str, channel: str, commitment: dict, skip=()) -> TypedForm:
        pairs = [(k, v) for k, v in form.items(multi=True) if k not in skip]
        document, moves = formdoc.unflatten_tracked(pairs)
        document.update(schema=schema, channel=channel, commitment=commitment)
        return cls(formdoc.form_values(pairs), document, moves)

    def errors(self, credential_types, today) -> FormErrors:
        return FormErrors(documents.form_errors(credential_types, self.document, today)).moved(self.moves)


@dataclass(frozen=True)
class ApplyFlow:
    channel: str  # online | window
    layout: str  # the audience's base template
    form_post: str  # endpoints
    upload: str
    form: str
    confirm_post: str

    def render_form(
        self, values: dict, uploads: dict, schema: str, *, errors=None, status: int = 200, notice="", identity=None
    ):
        """``identity``: a :class:`~govcred.core.services.identity_binding.FormBinding` (a
        real-name resident): its fields are shown filled and read-only."""
        if identity is not None:
            values = {**values, **identity.locked}
        return render_template(
            "apply/form.html",
            errors=errors if errors is not None else FormErrors(),
            values=values,
            uploads=uploads,
            slug=schema_slug(schema),
            channel=self.channel,
            layout=self.layout,
            action=url_for(self.form_post),
            upload_url=url_for(self.upload),
            today=runtime_of().clock.today_beijing().isoformat(),
            notice=notice,
            identity=identity,
            locked=dict(identity.locked) if identity is not None else {},
        ), status

    def render_confirm(self, uploads: dict, schema: str, doc: dict):
        return render_template(
            "apply/confirm.html",
            doc=doc,
            slug=schema_slug(schema),
            errors=FormErrors(),
            files=upload_names(doc, uploads),
            layout=self.layout,
            confirm_action=url_for(self.confirm_post),
            back_url=url_for(self.form),
        )


def resubmit_from_form(principal, app_id: str) -> tuple[FormErrors | None, int]:
    """补正: resubmit the attachments the form added, by the part they belong to (fields
    named ``<path>.attachments``, filled by the upload script); ``(errors, status)`` when refused."""
    try:
        resubmitted_from_form(principal, app_id)
    except ValidationError as exc:
        return FormErrors.from_exception(exc), 400
    except Conflict as exc:
        errors = FormErrors()
        errors.add("attachments", exc.message, exc.code)
        return errors, exc.http_status
    return None, 200


def resubmitted_from_form(principal, app_id: str):
    """The resubmission itself (see :func:`resubmit_from_form`)."""
    added: dict[str, list[str]] = {}
    for name, value in request.form.items(multi=True):
        if name.endswith(".attachments") and value.strip():
            added.setdefault(name.removesuffix(".attachments"), []).append(value.strip())
    return returns.resubmit_materials(runtime_of().collaborators, app_id, principal, added)
