"""The ``frontier-explore`` command line: argument parsing and rendering only.

Each subcommand lives in a small module with a ``register(subparsers)`` function and
calls one library function. Errors of the project's own types print one line and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import ExplorerError
from . import catalogue, dagster_cli, diff, foundation, history, stale, stores, trace, verify

COMMAND_MODULES = [foundation, stale, diff, history, catalogue, trace, verify, stores, dagster_cli]

DESCRIPTION = (
    "Explore a run-prefixed object store: runs, lineage, provenance, staleness and diffs of the "
    "datasets and models your pipelines wrote. With no command, opens the terminal app."
)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="frontier-explore", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"frontier-explore {__version__}")
    parser.add_argument("--quiet", "-q", action="store_true", help="do not print store warnings")
    parser.add_argument("--no-cache", action="store_true", help="do not use the local index cache")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = _store_first(argv)
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ExplorerError as exc:
        print(f"frontier-explore: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"frontier-explore: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        if os.environ.get("FRONTIER_EXPLORE_DEBUG"):
            raise
        print(
            f"frontier-explore: internal error: {type(exc).__name__}: {exc} "
            "(set FRONTIER_EXPLORE_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 2


def _store_first(argv: list[str]) -> list[str]:
    """``@prod runs -f json`` is read as ``runs @prod -f json`` (the store is every store
    command's first positional argument)."""
    for i, a in enumerate(argv):
        if a.startswith("-"):
            continue
        if a.startswith("@") and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            return argv[:i] + [argv[i + 1], a] + argv[i + 2 :]
        break
    return argv


def entry() -> None:
    sys.exit(main())
