"""catalog, report, serve: the store for people who do not use a terminal."""

from __future__ import annotations

import argparse
import time

from ..humanize import counted
from .common import UsageError, add_format_arg, add_store_args, console, err_console, open_store, print_json, text


def _check_output_option(args: argparse.Namespace) -> None:
    """``-o FILE`` is the storage-option flag everywhere: say so instead of "not KEY=VALUE"."""
    for pair in args.storage_option:
        if "=" not in pair:
            raise UsageError(f"-o is --storage-option KEY=VALUE; to write {pair!r} use --output {pair}")
    if not args.output:
        raise UsageError(f"{args.command} needs --output FILE")


def _store_state(store) -> tuple:
    """What a rewrite of the catalog depends on: the runs (status, assets) and the flags."""
    runs = tuple((r.run_id, r.status, r.asset_count) for r in store.runs)
    return runs, tuple(f.id for f in store.flags())


# ---------------------------------------------------------------------- catalog


def cmd_catalog(args: argparse.Namespace) -> int:
    from ..catalog_db import check_shareable, describe_s3_access, write_catalog

    _check_output_option(args)
    if args.watch is not None and args.watch <= 0:
        raise UsageError("--watch needs a positive number of seconds")
    store = open_store(args)
    check_shareable(store)
    summary = write_catalog(store, args.output)
    _report_catalog(summary, args)
    if args.format != "json":
        hint = describe_s3_access(store)
        if hint:
            console().print(text(hint))
    if args.watch is None:
        return 0
    state = _store_state(store)
    try:
        while True:
            time.sleep(args.watch)
            store.refresh()
            now = _store_state(store)
            if now != state:
                summary = write_catalog(store, args.output)
                state = now
                _report_catalog(summary, args)
    except KeyboardInterrupt:
        return 0


def _report_catalog(summary, args: argparse.Namespace) -> None:
    if args.format == "json":
        print_json(summary.to_dict())
        return
    kinds = {k: sum(1 for v in summary.views if v.kind == k) for k in ("latest", "version", "all")}
    console().print(text(
        f"wrote {summary.path}: {counted(kinds['latest'], 'asset')} at their latest version, "
        f"{counted(kinds['version'], 'version')}, {kinds['all']} all-versions views; "
        f"tables {', '.join(t for t in summary.tables if '.' in t)}"
    ), soft_wrap=True)
    for line in summary.skipped:
        err_console().print(text(f"warning: view not made: {line}", "yellow"))


# ---------------------------------------------------------------------- report


def cmd_report(args: argparse.Namespace) -> int:
    from .. import report

    _check_output_option(args)
    store = open_store(args)
    if args.format in ("svg", "png"):
        if args.asset or args.redact:
            raise UsageError(f"--format {args.format} draws the asset graph alone: --asset and --redact are for html")
        from ..export import asset_statuses

        report.graph_file(store.asset_graph(), asset_statuses(store), args.output, args.format)
    else:
        document = report.html_report(store, assets=args.asset, as_of=args.as_of, redact=args.redact)
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(document)
    console().print(text(f"wrote {args.output}"), soft_wrap=True)
    return 0


# ---------------------------------------------------------------------- serve


def cmd_serve(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("textual_serve") is None:
        raise UsageError("serve needs textual-serve: pip install 'frontier-explore[serve]'")
    from ..bundled import DEMO_STORE
    from ..config import resolve_store
    from ..store.fs import parse_storage_options
    from . import env_dagster_home
    from ..tui.serve import serve

    if not 0 < args.port < 65536:
        raise UsageError("--port needs a number from 1 to 65535")
    if args.watch is not None and args.watch <= 0:
        raise UsageError("--watch needs a positive number of seconds")
    try:
        options = parse_storage_options(args.storage_option)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    label = args.store or "demo store"
    url, options = resolve_store(args.store, options) if args.store else (str(DEMO_STORE), options)
    open_options = {"cache": not getattr(args, "no_cache", False), "dagster_home": args.dagster_home,
                    "stock_dagster_home": env_dagster_home()}
    from ..store import Store

    Store.open(url, options, **open_options)  # a bad store: one line here, not in every browser tab
    return serve(url, options, host=args.host, port=args.port, allow_flags=args.allow_flags, watch=args.watch,
                 open_options=open_options, label=label, public_url=args.public_url)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="the terminal app in a web browser (textual-serve); read-only unless --allow-flags")
    add_store_args(p)
    p.set_defaults(store=None)
    next(a for a in p._actions if a.dest == "store").nargs = "?"  # the bundled demo store when omitted
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only; "
                                                       "any other address needs the printed token)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--public-url", default=None, metavar="URL",
                   help="the address browsers reach the server at, when not http://HOST:PORT (a proxy)")
    p.add_argument("--allow-flags", action="store_true", help="let the browser flag and unflag versions (writes to the store)")
    p.add_argument("--watch", type=float, default=None, metavar="SECONDS", help="poll the store every SECONDS")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("report", help="one self-contained HTML report: asset graph, staleness, runs, provenance and history")
    add_store_args(p)
    p.add_argument("--output", metavar="FILE", help="the file to write (report.html)")
    p.add_argument("--asset", action="append", default=[], metavar="KEY",
                   help="add this asset's provenance, metadata and history (repeatable)")
    p.add_argument("--as-of", metavar="RUN|TIME", default=None, help="the store as it was after a run or at an ISO time")
    p.add_argument("--redact", action="store_true", help="hide metadata and tag values (keys stay)")
    p.add_argument("--format", "-f", choices=["html", "svg", "png"], default="html",
                   help="html (default), or the asset graph alone as svg/png through Graphviz's dot")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("catalog", help="write a DuckDB database of views over the store, for BI tools (Superset, Metabase, DBeaver)")
    add_store_args(p)
    p.add_argument("--output", metavar="FILE", help="the DuckDB database file to write (replaced whole)")
    p.add_argument("--watch", type=float, default=None, metavar="SECONDS",
                   help="keep running: check the store every SECONDS and rewrite FILE when runs or flags change")
    add_format_arg(p)
    p.set_defaults(func=cmd_catalog)
