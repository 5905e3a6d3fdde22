"""Every hook is documented: a docstring naming each argument (pytest/tox style)."""

import inspect

import pytest

from govcred.core import hookspecs

SPECS = [getattr(hookspecs, n) for n in dir(hookspecs) if n.startswith("govcred_")]


#: Hooks that only asked "is this document my schema?": a credential type answers them now
#: (core/credential_types.py, documented like these hooks: tests/core/test_credential_types.py).
REPLACED_BY_CREDENTIAL_TYPES = {
    "govcred_validate_application",
    "govcred_application_subject",
    "govcred_records_from_document",
    "govcred_credential_claims",
    "govcred_benefit_codes",
    "govcred_benefit_check",
    "govcred_endorsement_window",
}


def test_there_are_hooks():
    assert len(SPECS) >= 14
    assert REPLACED_BY_CREDENTIAL_TYPES.isdisjoint(s.__name__ for s in SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.__name__)
def test_hook_is_documented(spec):
    doc = inspect.getdoc(spec)
    assert doc and len(doc.splitlines()[0]) > 10, f"{spec.__name__} needs a docstring"
    params = list(inspect.signature(spec).parameters)
    if params and "register" not in params:
        for name in params:
            assert f":param {name}:" in doc, f"{spec.__name__}: document :param {name}:"
    opts = spec.govcred_spec
    if opts.get("firstresult"):
        assert "Stops at first non-None result" in doc


def test_core_never_imports_plugins():
    """core/ is generic: no module under it imports plugins.*"""
    import pathlib
    import re

    root = pathlib.Path(hookspecs.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"^\s*(from|import)\s+plugins(\.|\s|$)", text, re.M):
            offenders.append(str(path))
    assert offenders == []
