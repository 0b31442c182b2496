"""``diff``: compare two versions of an asset and explain why they differ."""

from __future__ import annotations

import argparse
from typing import Any

from ..diff import diff_versions
from ..diff.result import VersionDiff, short
from .common import UsageError, add_format_arg, add_store_args, console, open_store, print_document, print_json, table


def _sample_tables(d: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, columns, rows) for each non-empty sample class of a table diff."""
    out = []
    samples = d.get("samples") or {}
    keys = d.get("keys") or []
    for cls in ("added", "removed"):
        rows = samples.get(cls) or []
        if rows:
            cols = list(rows[0])
            title = f"{cls} rows (first {len(rows)})"
            if d.get("mode") == "unkeyed":
                title = f"rows only in {'B' if cls == 'added' else 'A'} (first {len(rows)}; __count = times)"
            out.append((title, cols, [[short(r.get(c)) for c in cols] for r in rows]))
    changed = samples.get("changed") or []
    if changed:
        rows = []
        for ch in changed:
            key = ", ".join(short(ch["key"][k]) for k in keys)
            for i, (col, cell) in enumerate(ch["changes"].items()):
                rows.append([key if i == 0 else "", col, short(cell["from"]), short(cell["to"])])
        out.append((f"changed rows (first {len(changed)})", [", ".join(keys) or "key", "column", "A", "B"], rows))
    dups = (d.get("duplicates") or {}).get("examples") or []
    if dups:
        rows = [[", ".join(short(e["key"][k]) for k in keys), str(e["rows_a"]), str(e["rows_b"])] for e in dups]
        out.append(("duplicate keys (left out)", [", ".join(keys), "rows in A", "rows in B"], rows))
    return out


def _num(value: Any, width: int) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return short(value, width) if value is not None else ""


def _stats_rows(d: dict[str, Any]) -> list[list[str]]:
    rows = []
    for col, sides in (d.get("stats") or {}).items():
        a, b = sides.get("a") or {}, sides.get("b") or {}
        cells = []
        changed = False
        for name in ("null_count", "min", "max", "mean"):
            x, y = a.get(name), b.get(name)
            if x == y:
                cells.append(_num(x, 24))
            else:
                changed = True
                cells.append(f"{_num(x, 20) or 'null'} -> {_num(y, 20) or 'null'}")
        if changed or not a or not b:
            rows.append([col] + cells)
    return rows


def render_table(result: VersionDiff) -> None:
    out = console()
    for line in result.summary():
        out.print(line, soft_wrap=True)
    d = result.to_dict()
    for title, cols, rows in _sample_tables(d):
        out.print(table(title, cols, rows))
    stats = _stats_rows(d)
    if stats:
        out.print(table("column statistics that changed (from the sidecars)", ["column", "nulls", "min", "max", "mean"], stats))


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(cols: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md_escape(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_md_escape(str(c)) for c in r) + " |" for r in rows]
    return lines


def render_markdown(result: VersionDiff) -> str:
    summary = result.summary()
    lines = [f"## {summary[0]}", ""]
    for s in summary[1:]:
        if s in ("metadata:", "why:"):
            lines += ["", f"**{s[:-1]}**", ""]
        elif s.strip():
            lines.append(f"- {_md_escape(s.strip())}")
    d = result.to_dict()
    for title, cols, rows in _sample_tables(d):
        lines += ["", f"### {title}", ""] + _md_table(cols, rows)
    stats = _stats_rows(d)
    if stats:
        lines += ["", "### column statistics that changed", ""] + _md_table(["column", "nulls", "min", "max", "mean"], stats)
    return "\n".join(lines) + "\n"


def cmd_diff(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    if args.key and args.no_key:
        raise UsageError("--key and --no-key cannot be used together")
    store = open_store(args)
    result = diff_versions(
        store, args.asset, args.run_a, args.run_b, keys=args.key or (), tolerance=args.tolerance,
        limit=args.limit, unkeyed=args.no_key,
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
    p.add_argument("run_a", metavar="RUN_A", help="run id, 'latest' or 'previous'")
    p.add_argument("run_b", metavar="RUN_B", help="run id, 'latest' or 'previous'")
    p.add_argument("--key", "-k", action="append", default=[], metavar="COL",
                   help="key column of a table (repeatable); default: the keys declared in the sidecars")
    p.add_argument("--no-key", action="store_true", help="compare whole rows as a multiset even if keys are declared")
    p.add_argument("--tolerance", type=float, default=0.0, metavar="X",
                   help="absolute tolerance for numeric values (default 0)")
    p.add_argument("--limit", type=int, default=10, metavar="N", help="sample rows per class (default 10)")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when the contents differ (as git diff --exit-code)")
    add_format_arg(p, ("table", "json", "markdown"))
    p.set_defaults(func=cmd_diff)
