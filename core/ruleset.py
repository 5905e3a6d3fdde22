"""What a decision was judged by: the rule set's identity, and digests of what it judged.

A decision is replayable only if it says which rules spoke (every plugin's distribution and
version, and a digest of each credential type's rule catalogue -- its codes and labels) and
pins its inputs (a digest of the document, a digest of the records snapshot). Digests are
SHA-256 over canonical JSON (sorted keys, no whitespace), so equal content gives an equal
digest whatever the dict order or the process that computed it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import types
import weakref
from typing import Any

import pluggy

from govcred.core.credential_types import CredentialTypes

#: what json.dumps with these arguments builds for each call, built once (a third of the time of
#: a digest of an application's document; a batched issuance makes two)
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def canonical_json(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode()


def digest(value: Any) -> str:
    """``sha256:<hex>`` of ``value``'s canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()


@functools.lru_cache(maxsize=1)
def _package_distributions() -> dict[str, list[str]]:
    # scanning every installed distribution's metadata is slow: once per process is enough
    return importlib.metadata.packages_distributions()


@functools.lru_cache(maxsize=256)
def _version(name: str) -> str:
    # reading a distribution's metadata parses its METADATA file (about 4 ms, and 8 plugins a
    # decision); an installed version does not change under a running process
    return importlib.metadata.version(name)


def _distribution_of(plugin: Any) -> str:
    module = plugin.__name__ if isinstance(plugin, types.ModuleType) else type(plugin).__module__
    names = _package_distributions().get(module.split(".")[0]) or []
    if not names:  # a plugin registered from code that no distribution installed (a test's)
        return f"{module}@unpackaged"
    name = sorted(names)[0]
    return f"{name}=={_version(name)}"


#: the last identity of each plugin manager, with the plugins and types it was computed for:
#: every decision records it, and computing it (a digest of the catalogue, a version look-up
#: per plugin) cost more than the rest of a decision in a batch
_IDENTITIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def ruleset_identity(pm: pluggy.PluginManager, credential_types: CredentialTypes) -> str:
    """``dist==version[ dist==version...] rules=sha256:<16 hex>``: the plugins that were
    registered and the rule catalogue of every credential type."""
    plugins = frozenset(pm.get_plugins())
    cached = _IDENTITIES.get(pm)
    if cached is not None and cached[0] == plugins and cached[1] is credential_types:
        return cached[2]
    identity = _computed_identity(pm, credential_types)
    _IDENTITIES[pm] = (plugins, credential_types, identity)
    return identity


def _computed_identity(pm: pluggy.PluginManager, credential_types: CredentialTypes) -> str:
    distributions = sorted({_distribution_of(plugin) for plugin in pm.get_plugins()})
    catalogue = {
        schema: {"type": credential_types[schema].name, "rules": dict(credential_types[schema].rule_labels())}
        for schema in credential_types
    }
    return " ".join([*distributions, "rules=" + digest(catalogue)[: len("sha256:") + 16]])
