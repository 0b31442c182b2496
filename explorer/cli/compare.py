"""``compare`` (runs side by side: hashes, row counts, metadata and JSON metrics) and
``diff-runs`` (what changed between two whole runs)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.text import Text

from ..compare import CHANGED, DEFAULT_RUNS, EQUAL, KIND_TEXT, ONLY_A, ONLY_B, RunGrid, RunsDiff
from ..humanize import counted
from ..models import short_hash
from ..names import run_label
from .common import console, add_format_arg, add_store_args, open_store, print_document, print_json, print_table, table, text

WIDE = 100
"""Below this many columns ``diff-runs`` lists each asset with its details on their own lines."""
KIND_STYLE = {CHANGED: "yellow", EQUAL: "green", ONLY_A: "red", ONLY_B: "cyan"}


def _short(value: Any) -> Any:
    """Hashes as the rest of the CLI shows them (algorithm and 12 characters); floats compact."""
    if isinstance(value, str) and value.startswith(("sha256:", "dagster-data-version:", "unhashed:")):
        return short_hash(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def _heading(run_id: str) -> str:
    return run_label(run_id) or run_id


def _grid_table(grid: RunGrid, args: argparse.Namespace):
    runs = [r.run_id for r in grid.runs]
    labels = [_heading(r) for r in runs]
    if len(set(labels)) < len(labels):
        labels = runs  # labels that repeat would hide which run a column is
    rows = []
    previous = None
    for row in grid.rows:
        if row.asset != previous:  # the asset on a line of its own, its facts indented below
            rows.append([text(row.asset, "bold"), text("")] + [text("")] * len(labels))
            previous = row.asset
        style = "bold yellow" if row.changed else ""
        values = [text("-", "dim") if v is None else text(_short(v), style) for v in row.values]
        rows.append([text("  " + row.fact, style), text("≠" if row.changed else "", "bold yellow")] + values)
    changed = sum(r.changed for r in grid.rows)
    title = f"{counted(len(runs), 'run')} compared: {counted(len(grid.rows), 'fact')}, {changed} changed"
    # the oldest runs (rightmost, newest first) give way first when the terminal is narrow
    return table(title, ["fact", "Δ"] + labels, rows, no_wrap=["fact", "Δ", *labels],
                 drop=list(reversed(labels[1:])), caption="≠: the runs that have it differ; -: not in that run")


def cmd_compare(args: argparse.Namespace) -> int:
    store = open_store(args)
    grid = store.compare(args.runs or None, args.asset or None, args.metric)
    if args.sort:
        grid = grid.sorted_by(args.sort, descending=args.desc)
    if args.changed:
        grid = grid.changed()
    if args.format == "json":
        print_json(grid.to_dict())
    elif args.format == "csv":
        print_document(grid.to_frame().to_csv(), "csv")
    else:
        print_table(_grid_table(grid, args), args)
    return 0


def _delta_text(d) -> str:
    parts = []
    if d.rows[0] is not None or d.rows[1] is not None:
        if d.rows[0] != d.rows[1]:
            parts.append(f"rows {d.rows[0] if d.rows[0] is not None else '-'} -> {d.rows[1] if d.rows[1] is not None else '-'}")
    for c in d.schema:
        if c.a is None:
            parts.append(f"+column {c.name} ({c.b})")
        elif c.b is None:
            parts.append(f"-column {c.name} ({c.a})")
        else:
            parts.append(f"column {c.name}: {c.a} -> {c.b}")
    for c in d.metadata:
        parts.append(f"metadata {c.name}: {c.a!r} -> {c.b!r}")
    if d.table_diff:
        parts.append(_table_diff_text(d.table_diff))
    return "\n".join(parts)


def _table_diff_text(td: dict) -> str:
    if td.get("same_content"):
        return "table: same content"
    rows = td.get("rows") or {}
    by = f" by {', '.join(td['keys'])}" if td.get("keys") else ""
    line = f"table{by}: " + ", ".join(f"{rows[k]} {k}" for k in ("added", "removed", "changed") if k in rows)
    cols = td.get("columns_changed") or {}
    if cols:
        line += "; changed values: " + ", ".join(f"{c} {n}" for c, n in cols.items())
    return line


def _render_runs_diff(diff: RunsDiff, args: argparse.Namespace) -> None:
    c = diff.counts()
    title = (f"{diff.a.run_id} -> {diff.b.run_id}: {c[CHANGED]} changed, {c[EQUAL]} same content, "
             f"{c[ONLY_A]} only in A, {c[ONLY_B]} only in B")
    out = console()
    if args.format != "tsv" and out.width < WIDE:  # a list: details get the whole width
        out.print(text(title, "bold"))
        for d in diff.assets:
            hashes = " -> ".join(_short(v.content_hash) if v else "-" for v in (d.a, d.b))
            out.print(Text.assemble(text(d.asset, "bold"), " ", text(KIND_TEXT[d.kind], KIND_STYLE[d.kind]),
                                    " ", text(hashes, "dim")))
            for line in _delta_text(d).splitlines():
                out.print(Text.assemble("  ", text(line)))
        return
    rows = []
    for d in diff.assets:
        rows.append([d.asset, text(KIND_TEXT[d.kind], KIND_STYLE[d.kind]),
                     _short(d.a.content_hash) if d.a else "", _short(d.b.content_hash) if d.b else "", _delta_text(d)])
    print_table(table(title, ["asset", "change", "hash A", "hash B", "details"], rows, no_wrap=["change", "hash A", "hash B"],
                      drop=["hash A", "hash B"]), args)


def cmd_diff_runs(args: argparse.Namespace) -> int:
    store = open_store(args)
    result = store.diff_runs(args.run_a, args.run_b, tables=args.tables)
    if args.format == "json":
        print_json(result.to_dict())
    else:
        _render_runs_diff(result, args)
    return 1 if args.exit_code and result.differs else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="runs side by side: content hashes, row counts, metadata and JSON metrics of their assets",
        description=(
            "A grid of facts x runs: for each asset the runs wrote, its content hash, its row count and each "
            "scalar metadata value; with --metric ASSET:PATH a value inside a JSON asset. Facts whose value "
            f"differs between the runs are marked. Runs: those named (ids, prefixes or labels), else the newest {DEFAULT_RUNS}."
        ),
    )
    add_store_args(p)
    p.add_argument("runs", nargs="*", metavar="RUN", help="runs to compare, in this order")
    p.add_argument("--asset", "-a", action="append", default=[], metavar="ASSET", help="only these assets (repeatable)")
    p.add_argument("--metric", "-m", action="append", default=[], metavar="ASSET:PATH",
                   help="a value inside a JSON asset, e.g. metrics/evaluation:auc (repeatable)")
    p.add_argument("--changed", action="store_true", help="only the facts whose value differs between the runs")
    p.add_argument("--sort", metavar="FACT", help="order the runs by a fact's value, e.g. metrics/evaluation:auc")
    p.add_argument("--desc", action="store_true", help="with --sort: largest first")
    add_format_arg(p, ("table", "json", "csv", "tsv"))
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "diff-runs",
        help="what changed between two whole runs: per asset changed / same content / only in one",
        description=(
            "Every asset either run wrote: changed content, same content (byte-identical), only in A, only in B; "
            "with row counts, schema and metadata changes, and with --tables each changed table's diff summary."
        ),
    )
    add_store_args(p)
    p.add_argument("run_a", metavar="A")
    p.add_argument("run_b", metavar="B")
    p.add_argument("--tables", action="store_true", help="diff each changed table (reads their data)")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when the runs differ")
    add_format_arg(p, ("table", "json", "tsv"))
    p.set_defaults(func=cmd_diff_runs)
