"""``diff``: compare two versions of an asset and explain why they differ."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..markdown import cell as md_cell, table as md_table
from .common import UsageError, add_format_arg, add_partition_arg, add_store_args, open_store, print_document, print_json

if TYPE_CHECKING:  # the diff (pyarrow, networkx) is imported when a diff runs, not for --help
    from ..diff.result import VersionDiff


def short(*args, **kwargs) -> str:
    from ..diff.result import short

    return short(*args, **kwargs)


def inline_change(*args, **kwargs) -> str:
    from ..diff.result import inline_change

    return inline_change(*args, **kwargs)


def _cell_pair(cell) -> tuple[str, str]:
    """A changed cell's two values for a 40-character column: strings around their first difference."""
    from ..diff.result import around

    if isinstance(cell.a, str) and isinstance(cell.b, str):
        return around(cell.a, cell.b, 40)
    return short(cell.a), short(cell.b)


def _is_long(cell) -> bool:
    """Two strings too long for a 40-character column: the table adds their first difference in place."""
    return (isinstance(cell.a, str) and isinstance(cell.b, str)
            and (max(len(cell.a), len(cell.b)) > 40 or cell.length_a is not None or cell.length_b is not None))


def _sample_tables(result: VersionDiff) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, columns, rows) for each non-empty sample class of a table diff."""
    t = result.table
    if t is None:
        return []
    out = []
    keys = list(t.keys)
    for cls, rows in (("added", t.samples.added), ("removed", t.samples.removed)):
        if rows:
            cols = list(rows[0])
            title = f"{cls} rows (first {len(rows)})"
            if t.mode == "unkeyed":
                title = f"rows only in {'B' if cls == 'added' else 'A'} (first {len(rows)}; __count = times)"
            out.append((title, cols, [[short(r.get(c)) for c in cols] for r in rows]))
    if t.samples.changed:
        rows = []
        long = any(_is_long(cell) for ch in t.samples.changed for cell in ch.changes)
        for ch in t.samples.changed:
            key = ", ".join(short(ch.key[k]) for k in keys)
            for i, cell in enumerate(ch.changes):
                rows.append([key if i == 0 else "", cell.column, *_cell_pair(cell)]
                            + ([inline_change(cell.a, cell.b, 40) if _is_long(cell) else ""] if long else []))
        out.append((f"changed rows (first {len(t.samples.changed)})",
                    [", ".join(keys) or "key", "column", "A", "B"] + (["first difference"] if long else []), rows))
    d = t.duplicates
    if d and d.examples:
        rows = [[", ".join(short(e.key[k]) for k in keys), str(e.rows_a), str(e.rows_b)] for e in d.examples]
        out.append(("duplicate keys (left out of the counts)", [", ".join(keys), "rows in A", "rows in B"], rows))
    for side, rows in (("A", d.unmatched_a if d else ()), ("B", d.unmatched_b if d else ())):
        if rows:
            cols = list(rows[0])
            out.append((f"rows of repeated keys only in {side} (first {len(rows)}; __count = times)", cols,
                        [[short(r.get(c)) for c in cols] for r in rows]))
    return out


def _num(value: Any, width: int) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return short(value, width) if value is not None else ""


def _stats_rows(result: VersionDiff) -> list[list[str]]:
    rows = []
    for col, sides in (result.table.stats if result.table else {}).items():
        cells = []
        changed = False
        for name in ("null_count", "min", "max", "mean"):
            x = getattr(sides.a, name) if sides.a else None
            y = getattr(sides.b, name) if sides.b else None
            if x == y:
                cells.append(_num(x, 24))
            else:
                changed = True
                cells.append(f"{_num(x, 20) or 'null'} -> {_num(y, 20) or 'null'}")
        if changed or not sides.a or not sides.b:
            rows.append([col] + cells)
    return rows


def render_table(result: VersionDiff) -> None:
    from .terminal import console, table  # (rich: the JSON and markdown outputs need none)

    out = console()
    for line in result.summary():
        out.print(line, soft_wrap=True)
    for title, cols, rows in _sample_tables(result):
        out.print(table(title, cols, rows))
    stats = _stats_rows(result)
    if stats:
        out.print(table("column statistics that changed (from the sidecars)", ["column", "nulls", "min", "max", "mean"], stats))


def render_markdown(result: VersionDiff) -> str:
    summary = result.summary()
    lines = [f"## {summary[0]}", ""]
    for s in summary[1:]:
        if s in ("metadata:", "why:"):
            lines += ["", f"**{s[:-1]}**", ""]
        elif s.strip():
            lines.append(f"- {md_cell(s.strip())}")
    for title, cols, rows in _sample_tables(result):
        lines += ["", f"### {title}", ""] + md_table(cols, rows)
    stats = _stats_rows(result)
    if stats:
        lines += ["", "### column statistics that changed", ""] + md_table(["column", "nulls", "min", "max", "mean"], stats)
    return "\n".join(lines) + "\n"


def _tolerance_args(values: list[str], option: str) -> list:
    """``X`` (every numeric column) or ``COLUMN=X`` (one column), repeatable."""
    out: list = []
    for text in values:
        col, sep, num = text.rpartition("=")
        try:
            x = float(num)
        except ValueError:
            raise UsageError(f"{option} takes X or COLUMN=X (a number), got {text!r}") from None
        out.append((col, x) if sep else x)
    return out


def cmd_diff(args: argparse.Namespace) -> int:
    from ..diff import diff_versions

    if args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    if args.key and args.no_key:
        raise UsageError("--key and --no-key cannot be used together")
    store = open_store(args)
    result = diff_versions(
        store, args.asset, args.run_a, args.run_b, keys=args.key or (), limit=args.limit, unkeyed=args.no_key,
        abs_tol=_tolerance_args(args.abs_tol + ([str(args.tolerance)] if args.tolerance is not None else []), "--abs-tol"),
        rel_tol=_tolerance_args(args.rel_tol, "--rel-tol"),
        ignore_spaces=args.ignore_spaces, ignore_case=args.ignore_case, ignore_column_case=args.ignore_column_case,
        exclude=args.exclude, columns=args.columns, redact=args.redact,
    )
    if args.format == "json":
        print_json(result.to_dict())
    elif args.format == "markdown":
        print_document(render_markdown(result))
    else:
        render_table(result)
    return 1 if args.exit_code and not result.same_content else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff",
        help="compare two versions of an asset and explain why they differ",
        description=(
            "Compare the versions of ASSET written by RUN_A and RUN_B (run ids, 'latest', or 'previous' "
            "= the version before the latest). Tables are compared in DuckDB by key (the --key columns, "
            "else the keys both versions declare) or as multisets of rows; JSON by path; arrays element-wise; "
            "pickles and bytes by content hash only."
        ),
    )
    add_store_args(p)
    p.add_argument("asset", metavar="ASSET")
    add_partition_arg(p)
    p.add_argument("run_a", metavar="RUN_A", help="run id, 'latest' or 'previous'")
    p.add_argument("run_b", metavar="RUN_B", help="run id, 'latest' or 'previous'")
    p.add_argument("--key", "-k", action="append", default=[], metavar="COL",
                   help="key column of a table (repeatable); default: the keys declared in the sidecars")
    p.add_argument("--no-key", action="store_true", help="compare whole rows as a multiset even if keys are declared")
    p.add_argument("--tolerance", type=float, default=None, metavar="X", help="the same as --abs-tol X")
    p.add_argument("--abs-tol", action="append", default=[], metavar="[COLUMN=]X",
                   help="absolute tolerance for numbers, for every column or one (repeatable): |a-b| <= abs + rel*|b|")
    p.add_argument("--rel-tol", action="append", default=[], metavar="[COLUMN=]X",
                   help="relative tolerance for numbers, for every column or one (repeatable)")
    p.add_argument("--ignore-spaces", action="store_true", help="text equal up to spaces at either end (values and keys)")
    p.add_argument("--ignore-case", action="store_true", help="text equal up to case (values and keys)")
    p.add_argument("--ignore-column-case", action="store_true", help="match column names whatever their case")
    p.add_argument("--exclude", action="append", default=[], metavar="COLUMN", help="leave a column out (repeatable)")
    p.add_argument("--columns", action="append", default=[], metavar="COLUMN",
                   help="compare only these columns and the keys (repeatable)")
    p.add_argument("--redact", action="append", default=[], metavar="COLUMN",
                   help="show a column's values as *** in samples and statistics (repeatable)")
    p.add_argument("--limit", type=int, default=10, metavar="N", help="sample rows per class (default 10)")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when the contents differ (as git diff --exit-code)")
    add_format_arg(p, ("table", "json", "markdown"))
    p.set_defaults(func=cmd_diff)
