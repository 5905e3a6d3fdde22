"""What may import what (docs/architecture.md states the same rules), and no import cycles.

The graph is read from the source (tests/importgraph.py): module-level and function-level
imports count, ``if TYPE_CHECKING:`` imports do not.
"""

from __future__ import annotations

import textwrap

import pytest

from tests import importgraph

#: What the verifier may import from core, and why; nothing else. The verifier holds no
#: private key and never opens the issuer's database (tests/verifier/test_isolation.py checks
#: what it loads); it decodes status lists itself (verifier/statuslist.py).
VERIFIER_MAY_IMPORT = {
    "govcred.core.exceptions": "the one error tree",
    "govcred.core.tokens": "verifying credential, presentation and status-list tokens",
    "govcred.core.keys": "public key sets (JWKS)",
    "govcred.core.qr": "reading QR images and scanner input",
    "govcred.core.claims": "the claim names a credential carries",
    "govcred.core.clock": "the clock, which tests pin",
    "govcred.core.file_problems": "why a file (trust file, JWKS, root key) could not be read, in Chinese",
    "govcred.core.hookspecs": "the hook specifications and hookimpl (benefit plugins, CLI commands)",
    "govcred.core.plugins": "the benefit codes plugins declare",
    "govcred.core.readiness": "the shape of a /readyz check, the same as the issuer's",
    "govcred.core.outages": "telling an outage or a full disk from a bug, as the issuer does",
    "govcred.core.web.assets": "the templates and CSS the verifier page shares with the issuer's pages",
    "govcred.core.web.errors": "errors as application/problem+json",
    "govcred.core.web.jsonbody": "strict JSON request bodies",
    "govcred.core.web.request_metrics": "request counts and latency on /metrics, as the issuer counts them",
    "govcred.core.web.metrics_files": "metrics samples that a full disk drops instead of killing the worker",
    "govcred.core.web.security": "the security headers",
}
#: verifier/cli.py adds the verifier's commands to the ``govcred`` command line (a plugin of it).
VERIFIER_CLI_MAY_IMPORT = {"govcred.core.cli.context": "the click context object and JSON output"}

#: The outer ring of core: the command line and the web app. Nothing else in core imports
#: them, and the web app never imports the command line.
CLI, WEB = "govcred.core.cli", "govcred.core.web"
#: The test kit (core/testing/) builds apps and runs commands as a user would, like an
#: entry point; it finds the built-in plugins through their entry points, never by import.
KIT = "govcred.testing"

#: Cycles tolerated while they are being removed; none is left (lifecycle <-> sweep went
#: with the use-case work of issue 10), and none may come back.
KNOWN_CYCLES: list[set[str]] = []

MODULES = importgraph.project_modules(importgraph.package_roots())
IMPORTS = importgraph.govcred_imports(MODULES)


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _violations(rule) -> list[str]:
    """``module:line imports target`` for every import ``rule(module, target)`` refuses."""
    return [
        f"{MODULES[module].relative_to(importgraph.REPO)}:{i.line} imports {i.target}"
        for module, found in sorted(IMPORTS.items())
        for i in found
        if not rule(module, i.target)
    ]


def test_the_graph_sees_every_package_and_its_imports():
    """Guards the rules below against passing on an empty or blind graph."""
    for package in ("govcred.core", "govcred.plugins.zhejiang_residence", "govcred.verifier"):
        assert package in MODULES
    edges = importgraph.graph(MODULES)
    assert "govcred.core.accounts.signin" in edges["govcred.core.web.pages.officer"]
    assert "govcred.core.cli.context" in edges["govcred.verifier.cli"]
    assert "govcred.verifier.check" in edges["govcred.verifier.app"]  # a function-level import


def test_core_never_imports_a_plugin_or_the_verifier():
    def rule(module, target):
        return not _under(module, "govcred.core") or not (
            _under(target, "govcred.plugins") or _under(target, "govcred.verifier")
        )

    assert _violations(rule) == []


def test_the_verifier_imports_only_the_core_modules_it_needs():
    def rule(module, target):
        if not _under(module, "govcred.verifier") or _under(target, "govcred.verifier"):
            return True
        allowed = VERIFIER_MAY_IMPORT | (VERIFIER_CLI_MAY_IMPORT if module == "govcred.verifier.cli" else {})
        return target in allowed

    assert _violations(rule) == []


def test_plugins_import_only_core_and_themselves():
    """Package level: a plugin never imports another plugin or the verifier (which names of
    ``govcred.core`` it may use is the public-API test's business)."""

    def rule(module, target):
        if not _under(module, "govcred.plugins"):
            return True
        own = ".".join(module.split(".")[:3])
        return _under(target, "govcred.core") or (module != "govcred.plugins" and _under(target, own))

    assert _violations(rule) == []


def test_only_the_command_line_and_the_web_app_import_them():
    def rule(module, target):
        if _under(target, CLI):
            return _under(module, CLI) or module == "govcred.verifier.cli" or _under(module, KIT)
        if _under(target, WEB):
            return _under(module, WEB) or _under(module, CLI) or target in VERIFIER_MAY_IMPORT or _under(module, KIT)
        return True

    assert _violations(rule) == []


def test_the_test_kit_imports_only_core():
    def rule(module, target):
        return not _under(module, KIT) or _under(target, "govcred.core") or _under(target, KIT)

    assert KIT + ".plugin" in MODULES and "govcred.core.testing" not in MODULES
    assert _violations(rule) == []


def test_no_import_cycles():
    found = importgraph.cycles(importgraph.graph(MODULES))
    unknown = [path for path in found if not any(set(path) <= known for known in KNOWN_CYCLES)]
    assert unknown == [], "import cycles:\n" + "\n".join(" -> ".join(path) for path in unknown)


# ---- the graph reader itself ------------------------------------------------------------------


@pytest.fixture
def tiny(tmp_path):
    """A two-package project: ``govcred.alpha`` (folder a/) and ``govcred.beta`` (folder b/)."""

    def write(relative: str, source: str) -> None:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")

    write(
        "setup.cfg",
        """\
        [options]
        package_dir =
            govcred.alpha = a
            govcred.beta = b
        """,
    )
    write("a/__init__.py", "")
    write("b/__init__.py", "")
    return tmp_path, write


def test_function_level_and_relative_imports_are_edges_type_checking_ones_are_not(tiny):
    root, write = tiny
    write(
        "a/one.py",
        """\
        from typing import TYPE_CHECKING
        from . import two
        if TYPE_CHECKING:
            from govcred.beta import hidden
        def later():
            import govcred.beta.shown
        """,
    )
    write("a/two.py", "from .one import later\n")
    write("b/hidden.py", "")
    write("b/shown.py", "")
    modules = importgraph.project_modules(importgraph.package_roots(root))
    edges = importgraph.graph(modules)
    assert edges["govcred.alpha.one"] == {"govcred.alpha.two", "govcred.beta.shown"}
    assert edges["govcred.alpha.two"] == {"govcred.alpha.one"}
    assert importgraph.cycles(edges) == [["govcred.alpha.one", "govcred.alpha.two", "govcred.alpha.one"]]


def test_a_cycle_is_printed_as_a_closed_path():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert importgraph.cycles(edges) == [["a", "b", "c", "a"], ["e", "e"]]
