"""Credential types: one registered object per kind, looked up by a document's schema."""

from __future__ import annotations

import inspect

import pytest

from govcred.core.credential_types import CredentialType, CredentialTypes
from govcred.core.exceptions import ConfigError, ValidationError

METHODS = [m for name, m in inspect.getmembers(CredentialType, inspect.isfunction) if not name.startswith("_")]


class Permit(CredentialType):
    name, application_schema, display_name = "demo-permit", "demo/application@1", "示例证"
    benefits = {"legal_aid": "法律援助和其他法律服务"}


class Card(CredentialType):
    name, application_schema, display_name = "demo-card", "demo/card@1", "示例卡"
    benefits = {"legal_aid": "法律援助和其他法律服务", "id_card": "换领、补领居民身份证"}

    def benefit_check(self, claims, benefit):
        return claims.get("ct") == "card" or None


def test_every_method_is_documented_like_a_hook():
    assert {m.__name__ for m in METHODS} == {
        "validate",
        "form_errors",
        "form_layout",
        "subject",
        "records_from_document",
        "eligibility_findings",
        "claims",
        "benefit_check",
        "endorsement_window",
        "residence_start",
        "rule_labels",
        "paper_form",
    }
    for method in METHODS:
        doc = inspect.getdoc(method)
        assert doc and len(doc.splitlines()[0]) > 10, f"{method.__name__} needs a docstring"
        for name in list(inspect.signature(method).parameters)[1:]:
            assert f":param {name}:" in doc, f"{method.__name__}: document :param {name}:"


@pytest.mark.parametrize(
    "document, code",
    [
        ({"schema": ["demo/application@1"]}, "SCHEMA_INVALID"),
        ({"schema": {"$ref": "demo/application@1"}}, "SCHEMA_INVALID"),
        ({"schema": None}, "SCHEMA_INVALID"),
        ({}, "SCHEMA_INVALID"),
        ({"schema": "other@1"}, "SCHEMA_UNKNOWN"),
        (["schema"], "NOT_AN_OBJECT"),
    ],
)
def test_a_document_names_its_type_or_gets_a_field_error(document, code):
    types = CredentialTypes([Permit()])
    with pytest.raises(ValidationError) as caught:
        types.for_document(document)
    assert [e.code for e in caught.value.errors] == [code]
    assert [] not in types and {} not in types  # unhashable keys are simply not there


def test_lookup_by_schema_and_by_name():
    permit, card = Permit(), Card()
    types = CredentialTypes([permit, card])
    assert types.for_document({"schema": "demo/card@1"}) is card
    assert types.named("demo-permit") is permit and types.named("nope") is None
    assert list(types) == ["demo/application@1", "demo/card@1"]


def test_duplicates_and_nameless_types_are_config_errors():
    types = CredentialTypes([Permit()])
    for duplicate in (
        Permit(),
        type("Same", (CredentialType,), {"name": "demo-permit", "application_schema": "x@1"})(),
    ):
        with pytest.raises(ConfigError):
            types.add(duplicate)
    with pytest.raises(ConfigError):
        types.add(CredentialType())


def test_benefit_answers_and_labels_come_from_the_types():
    types = CredentialTypes([Permit(), Card()])
    assert types.benefit_check({"ct": "card"}, "id_card") is True
    assert types.benefit_check({"ct": "permit"}, "id_card") is None  # nobody knows: no
    assert types.benefits() == {"legal_aid": "法律援助和其他法律服务", "id_card": "换领、补领居民身份证"}
    clash = type(
        "Clash", (CredentialType,), {"name": "c", "application_schema": "c@1", "benefits": {"legal_aid": "别的"}}
    )
    with pytest.raises(ConfigError):
        CredentialTypes([Permit(), clash()]).benefits()
