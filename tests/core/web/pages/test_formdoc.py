"""Form fields to a document and back: values stay in their fields, errors find them."""

from __future__ import annotations

from govcred.core.web.pages import formdoc

EMPLOYMENT_ONLY = [
    ("=conditions[0].kind", "residence"),
    ("conditions[0].proof", ""),
    ("conditions[0].since", ""),
    ("=conditions[1].kind", "employment"),
    ("conditions[1].proof", "labor_contract"),
    ("conditions[1].employer", "青田某公司"),
    ("conditions[1].attachments", "att-1"),
    ("applicant.name", "张三"),
]


def test_a_dropped_item_renumbers_the_document_and_says_where_each_item_came_from():
    doc, moves = formdoc.unflatten_tracked(EMPLOYMENT_ONLY)
    assert doc["conditions"] == [
        {"kind": "employment", "proof": "labor_contract", "employer": "青田某公司", "attachments": ["att-1"]}
    ]
    assert moves == {"conditions[0]": "conditions[1]"}
    assert formdoc.form_path("conditions[0].employer_uscc", moves) == "conditions[1].employer_uscc"
    assert formdoc.form_path("conditions[0].attachments[0]", moves) == "conditions[1].attachments[0]"
    assert formdoc.form_path("conditions", moves) == "conditions"
    assert formdoc.form_path("applicant.name", moves) == "applicant.name"


def test_values_are_kept_as_typed_under_their_own_names():
    values = formdoc.form_values(EMPLOYMENT_ONLY + [("csrf_token", "x")])
    assert values["conditions[1].employer"] == "青田某公司"
    assert values["conditions[1].attachments"] == ["att-1"]
    assert values["conditions[0].proof"] == ""
    assert "=conditions[1].kind" not in values and "csrf_token" not in values


def test_nothing_moves_when_nothing_is_dropped():
    pairs = [("=conditions[0].kind", "residence"), ("conditions[0].proof", "purchase_contract")]
    assert formdoc.unflatten_tracked(pairs)[1] == {}
