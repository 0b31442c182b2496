"""dagster-consolidate: finalize the runs a RunPrefixedIOManager wrote, from a Dagster instance."""

from __future__ import annotations

import argparse
import os

from ..models import iso
from ..humanize import counted
from .common import UsageError, add_format_arg, add_store_args, console, print_json, short_time, styled_status, table


def cmd_consolidate(args: argparse.Namespace) -> int:
    home = args.dagster_home or os.environ.get("DAGSTER_HOME")
    if not home:
        raise UsageError("dagster-consolidate needs --dagster-home PATH (or DAGSTER_HOME)")
    from ..store.fs import parse_storage_options

    try:
        options = parse_storage_options(args.storage_option)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        from ..dagster.io import consolidate_finished_runs
    except ModuleNotFoundError as exc:
        if exc.name != "dagster":
            raise
        raise UsageError("dagster-consolidate needs Dagster: pip install 'frontier-explore[dagster]'") from None
    runs = consolidate_finished_runs(args.store, home, options)
    if args.format == "json":
        print_json([r.to_dict() for r in runs])
        return 0
    console().print(
        table(
            f"{counted(len(runs), 'run')} consolidated in {args.store}",
            ["run", "job", "status", "finished", "assets"],
            [(r.run_id, r.job or "", styled_status(r.status), short_time(iso(r.finished_at)), r.asset_count) for r in runs],
        )
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dagster-consolidate",
        help="write the final status of runs a RunPrefixedIOManager wrote, as the Dagster instance reports it",
    )
    add_store_args(p)
    add_format_arg(p)
    p.set_defaults(func=cmd_consolidate)
