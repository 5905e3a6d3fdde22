"""Form fields named by document path (``applicant.name``, ``conditions[0].since``) to a
JSON document and back. Core knows no schema: the form template (shipped by the plugin that
owns the schema) chooses the names, and the schema's validator reports errors with the same
paths, so every error lands next to its field.

Rules: empty values are left out; an object or list item left with nothing but constants
(fields named ``=path``, e.g. ``=conditions[1].kind``) is dropped; a field listed more than
once (``conditions[0].attachments``) or whose name ends in ``[]`` becomes a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_PART = re.compile(r"([^.\[\]]+)|\[(\d{1,2})\]")
_NAME = re.compile(r"=?[A-Za-z_][A-Za-z0-9_]*(\[\d{1,2}\])*(\.[A-Za-z_][A-Za-z0-9_]*(\[\d{1,2}\])*)*(\[\])?")
_CONST = "\0const"
LIST_FIELDS = ("attachments",)


def _steps(name: str) -> list[str | int]:
    return [int(idx) if idx else key for key, idx in _PART.findall(name)]


def unflatten(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A nested document from ``(name, value)`` pairs; names that are not paths are ignored."""
    return unflatten_tracked(pairs)[0]


def unflatten_tracked(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The document, and where each list item that moved came from in the form.

    Dropping an empty list item renumbers those after it: with only the form's second
    condition filled, the document's ``conditions[0]`` is the form's ``conditions[1]``.
    The second value maps such document paths to form paths (``{"conditions[0]":
    "conditions[1]"}``) so that errors reported on the document land on the right field.
    """
    root: dict[str, Any] = {}
    for raw_name, value in pairs:
        if not _NAME.fullmatch(raw_name) or raw_name in ("csrf_token",):
            continue
        const = raw_name.startswith("=")
        name = raw_name[1:] if const else raw_name
        as_list = name.endswith("[]") or name.rsplit(".", 1)[-1] in LIST_FIELDS
        name = name.removesuffix("[]")
        value = value.strip()
        if not value:
            continue
        steps = _steps(name)
        node: Any = root
        for step, nxt in zip(steps, steps[1:]):
            if isinstance(step, int):
                while len(node) <= step:
                    node.append(None)
                if node[step] is None:
                    node[step] = [] if isinstance(nxt, int) else {}
                node = node[step]
            else:
                node = node.setdefault(step, [] if isinstance(nxt, int) else {})
        last = steps[-1]
        if isinstance(last, int) or not isinstance(node, dict):
            continue
        if as_list:
            node.setdefault(last, []).append(value)
        else:
            node[last] = (_CONST, value) if const else value
    moves: dict[str, str] = {}
    return _prune(root, "", "", moves), moves


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _prune(value: Any, form_path: str, doc_path: str, moves: dict[str, str]) -> Any:
    """Drop holes and containers holding only constants; unwrap the constants; note in
    ``moves`` each list item whose document path differs from its form path."""
    if isinstance(value, dict):
        out = {k: _prune(v, _join(form_path, k), _join(doc_path, k), moves) for k, v in value.items()}
        out = {k: v for k, v in out.items() if v is not None}
        if out and all(isinstance(value.get(k), tuple) for k in out):
            return None
        return out
    if isinstance(value, list):
        kept: list[Any] = []
        for i, item in enumerate(value):
            new_path = f"{doc_path}[{len(kept)}]"
            trial: dict[str, str] = {}
            pruned = _prune(item, f"{form_path}[{i}]", new_path, trial)
            if pruned is None or pruned == {}:
                continue
            if len(kept) != i:
                moves[new_path] = f"{form_path}[{i}]"
            moves.update(trial)
            kept.append(pruned)
        return kept
    if isinstance(value, tuple) and value[:1] == (_CONST,):
        return value[1]
    return value


def form_path(path: str, moves: dict[str, str]) -> str:
    """The form field a document path (of an error) belongs to, given ``moves`` from
    :func:`unflatten_tracked`; the innermost moved item decides."""
    best = ""
    for moved in moves:
        if len(moved) > len(best) and (path == moved or path.startswith((moved + ".", moved + "["))):
            best = moved
    return moves[best] + path[len(best) :] if best else path


def form_values(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The fields exactly as typed (names of list fields map to lists), to refill the form
    after an error and to keep as the server-side draft: nothing moves, nothing is lost."""
    out: dict[str, Any] = {}
    for raw_name, value in pairs:
        if raw_name.startswith("=") or raw_name == "csrf_token" or not _NAME.fullmatch(raw_name):
            continue
        name = raw_name.removesuffix("[]")
        if raw_name.endswith("[]") or name.rsplit(".", 1)[-1] in LIST_FIELDS:
            if value.strip():
                out.setdefault(name, []).append(value.strip())
        else:
            out[name] = value
    return out


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    """``{path: value}`` for every leaf (lists of strings stay lists): to refill a form."""
    out: dict[str, Any] = {}
    if isinstance(document, dict):
        for key, value in document.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else key))
    elif isinstance(document, list) and not all(isinstance(v, str) for v in document):
        for i, value in enumerate(document):
            out.update(flatten(value, f"{prefix}[{i}]"))
    else:
        out[prefix] = document
    return out
