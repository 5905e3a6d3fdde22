"""Strict JSON request bodies: the right media type, an object, no duplicate members."""

from __future__ import annotations

import json

from flask import request

from govcred.core.exceptions import FieldError, GovcredError, ValidationError


class UnsupportedMediaType(GovcredError):
    """The request body must be application/json."""

    code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415


def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError(f"duplicate member {k!r}")
        seen[k] = v
    return seen


def json_body() -> dict:
    """The request's JSON object; 415 for another media type, 422 for bad JSON."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("请求体必须是 application/json")
    try:
        data = json.loads(request.get_data(as_text=True) or "null", object_pairs_hook=_no_duplicates)
    except ValueError as exc:
        raise ValidationError([FieldError("", "JSON_INVALID", f"JSON 格式错误: {exc}")]) from None
    if not isinstance(data, dict):
        raise ValidationError([FieldError("", "JSON_NOT_OBJECT", "请求体必须是 JSON 对象")])
    return data
