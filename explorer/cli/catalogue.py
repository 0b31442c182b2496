"""sql, export, versions, find, flag, unflag, flags: each one library call and a renderer."""

from __future__ import annotations

import argparse
import io
import math
import sys
from ..models import iso, short_hash
from ..names import run_label
from ..humanize import counted
from .common import (
    add_partition_arg,
    print_table,
    UsageError,
    add_format_arg,
    add_store_args,
    console,
    human_size,
    TerminalConsole,
    open_store,
    print_document,
    print_json,
    short_time,
    styled_status,
    table,
)

MAX_TABLE_ROWS = 1000


def _cell(value) -> str:
    """A value as shown in a table cell: empty for nulls (``table`` makes it visible text).
    A pandas null (``NA``, ``NaT``) can only come from pandas, so pandas is asked only when
    something imported it (flags and query results are shown without importing it)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    pd = sys.modules.get("pandas")
    try:
        if pd is not None and not isinstance(value, (list, dict, tuple)) and bool(pd.isna(value)):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def _write(text: str, output: str | None, kind: str = "text") -> None:
    """To FILE exactly as made, or to standard output through the output boundary."""
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        print_document(text, kind)


def _write_lines(lines, output: str | None, kind: str = "text") -> None:
    """As ``_write``, a line at a time (a large export is never held whole)."""
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.writelines(lines)
    else:
        for line in lines:
            print_document(line, kind)


def cmd_sql(args: argparse.Namespace) -> int:
    store = open_store(args)
    if args.format == "parquet" and not args.output:
        raise UsageError("--format parquet needs --output FILE")
    result = store.sql(args.query, as_arrow=True, allow_files=args.allow_files)
    if args.format == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(result, args.output)
        return 0
    from . import records

    if args.format == "csv":
        _write(records.to_csv(result), args.output, "csv")
    elif args.format == "json":
        _write(records.to_json(result), args.output, "json")
    else:
        n = result.num_rows
        title = counted(n, "row") + (f" (first {MAX_TABLE_ROWS} shown; use --format csv)" if n > MAX_TABLE_ROWS else "")
        rows = records.cells(result, MAX_TABLE_ROWS)
        if args.output:
            buf = io.StringIO()
            TerminalConsole(file=buf, width=200).print(table(title, [_cell(c) for c in result.column_names], rows))
            _write(buf.getvalue(), args.output)
        else:
            console().print(table(title, [_cell(c) for c in result.column_names], rows))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .. import export

    store = open_store(args)
    if args.format == "openlineage":
        _write_lines(export.openlineage_lines(store), args.output, "json")
        return 0
    g = store.asset_graph()
    statuses = export.asset_statuses(store)
    text = export.to_mermaid(g, statuses) if args.format == "mermaid" else export.to_dot(g, statuses)
    _write(text, args.output)
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    from ..catalogue import version_records

    store = open_store(args)
    # the records, not the DataFrame: no pandas to import, and numbers exactly as written
    # (pandas' to_json kept 10 significant digits: an auc of 0.123456789012 printed 0.123456789)
    records, columns = version_records(store, args.asset)
    if args.format == "json":
        print_json([{**r, "created_at": iso(r["created_at"])} for r in records])
        return 0
    meta = [c for c in columns if c.startswith("metadata.")]
    rows = [
        (
            r["run_id"],
            short_time(iso(r["created_at"])),
            styled_status(r["status"] or ""),
            styled_status("tainted") if r["tainted"] else "",
            short_hash(r["content_hash"]),
            (run_label(r["same_as"]) or r["same_as"]) if isinstance(r["same_as"], str) else "",
            human_size(r["size_bytes"]),
            _cell(r["rows"]),
            r["code_version"] or "",
            *(_cell(r[c]) for c in meta),
        )
        for r in records
    ]
    print_table(table(f"{counted(len(records), 'version')} of {args.asset}", ["run", "created", "run status", "taint", "hash", "same as", "size", "rows", "code", *meta], rows,
                      drop=(*reversed(meta), "code", "taint", "same as", "rows", "size", "run status"), no_wrap=["same as"],
                      caption="same as: an earlier run with byte-identical content" if any(r["same_as"] for r in records) else None), args)
    return 0


def _built_from(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--built-from {pair!r} is not ASSET=RUN_ID or ASSET=HASH")
        key, ref = pair.split("=", 1)
        out[key] = ref
    if not out:
        raise UsageError("find needs at least one --built-from ASSET=RUN_ID|HASH")
    return out


def cmd_find(args: argparse.Namespace) -> int:
    store = open_store(args)
    found = store.find(args.asset, built_from=_built_from(args.built_from))
    if args.format == "json":
        print_json([v.to_dict() for v in found])
        return 0
    tainted = store.tainted()
    rows = [
        (v.run_id, short_time(iso(v.created_at)), v.short_hash, v.code_version or "",
         styled_status("tainted") if (v.asset, v.run_id) in tainted else "")
        for v in found
    ]
    print_table(table(f"{counted(len(found), 'version')} of {args.asset} built from {', '.join(args.built_from)}",
                          ["run", "created", "hash", "code", "taint"], rows, drop=("taint", "code")), args)
    return 0


def _flag_cmd(action: str):
    def run(args: argparse.Namespace) -> int:
        store = open_store(args)
        method = store.flag if action == "flag" else store.unflag
        flag = method(args.asset, args.run, args.reason, author=args.author)
        if args.format == "json":
            print_json(flag.to_dict())
        else:
            what = "flagged" if action == "flag" else "unflagged"
            console().print(f"{what} {flag.asset} in run {flag.run_id} ({flag.author}, {short_time(iso(flag.created_at))}): {flag.reason}")
            if action == "flag":
                n = len([k for k, src in store.tainted().items() if (flag.asset, flag.run_id) in src]) - 1
                console().print(f"{counted(n, 'version')} built from it {'is' if n == 1 else 'are'} now tainted")
        return 0

    return run


def cmd_flags(args: argparse.Namespace) -> int:
    store = open_store(args)
    flags = store.flags() if args.all else list(store.active_flags().values())
    if args.format == "json":
        print_json([f.to_dict() for f in flags])
        return 0
    rows = [(f.action, _cell(f.asset), f.run_id, _cell(f.author), short_time(iso(f.created_at)), _cell(f.reason)) for f in flags]
    title = (f"{counted(len(flags), 'flag')} and retractions" if args.all else counted(len(flags), "active flag")) + f" in {store.url}"
    print_table(table(title, ["action", "asset", "run", "author", "time", "reason"], rows, drop=("time", "action", "author")), args)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sql", help="run SQL (DuckDB) over the store's tables and its runs/versions metadata")
    add_store_args(p)
    p.add_argument("query", metavar="QUERY", help='e.g. "select count(*) from features" or \'select * from "features@RUN"\'')
    add_format_arg(p, ("table", "csv", "json", "parquet"))
    p.add_argument("--output", metavar="FILE", help="write the result to FILE (required for parquet)")
    p.add_argument("--allow-files", action="store_true",
                   help="let the query read local files too (read_csv('/path/x.csv'), glob(...)); by default SQL "
                        "reads only the store's own data. Nothing is ever written either way")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("export", help="the asset graph as mermaid or dot, or the runs as OpenLineage events")
    add_store_args(p)
    add_format_arg(p, ("mermaid", "dot", "openlineage"), default="mermaid")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("versions", help="every version of an asset, newest first")
    add_store_args(p)
    p.add_argument("asset", metavar="ASSET")
    add_partition_arg(p)
    add_format_arg(p, ("table", "json", "tsv"))
    p.set_defaults(func=cmd_versions)

    p = sub.add_parser("find", help="versions of an asset built from a given version (by run or content hash)")
    add_store_args(p)
    p.add_argument("asset", metavar="ASSET")
    p.add_argument("--built-from", action="append", default=[], metavar="ASSET=RUN_ID|HASH",
                   help="an upstream version (repeatable: all must be in the provenance)")
    add_format_arg(p, ("table", "json", "tsv"))
    p.set_defaults(func=cmd_find)

    for action, text in (("flag", "mark a version as bad (appends a flag to the store)"),
                         ("unflag", "retract a flag (appends a retraction; nothing is deleted)")):
        p = sub.add_parser(action, help=text)
        add_store_args(p)
        p.add_argument("asset", metavar="ASSET")
        p.add_argument("run", metavar="RUN")
        p.add_argument("--reason", required=True, help="why (stored with the flag)")
        p.add_argument("--author", help="default: $FRONTIER_EXPLORE_AUTHOR, else $USER / $LOGNAME")
        add_format_arg(p)
        p.set_defaults(func=_flag_cmd(action))

    p = sub.add_parser("flags", help="the active flags of a store")
    add_store_args(p)
    p.add_argument("--all", action="store_true", help="every flag and retraction, oldest first")
    add_format_arg(p, ("table", "json", "tsv"))
    p.set_defaults(func=cmd_flags)
