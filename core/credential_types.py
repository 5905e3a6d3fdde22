"""A credential type: everything core asks about one kind of credential, in one object.

A plugin that issues a credential registers one :class:`CredentialType` per kind through
:func:`govcred.core.hookspecs.govcred_credential_types`. Core looks the type up by the
``schema`` of an application document (or the ``credential_type`` of a stored credential,
or the claims a verifier checked) and calls the object -- no hook has to ask "is this
document mine?".

The methods are documented like hooks: each says what it receives and what core does with
the result. A subclass overrides what its type needs; the defaults say "nothing to add".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from govcred.core.exceptions import ConfigError, FieldError, MalformedInput, ValidationError
from govcred.core.models import PersonRecords

if TYPE_CHECKING:  # pragma: no cover
    import datetime as dt

    import pluggy

    from govcred.core.models import Application, Credential, Decision, EligibilityContext, Finding

log = logging.getLogger("govcred.credential_types")

#: The longest schema value an error message repeats back.
_SHOWN = 64


@dataclass(frozen=True)
class IdentityPaths:
    """Where an application document names its applicant and the agent applying for them,
    as document paths (which are also the form's field names, core/web/pages/formdoc.py).

    With a real-name identity, core fills these from the identity and refuses a document
    whose values differ: the applicant's when the person applies for themselves, the agent's
    when ``agent`` (the member holding the agent, absent or empty for an application in
    person) is there.
    """

    applicant_name: str
    applicant_id_number: str
    agent: str
    agent_name: str
    agent_id_number: str
    agent_relation: str


class CredentialType:
    """One kind of credential: its application schema, validation, subject, rules, claims.

    Class (or instance) attributes:

    ``name``
        the stable type name stored with every credential (``zj-residence-permit``); its
        part before the first ``-`` tags permit numbers.
    ``application_schema``
        the ``schema`` value of application documents for this type
        (``zj-residence/application@1``).
    ``display_name``
        what residents and officers read (``浙江省居住证``).
    ``benefits``
        benefit code -> Chinese label of every benefit a credential of this type can cover
        (what a verifier may ask about).
    ``identity_paths``
        an :class:`IdentityPaths`: where documents name the applicant and the agent, so that
        core binds an application to the signed-in person's real-name identity; ``None``
        (the default) and core compares the name and ID number of :meth:`subject` only, and
        a real-name resident cannot apply as an agent.
    """

    name: str = ""
    application_schema: str = ""
    display_name: str = ""
    benefits: Mapping[str, str] = {}
    identity_paths: IdentityPaths | None = None

    def validate(self, document: Mapping[str, Any]) -> list[FieldError]:
        """Check an application document of this type's schema: structure and types only.

        :param document: the parsed JSON document (its ``schema`` is this type's).
        :returns: *every* :class:`FieldError` found at once; empty when the document is valid.
        """
        return []

    def form_errors(self, document: Mapping[str, Any], today: dt.date) -> list[FieldError]:
        """Check a document typed into a form, beyond its structure: what a person can put
        right at once (an ID number's check digit, a start date in the future, a section
        filled only half-way, a required field left empty, named by its field).

        The pages run it when the form is sent and again when the application is
        submitted, so a mistyped number is flagged on the form instead of being refused by
        an officer days later. Documents sent through the API are only validated: there
        such problems are eligibility findings.

        :param document: the document built from the form (it may also fail :meth:`validate`).
        :param today: the local date the form is checked on.
        :returns: every :class:`FieldError` found, with document paths; empty when none.
        """
        return []

    def form_layout(self, document: Mapping[str, Any]) -> Mapping[str, Any]:
        """Arrange a stored document the way this type's form lays it out, to refill the
        form from it (重新申请 starts from the rejected application's data).

        :param document: a submitted document.
        :returns: the document with list items at the positions of the form's fields;
            what the person must provide again (uploads, the commitment) left out.
        """
        return {k: v for k, v in document.items() if k not in ("schema", "channel", "commitment")}

    def subject(self, document: Mapping[str, Any]) -> Mapping[str, str]:
        """Name the person an application is about, for indexing, masking and notifications.

        Core stores the ID number and phone encrypted, with a keyed blind index for look-ups.

        :param document: a document that passed :meth:`validate`.
        :returns: ``{"name", "id_number", "phone", "county"}``.
        """
        raise NotImplementedError(f"credential type {self.name!r} names no subject")

    def records_from_document(self, document: Mapping[str, Any]) -> PersonRecords:
        """The person's records as the document itself declares them (dry runs).

        ``govcred eligibility check`` evaluates a document without the live records source.

        :param document: a valid document.
        :returns: a :class:`govcred.core.models.PersonRecords` snapshot (source ``document``).
        """
        return PersonRecords(source="document")

    def eligibility_findings(self, application: Application, context: EligibilityContext) -> Iterable[Finding]:
        """Run this type's eligibility rules; return the findings of the rules that *fail*.

        Every rule runs, always (一次性告知). Core adds the findings of every
        :func:`govcred_eligibility_rules` implementation after these.

        :param application: the application, with its ``document`` and ``kind``
            (``first_issue``, or ``endorsement`` when a permit is endorsed).
        :param context: ``as_of`` (the decision date T), ``records`` (the person's records
            snapshot), ``settings`` and ``already_holds``.
        """
        return ()

    def claims(self, application: Application, decision: Decision, context: EligibilityContext) -> Mapping[str, Any]:
        """The claims of the credential issued on approval (or endorsement, replacement).

        Reserved claims (``iss``, ``iat``, ``nbf``, ``exp``, ``jti``, ``status`` ...) are core's
        alone. ``exp`` may be returned *only* as ``"_exp"`` (an aware datetime): when the
        credential's use lapses. For a re-issue ``context.extra`` holds
        ``previous_credential``, ``late`` and ``residence_start``.

        :param application: the approved application (``kind`` says which issue it is).
        :param decision: the decision being recorded.
        :param context: as for :meth:`eligibility_findings`.
        """
        return {}

    def benefit_check(self, claims: Mapping[str, Any], benefit: str) -> bool | None:
        """Say whether a verified credential's holder qualifies for ``benefit``.

        Asked only after every core check passed; a ``True`` never makes an invalid
        credential valid.

        :param claims: the verified claims (possibly of another type: answer ``None``).
        :param benefit: a benefit code such as ``compulsory_education``.
        :returns: ``None`` for claims of another type or a benefit this type does not know.
        """
        return None

    def paper_form(self, document: Mapping[str, Any] | None, facts: Mapping[str, str]) -> bytes | None:
        """The printed application form (A4 PDF) window applicants sign: blank, or
        prefilled from a document.

        :param document: the application's document, or ``None`` for a blank form.
        :param facts: what core knows of the application (``reference``, ``id_masked``,
            ``deadline``; empty for a blank form).
        :returns: the PDF, or ``None`` when this type has no paper form.
        """
        return None

    def rule_labels(self) -> Mapping[str, str]:
        """Short Chinese labels of this type's rule codes, for reports and charts.

        :returns: ``{code: label}``; a code without a label is shown as the code itself.
        """
        return {}

    def residence_start(self, claims: Mapping[str, Any]) -> dt.date | None:
        """The start of the residence a credential with these claims recognises, if any.

        Core stores it with the credential on every issue (first issue, endorsement,
        replacement), so records pushed to a data platform carry it from the start.

        :param claims: the claims just signed (or verified) for this type.
        :returns: ``None`` when this type has no residence start.
        """
        return None

    def endorsement_window(self, credential: Credential) -> tuple[dt.date, dt.date] | None:
        """The endorsement (签注) window of a credential's current cycle, as local dates.

        Core refuses an endorsement requested before ``first_day``; after the credential
        lapses an endorsement is late (core reinstates it and restarts its residence start).

        :param credential: the credential's current version (``expires_at`` = its lapse).
        :returns: ``(first_day, last_day)``, both inclusive, or ``None`` when this type is
            never endorsed.
        """
        return None


class CredentialTypes(Mapping[str, CredentialType]):
    """The credential types of one plugin manager, by application schema, in registration order."""

    def __init__(self, types: Iterable[CredentialType] = ()):
        self._by_schema: dict[str, CredentialType] = {}
        self._by_name: dict[str, CredentialType] = {}
        for credential_type in types:
            self.add(credential_type)

    def add(self, credential_type: CredentialType) -> None:
        """Register one type; a missing attribute or a duplicate name or schema is a config error."""
        name, schema = credential_type.name, credential_type.application_schema
        if not (isinstance(name, str) and name and isinstance(schema, str) and schema):
            raise ConfigError(f"credential type {credential_type!r} needs a name and an application_schema")
        if schema in self._by_schema or name in self._by_name:
            raise ConfigError(f"credential type {name!r} / {schema!r} registered twice")
        self._by_schema[schema] = self._by_name[name] = credential_type

    def __getitem__(self, schema: str) -> CredentialType:
        return self._by_schema[schema]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_schema)

    def __len__(self) -> int:
        return len(self._by_schema)

    def __contains__(self, schema: object) -> bool:
        return isinstance(schema, str) and schema in self._by_schema

    def for_document(self, document: Any) -> CredentialType:
        """The type whose schema ``document`` names; a :class:`ValidationError` otherwise.

        Anything but a JSON object, or a ``schema`` that is not a string (a list, an
        object ...), is the sender's mistake: a field error, never a server error.
        """
        if not isinstance(document, Mapping):
            raise ValidationError([FieldError("", "NOT_AN_OBJECT", "申请材料必须是 JSON 对象")])
        schema = document.get("schema")
        if schema is None:
            raise ValidationError([FieldError("schema", "SCHEMA_INVALID", "申请表类型（schema）必须是文字")])
        if not isinstance(schema, str):  # a list, an object, a number: not a schema name at all
            raise MalformedInput([FieldError("schema", "SCHEMA_INVALID", "申请表类型（schema）必须是文字")])
        found = self._by_schema.get(schema)
        if found is None:
            raise ValidationError([FieldError("schema", "SCHEMA_UNKNOWN", f"不支持的申请表类型：{schema[:_SHOWN]}")])
        return found

    def subject_of(self, application: Application) -> Mapping[str, str]:
        """The subject of a stored application, as its type reads it from the document;
        empty when no type knows the schema or the document names no subject (what the
        subject is asked for -- notifying, pushing -- must never fail the event it reports)."""
        credential_type = self.get(application.schema)
        try:
            return credential_type.subject(application.document) if credential_type is not None else {}
        except (KeyError, TypeError, AttributeError, ValueError):
            log.warning("application %s: its document names no subject", application.id)
            return {}

    def named(self, name: str) -> CredentialType | None:
        """The type a stored credential names (``credential.credential_type``)."""
        return self._by_name.get(name)

    def benefit_check(self, claims: Mapping[str, Any], benefit: str) -> bool | None:
        """The first answer a type gives about ``benefit`` for ``claims`` (``None``: nobody knows)."""
        for credential_type in self._by_schema.values():
            answer = credential_type.benefit_check(claims, benefit)
            if answer is not None:
                return answer
        return None

    def rule_labels(self) -> dict[str, str]:
        """Every rule code the types label, with its short Chinese label (first type wins)."""
        labels: dict[str, str] = {}
        for credential_type in self._by_schema.values():
            for code, label in credential_type.rule_labels().items():
                labels.setdefault(code, label)
        return labels

    def benefits(self) -> dict[str, str]:
        """Every benefit code the types know, with its Chinese label."""
        labels: dict[str, str] = {}
        for credential_type in self._by_schema.values():
            for code, label in credential_type.benefits.items():
                if labels.setdefault(code, label) != label:
                    raise ConfigError(f"benefit {code!r} registered twice with different labels")
        return labels


def collect_credential_types(pm: pluggy.PluginManager) -> CredentialTypes:
    """Ask every plugin for its credential types (``govcred_credential_types``)."""
    types = CredentialTypes()
    register: Callable[[CredentialType], None] = types.add
    pm.hook.govcred_credential_types(register=register)
    return types
