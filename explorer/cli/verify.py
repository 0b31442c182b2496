"""verify: recompute content hashes and report versions whose data no longer matches."""

from __future__ import annotations

import argparse

from ..humanize import counted
from .common import add_format_arg, add_store_args, console, open_store, print_json, styled_status, table


def cmd_verify(args: argparse.Namespace) -> int:
    store = open_store(args)
    from ..verify import verify

    results = verify(store, run=args.run)
    bad = [r for r in results if not r.passes(args.allow_unverifiable)]
    if args.format == "json":
        print_json({"store": store.url, "checked": len(results), "problems": len(bad),
                    "versions": [r.to_dict() for r in (results if args.all else bad)]})
    else:
        shown = results if args.all else bad
        if shown:
            console().print(table(
                None, ["asset", "run", "status", "detail"],
                [(r.asset, r.run_id, styled_status("corrupt" if r.status not in ("ok", "outside") else "fresh", r.status), r.detail) for r in shown],
            ))
        console().print(f"{counted(len(results), 'version')} checked, {len(bad)} with problems")
    return 1 if bad else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="recompute content hashes; exit 1 if any version's data changed or cannot be checked")
    add_store_args(p)
    p.add_argument("--run", help="only this run's versions")
    p.add_argument("--all", action="store_true", help="list every version, not only problems")
    p.add_argument("--allow-unverifiable", action="store_true",
                   help="accept versions without a sha256 to check (stock Dagster outputs): exit 0 if nothing else is wrong")
    add_format_arg(p)
    p.set_defaults(func=cmd_verify)
