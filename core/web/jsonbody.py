"""Strict JSON request bodies: the right media type, an object, no duplicate members, bounded nesting."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from govcred.core.exceptions import FieldError, GovcredError, ValidationError

#: No request govcred serves nests deeper than a handful of levels; the bound keeps a hostile
#: body from costing a deep recursion (and the parser's RecursionError from becoming a 500).
MAX_JSON_DEPTH = 32


class UnsupportedMediaType(GovcredError):
    """The request body must be application/json."""

    code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415


class JsonTooDeep(GovcredError):
    """The body nests objects/arrays deeper than :data:`MAX_JSON_DEPTH`."""

    code = "JSON_TOO_DEEP"
    http_status = 400


def _too_deep() -> JsonTooDeep:
    return JsonTooDeep(f"JSON 嵌套层数过多：最多 {MAX_JSON_DEPTH} 层")


def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError(f"duplicate member {k!r}")
        seen[k] = v
    return seen


def _deeper_than(value: Any, allowed: int) -> bool:
    """True if objects/arrays nest more than ``allowed`` levels; never recurses past that."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    if children is None:
        return False
    return allowed == 0 or any(_deeper_than(child, allowed - 1) for child in children)


#: Built once: ``json.loads`` with a hook builds a new decoder on every call.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates)


def json_body() -> dict:
    """The request's JSON object; 415 for another media type, 400 when nested too deep, 422 for bad JSON."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("请求体必须是 application/json")
    try:
        data = _DECODER.decode(request.get_data(as_text=True) or "null")
    except RecursionError:  # the C parser's own guard, far deeper than our bound
        raise _too_deep() from None
    except ValueError as exc:
        raise ValidationError([FieldError("", "JSON_INVALID", f"JSON 格式错误: {exc}")]) from None
    if _deeper_than(data, MAX_JSON_DEPTH):
        raise _too_deep()
    if not isinstance(data, dict):
        raise ValidationError([FieldError("", "JSON_NOT_OBJECT", "请求体必须是 JSON 对象")])
    return data
