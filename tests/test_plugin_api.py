"""The plugin boundary: plugins import from core only ``from govcred.core import <public name>``.

Every module of ``plugins/`` is parsed (not imported), so a lazy import inside a function is
checked like a top-level one.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import govcred.core
import govcred.plugins

PLUGINS_DIR = Path(govcred.plugins.__path__[0])
CORE = "govcred.core"

#: Imports a plugin may still make outside the public API while another change is under way
#: (``(module, core module, name)``); the test fails while an entry is no longer needed, so
#: this list cannot go stale.
PENDING: set[tuple[str, str, str]] = set()


def boundary_violations(source: str, public: set[str]) -> list[tuple[str, str]]:
    """``(module, name)`` of every import in ``source`` that crosses into core outside ``public``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names if a.name == CORE or a.name.startswith(CORE + ".")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == CORE:
                found += [(CORE, a.name) for a in node.names if a.name not in public]
            elif node.module.startswith(CORE + "."):
                found += [(node.module, a.name) for a in node.names]
            elif node.module == "govcred":
                found += [("govcred", a.name) for a in node.names if a.name == "core"]
    return found


def test_plugins_import_only_the_public_api():
    public = set(govcred.core.__all__)
    seen = set()
    modules = sorted(PLUGINS_DIR.rglob("*.py"))
    assert len(modules) > 30  # the three built-in plugins are there
    for path in modules:
        rel = path.relative_to(PLUGINS_DIR).as_posix()
        for module, name in boundary_violations(path.read_text(encoding="utf-8"), public):
            seen.add((rel, module, name))
    assert sorted(seen - PENDING) == []
    assert sorted(PENDING - seen) == [], "pending exception no longer needed: delete it from PENDING"


def test_the_example_plugins_import_only_the_public_api():
    """examples/ shows third-party authors how to write a plugin: it keeps the same rule."""
    public = set(govcred.core.__all__)
    examples = Path(__file__).resolve().parents[1] / "examples"
    modules = sorted(p for p in examples.rglob("*.py") if "tests" not in p.relative_to(examples).parts)
    assert modules  # examples/qingtian_extra_rule is there
    leaks = [
        (path.relative_to(examples).as_posix(), module, name)
        for path in modules
        for module, name in boundary_violations(path.read_text(encoding="utf-8"), public)
    ]
    assert leaks == []


def test_the_check_catches_each_kind_of_leak():
    public = {"hookimpl"}
    source = (
        "from govcred.core import hookimpl\n"
        "from govcred.core import Secret\n"
        "from govcred.core.orm import TZDateTime\n"
        "import govcred.core.db\n"
        "from govcred import core\n"
        "def later():\n"
        "    from govcred.core.models import Finding\n"
        "from . import sibling\n"
    )
    assert sorted(boundary_violations(source, public)) == [
        ("govcred", "core"),
        ("govcred.core", "Secret"),
        ("govcred.core.db", ""),
        ("govcred.core.models", "Finding"),
        ("govcred.core.orm", "TZDateTime"),
    ]


def test_every_public_name_resolves_and_is_documented():
    doc = govcred.core.__doc__
    for name in govcred.core.__all__:
        assert getattr(govcred.core, name) is not None, name
        assert name == "__version__" or f"``{name}``" in doc, f"{name} is not in govcred.core's table"
    assert "hookimpl" in dir(govcred.core)


def test_unknown_names_still_fail_and_submodules_still_import():
    import pytest

    with pytest.raises(AttributeError):
        govcred.core.no_such_name  # noqa: B018
    from govcred.core import models

    assert models.Finding is govcred.core.Finding


def test_importing_the_api_is_cheap():
    """``import govcred.core`` loads no submodule; a plugin pays for the names it uses."""
    script = (
        "import json, sys\nimport govcred.core\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('govcred', 'sqlalchemy', 'requests')))))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["govcred", "govcred.core"]
