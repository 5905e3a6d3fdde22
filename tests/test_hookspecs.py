"""Every hook is documented: a docstring naming each argument (pytest/tox style)."""
import inspect

import pytest

from govcred.core import hookspecs

SPECS = [getattr(hookspecs, n) for n in dir(hookspecs) if n.startswith("govcred_")]


def test_there_are_hooks():
    assert len(SPECS) >= 15


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.__name__)
def test_hook_is_documented(spec):
    doc = inspect.getdoc(spec)
    assert doc and len(doc.splitlines()[0]) > 10, f"{spec.__name__} needs a docstring"
    params = [p for p in inspect.signature(spec).parameters]
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
