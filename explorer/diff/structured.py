"""JSON diffs: paths added, removed and changed, with old and new values."""

from __future__ import annotations

import math
import re
from typing import Any

from .result import PathChange, PathValue, StructuredDiff, jsonable

MAX_ENTRIES = 10_000  # per class; a diff of two huge documents stays printable
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _child(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = str(key)
    if _PLAIN.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


def _equal_scalar(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        if a == b:
            return True
        return tolerance > 0 and abs(a - b) <= tolerance
    return type(a) is type(b) and a == b


def diff_json(a: Any, b: Any, tolerance: float = 0.0) -> StructuredDiff:
    """Compare two JSON values. Dicts compare by key, lists by position."""
    added: list[PathValue] = []
    removed: list[PathValue] = []
    changed: list[PathChange] = []

    def walk(x: Any, y: Any, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for k in x:
                if k in y:
                    walk(x[k], y[k], _child(path, k))
                elif len(removed) < MAX_ENTRIES:
                    removed.append(PathValue(_child(path, k), jsonable(x[k])))
            for k in y:
                if k not in x and len(added) < MAX_ENTRIES:
                    added.append(PathValue(_child(path, k), jsonable(y[k])))
            return
        if isinstance(x, list) and isinstance(y, list):
            for i in range(min(len(x), len(y))):
                walk(x[i], y[i], _child(path, i))
            for i in range(len(y), len(x)):
                if len(removed) < MAX_ENTRIES:
                    removed.append(PathValue(_child(path, i), jsonable(x[i])))
            for i in range(len(x), len(y)):
                if len(added) < MAX_ENTRIES:
                    added.append(PathValue(_child(path, i), jsonable(y[i])))
            return
        if isinstance(x, (dict, list)) or isinstance(y, (dict, list)) or not _equal_scalar(x, y, tolerance):
            if len(changed) < MAX_ENTRIES:
                changed.append(PathChange(path or "$", jsonable(x), jsonable(y)))

    walk(a, b, "")
    return StructuredDiff(tuple(added), tuple(removed), tuple(changed))
