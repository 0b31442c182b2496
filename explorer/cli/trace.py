"""trace: one decision back to the exact source rows it came from."""

from __future__ import annotations

import argparse
import json

from typing import TYPE_CHECKING

from rich.text import Text

from ..humanize import counted
from ..models import short_hash
from .common import add_partition_arg, UsageError, add_format_arg, add_store_args, console, human_size, open_store, print_document, print_json, table, text

if TYPE_CHECKING:
    from ..trace import TraceResult

MAX_SHOWN_ROWS = 50  # per step in the table view; json and markdown carry every row


def parse_where(items: list[str]) -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for item in items:
        col, sep, value = item.partition("=")
        col = col.strip()
        if not sep or not col:
            raise UsageError(f"--where expects COLUMN=VALUE, got {item!r}")
        where.setdefault(col, []).append(value)
    if not where:
        raise UsageError("trace needs at least one --where COLUMN=VALUE")
    return where


def _rows_table(title: str | None, rows) -> object:
    cols: list[str] = []
    for r in rows:
        for c in r:
            if c not in cols:
                cols.append(c)
    shown = rows[:MAX_SHOWN_ROWS]
    body = [[r.get(c) for c in cols] for r in shown]
    caption = f"{counted(len(rows) - len(shown), 'more row')} (use --format json or markdown)" if len(rows) > len(shown) else None
    return table(title, cols, body, caption=caption, title_justify="left",
                 drop=cols[:0:-1], no_wrap=cols)  # values whole; columns that do not fit named


def render_table(result: TraceResult) -> None:
    out = console()
    root = result.root
    where = " and ".join(f"{k}=" + "|".join(str(v) for v in vals) for k, vals in root.to_dict()["where"].items())
    out.print(text(f"Trace of {root.asset} where {where}", "bold"))
    out.print(
        f"decision: {root.asset} @ {root.run_id}  {short_hash(root.content_hash)}  "
        f"code {root.facts.get('code_version') or '-'}  "
        + (f"job {root.facts['job']} " if root.facts.get("job") else "run ")
        + f"({root.facts.get('run_status')})  {counted(len(root.rows), 'row')}"
    )
    out.print(_rows_table(None, list(root.rows)))
    for n, s in enumerate(result.steps, 1):
        out.print()
        head = Text.assemble(text(f"{n}. {s.asset}", "bold"), text(f" @ {s.run_id}  {short_hash(s.content_hash)}  {s.kind}"))
        out.print(head)
        readers = ", ".join(f"{c.asset} @ {c.run_id}" for c in s.consumers)
        if readers:
            out.print(f"   read by: {readers}")
        facts = s.facts
        line = []
        if facts.get("code_version"):
            line.append(f"code {facts['code_version']}")
        if facts.get("job"):
            line.append(f"job {facts['job']} ({facts.get('run_status')})")
        if facts.get("size_bytes") is not None:
            line.append(human_size(facts["size_bytes"]))
        if facts.get("num_rows") is not None:
            line.append(f"{facts['num_rows']} rows in version")
        if line:
            out.print("   " + "  ".join(line))
        if facts.get("metadata"):
            out.print("   metadata: " + json.dumps(facts["metadata"], sort_keys=True, default=str))
        if s.kind == "table" and s.traceable:
            out.print(
                f"   matched on {', '.join(s.matched_on)} ({s.match_kind.replace('_', ' ')}): "
                + counted(len(s.rows), "row")
            )
        elif s.kind == "table":
            out.print(text("   not traceable by row", "yellow") if not s.matched_on else text("   rows could not be read", "red"))
        if s.note:
            out.print(text(f"   {s.note}", "dim"))
        if s.kind == "table" and s.traceable and s.rows:
            out.print(_rows_table(None, list(s.rows)))
        if "content" in facts:
            content = json.dumps(facts["content"], sort_keys=True, default=str)
            out.print("   content: " + (content if len(content) <= 600 else content[:600] + " ..."))
        if "array" in facts:
            out.print(f"   array: shape {tuple(facts['array']['shape'])}, dtype {facts['array']['dtype']}")


def cmd_trace(args: argparse.Namespace) -> int:
    where = parse_where(args.where)
    store = open_store(args)
    result = store.trace(args.asset, args.run, where)
    if args.format == "json":
        print_json(result.to_dict())
    elif args.format == "markdown":
        from ..trace import render_markdown

        print_document(render_markdown(result, store.url))
    else:
        render_table(result)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trace",
        help="trace rows of a table (a decision) back to the exact source rows",
        description=(
            "Select the rows of ASSET matching --where, then walk the exact upstream versions "
            "they were built from (across runs) and show the rows of the same entity in each, "
            "and the facts of models and other objects on the way."
        ),
    )
    add_store_args(p)
    p.add_argument("asset", metavar="ASSET", help="asset key of a table, e.g. scores")
    add_partition_arg(p)
    p.add_argument("--run", help="run id of the version (default: the latest)")
    p.add_argument(
        "--where",
        "-w",
        action="append",
        default=[],
        metavar="COL=VALUE",
        required=True,
        help="select rows (repeatable: different columns are ANDed, repeated columns ORed)",
    )
    add_format_arg(p, ("table", "json", "markdown"))
    p.set_defaults(func=cmd_trace)
