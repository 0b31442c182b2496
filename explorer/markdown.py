"""Markdown for reports (``stale``, ``diff`` and ``trace`` with ``--format markdown``): one
escaping rule for store strings in table cells, one table builder."""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence


def cell(value: Any, newline: str = " ") -> str:
    """A value as the text of a table cell: ``None`` empty, backslashes and ``|`` escaped (a
    store string cannot add columns), line breaks as ``newline`` (``"<br>"`` keeps them)."""
    if value is None:
        return ""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "\n").replace("\n", newline)


def table(columns: Sequence[Any], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A table's lines: a header, the rule, a line per row, every cell through :func:`cell`."""
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return lines


def records_table(rows: Iterable[Mapping[str, Any]]) -> str:
    """Records (dicts) as a table with every key any of them has, in first-seen order."""
    rows = list(rows)
    if not rows:
        return "_no rows_"
    columns = list(dict.fromkeys(c for r in rows for c in r))
    return "\n".join(table(columns, ([r.get(c) for c in columns] for r in rows)))


def code(value: Any) -> str:
    """A store string as inline code in a table cell: a fence longer than any run of backticks
    in it (so it cannot close early), ``|`` escaped, line breaks as spaces."""
    text = str(value).replace("|", "\\|").replace("\r\n", "\n").replace("\n", " ")
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
