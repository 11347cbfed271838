"""OTLP's ``AnyValue`` and attribute lists as Python values; a span as the importer reads it;
the parser of a JSON text.

A value is the one field of an ``AnyValue`` object (``{"intValue": "3"}`` → 3: OTLP/JSON spells
64-bit integers as strings); an attribute list ``[{"key": …, "value": {…}}]`` is a dict. Both
readers of a JSON line use these: :mod:`hakaru.otel.reader` on parsed dicts, and
:mod:`hakaru.otel.otlp_structs` for the rare values it leaves undecoded (arrays, key-value
lists), so that both give the same values.

:func:`loads` is orjson's (the ``otel`` extra), else :mod:`json`'s — the same values for OTLP,
which has no NaN literals nor integers beyond 64 bits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["ERROR_CODES", "Attributes", "Batch", "Span", "attributes", "loads", "value_of"]

loads: Callable[[bytes], Any]  # the parser of a JSON text (tests run both)
try:
    from orjson import loads
except ImportError:  # the otel extra brings orjson
    loads = json.loads

Attributes = dict[str, Any]
# A span as the importer reads it: trace id, span id, start and end (ns since the epoch), its
# attributes, the span ids its links name in its own trace (None: none), whether its status is
# ERROR, and the status message. ``None`` stands for a span without ids or times (a counted skip).
Span = tuple[str, str, int, int, Attributes, list[str] | None, bool, Any]
Batch = tuple[Attributes, list[Span | None]]  # a resource's attributes, spans of one scope
ERROR_CODES = (2, "STATUS_CODE_ERROR")  # a span status of ERROR: the enum's number or its name


def _same(v: Any) -> Any:
    return v


def _array(v: Any) -> list[Any]:
    return [value_of(x) for x in v.get("values", ())]


def _kvlist(v: Any) -> Attributes:
    return attributes(v.get("values", ()))


# The Python value of each field of an OTLP ``AnyValue``, by the field's name.
DECODE: dict[str, Callable[[Any], Any]] = {
    "stringValue": _same,
    "boolValue": _same,
    "doubleValue": _same,
    "intValue": int,
    "arrayValue": _array,
    "kvlistValue": _kvlist,
    "bytesValue": _same,
}


def value_of(value: dict[str, Any]) -> Any:
    """The Python value of an OTLP ``AnyValue`` (``{"intValue": "3"}`` → 3)."""
    for kind, v in value.items():
        decode = DECODE.get(kind)
        if decode is not None:
            return decode(v)
    return None


def attributes(items: Any) -> Attributes:
    """An OTLP attribute list (``[{"key": …, "value": {…}}]``) as a dict."""
    if not isinstance(items, list):
        return {}
    try:  # every item well formed: one comprehension, strings and ints read inline (per span)
        return {
            item["key"]: (
                s
                if (s := (v := item["value"]).get("stringValue")) is not None
                else int(i)
                if (i := v.get("intValue")) is not None
                else value_of(v)
            )
            for item in items
        }
    except (KeyError, TypeError, AttributeError, ValueError):
        return _attributes_one_by_one(items)


def _attributes_one_by_one(items: list[Any]) -> Attributes:
    """:func:`attributes` of a list with malformed items: those are ``None`` or left out."""
    out: Attributes = {}
    for item in items:
        try:
            value = item["value"]
            kind, v = next(iter(value.items()))  # the one field of an AnyValue
            if kind == "intValue":
                v = int(v)
            elif kind != "stringValue" and kind != "doubleValue" and kind != "boolValue":
                v = value_of(value)
            out[item["key"]] = v
        except (KeyError, TypeError, AttributeError, StopIteration, ValueError):
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                out[item["key"]] = None  # an attribute without a value we can read
    return out
