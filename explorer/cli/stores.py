"""stores, cache info, cache clear, demo: named stores, the local index cache and a copy of the demo store."""

from __future__ import annotations

import argparse

from ..humanize import counted
from .common import add_format_arg, add_store_args, console, human_size, print_json, table, text


def cmd_stores(args: argparse.Namespace) -> int:
    from ..config import load_config

    cfg = load_config()
    if args.format == "json":
        print_json(cfg.to_dict())
        return 0
    if not cfg.stores:
        console().print(f"no named stores configured (config file: {cfg.path})")
        return 0
    rows = []
    for s in cfg.stores.values():
        d = s.to_dict()
        opts = " ".join(f"{k}={v}" for k, v in d["storage_options"].items())
        rows.append(("@" + s.name, s.url, opts, s.description or ""))
    console().print(table(f"{counted(len(rows), 'store')} in {cfg.path}", ["name", "url", "options", "description"], rows))
    return 0


def cmd_cache_info(args: argparse.Namespace) -> int:
    from ..store import cache

    info = cache.info()
    if args.format == "json":
        print_json(info)
        return 0
    c = console()
    c.print(f"index cache: {info['dir']} ({info['files']} stores, {human_size(info['bytes'])})")
    if info["stores"]:
        c.print(table(None, ["store", "runs", "size", "file"],
                      [(s["url"], s["runs"], human_size(s["bytes"]), s["file"]) for s in info["stores"]]))
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    from ..store import cache

    n = cache.clear()
    console().print(f"removed {n} cached store index{'es' if n != 1 else ''} from {cache.cache_dir()}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ..bundled import copy_demo

    path = copy_demo(args.path)
    runs = sum(1 for p in path.iterdir() if p.is_dir() and not p.name.startswith("_"))
    console().print(f"wrote a copy of the demo store ({runs} runs) to {path}: "
                    f"open it with `frontier-explore {path}`", markup=False, highlight=False)
    return 0


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from .common import open_store

    store = open_store(args)
    outcome = store.checkpoint()
    if args.format == "json":
        print_json(outcome.to_dict())
        return 0
    out = console()
    for w in outcome.warnings:
        out.print(text(f"warning: {w}"))
    if outcome.written is None:
        held = outcome.base
        out.print(text(f"nothing to add: checkpoint {held.name} holds every finished run" if held
                       else "no finished run to checkpoint"))
        return 0
    added = len(outcome.written.manifests) - (len(outcome.base.manifests) if outcome.base else 0)
    out.print(text(f"wrote {outcome.written.to_dict()['path']}: {counted(len(outcome.written.manifests), 'finished run')}"
                   + (f" ({added} more than {outcome.base.name})" if outcome.base else "")))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stores", help="list the named stores of the config file (use them as @name)")
    add_format_arg(p)
    p.set_defaults(func=cmd_stores)

    p = sub.add_parser("checkpoint", help="write a checkpoint: every finished run's manifest in one object, "
                                          "so that cold opens on object stores read one object, not one per run")
    add_store_args(p)
    add_format_arg(p)
    p.set_defaults(func=cmd_checkpoint)

    p = sub.add_parser("cache", help="the local index cache: where it is, or empty it")
    csub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    q = csub.add_parser("info", help="where the cache is and which stores it holds")
    add_format_arg(q)
    q.set_defaults(func=cmd_cache_info)
    q = csub.add_parser("clear", help="delete every cached index (safe: they are rebuilt on demand)")
    q.set_defaults(func=cmd_cache_clear)

    p = sub.add_parser("demo", help="write a copy of the bundled (read-only) demo store that you can flag")
    p.add_argument("path", metavar="PATH", help="a new or empty folder")
    p.set_defaults(func=cmd_demo)
