"""The ``frontier-explore`` command line: argument parsing and rendering only.

Each subcommand lives in a small module with a ``register(subparsers)`` function and
calls one library function. Errors of the project's own types print one line and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import ExplorerError

# The subcommand modules, imported only when a subcommand runs (opening the app stays fast).
COMMAND_MODULE_NAMES = ["foundation", "stale", "diff", "history", "catalogue", "trace", "verify", "stores", "dagster_cli", "completion", "compare", "share"]
# Every subcommand name, so that ``frontier-explore STORE`` is told apart from a command without
# importing the modules; tests/test_cli_foundation.py checks it against the parser.
COMMAND_NAMES = frozenset({
    "__complete", "assets", "cache", "catalog", "checkpoint", "compare", "completion", "dagster-consolidate", "demo", "diff", "diff-runs", "export", "find", "flag", "flags", "history", "impact",
    "lineage", "provenance", "report", "runs", "serve", "show", "sql", "stale", "stores", "trace", "unflag", "verify", "versions",
})
# The module that registers each command, so that running one builds (and imports) only its
# parser: building all of them imports every command module's dependencies (rich, the
# staleness rules, the plan, ...), some 0.15 s of a one-shot command. Checked against the
# modules by tests/test_cli_foundation.py.
COMMAND_MODULES = {
    "assets": "foundation", "impact": "foundation", "lineage": "foundation", "provenance": "foundation",
    "runs": "foundation", "show": "foundation", "stale": "stale", "diff": "diff", "history": "history",
    "export": "catalogue", "find": "catalogue", "flag": "catalogue", "flags": "catalogue", "sql": "catalogue",
    "unflag": "catalogue", "versions": "catalogue", "trace": "trace", "verify": "verify", "cache": "stores",
    "checkpoint": "stores", "demo": "stores", "stores": "stores", "dagster-consolidate": "dagster_cli",
    "__complete": "completion", "completion": "completion", "compare": "compare", "diff-runs": "compare",
    "catalog": "share", "report": "share", "serve": "share",
}

DESCRIPTION = (
    "Explore a run-prefixed object store: runs, lineage, provenance, staleness and diffs of the "
    "datasets and models your pipelines wrote. With no command, opens the terminal app."
)


class Parser(argparse.ArgumentParser):
    """Options may come between a command's positionals (``lineage STORE -o k=v ASSET``):
    a parser without subcommands reads its arguments intermixed. (Plain argparse gives an
    optional positional nothing once an option follows the first one.)"""

    _intermixing = False

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        if self._intermixing or any(isinstance(a, argparse._SubParsersAction)
                                    or a.nargs in (argparse.PARSER, argparse.REMAINDER) for a in self._actions):
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command``, one whose only subcommand is that one (the same
    arguments, the same help for it), built without importing the other command modules."""
    from .. import __version__

    parser = Parser(
        prog="frontier-explore", description=DESCRIPTION,
        usage="frontier-explore [-q] [--no-cache] COMMAND STORE ...\n"
              "       frontier-explore [STORE] [-o KEY=VALUE ...] [--watch SECONDS] [--dagster-home PATH]",
        epilog="Without a COMMAND the terminal app opens on STORE (a path, an fsspec URL such as "
               "s3://bucket/prefix, or @name of a configured store; the bundled demo store when omitted), "
               "polling it every SECONDS with --watch. 'frontier-explore COMMAND --help' describes a command.",
    )
    parser.add_argument("--version", action="version", version=f"frontier-explore {__version__}")
    parser.add_argument("--quiet", "-q", action="store_true", help="do not print store warnings")
    parser.add_argument("--no-cache", action="store_true", help="do not use the local index cache")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="frontier-explore")  # not the custom usage
    import importlib

    for name in [COMMAND_MODULES[command]] if command in COMMAND_MODULES else COMMAND_MODULE_NAMES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


GLOBAL_FLAGS = ("-q", "--quiet", "--no-cache")


def command_of(argv: list[str]) -> str | None:
    """The command that ``argv`` runs when it is the first word after the global flags (no
    ``--help`` or ``--version`` before it, which are about every command)."""
    rest = [a for a in argv if a not in GLOBAL_FLAGS]
    return rest[0] if rest and rest[0] in COMMAND_MODULES else None


def wants_app(argv: list[str], commands: set[str]) -> bool:
    """No command (nothing, or a STORE and app options): the terminal app."""
    rest = [a for a in argv if a not in GLOBAL_FLAGS]
    if not rest:
        return True
    return rest[0] not in commands and rest[0] not in ("-h", "--help", "--version")


def build_app_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="frontier-explore",
        usage="frontier-explore [STORE] [--storage-option K=V ...] [--watch SECONDS]",
        description="Open the terminal app on STORE (the bundled demo store when omitted).",
    )
    p.add_argument("store", metavar="STORE", nargs="?", default=None, help="store URL or path")
    p.add_argument("--storage-option", "-o", action="append", default=[], metavar="KEY=VALUE",
                   help="option passed to fsspec (repeatable)")
    p.add_argument("--watch", type=float, default=None, metavar="SECONDS",
                   help="poll the store every SECONDS for new and finishing runs")
    p.add_argument("--dagster-home", metavar="PATH", default=None,
                   help="Dagster instance for run status and lineage of stock Dagster stores")
    p.add_argument("--no-cache", action="store_true", help="read the whole store, without the local index cache")
    p.add_argument("--quiet", "-q", action="store_true", help=argparse.SUPPRESS)
    return p


def _configured_choices() -> list[tuple[str, str, str, dict]]:
    """The stores of the config file as picker choices, plus the demo store."""
    from ..config import load_config
    from ..bundled import DEMO_STORE

    stores = load_config().stores
    if len(stores) < 2:
        return []
    choices = [(f"@{s.name}", f"@{s.name}  {s.url}" + (f"  ({s.description})" if s.description else ""), s.url,
                dict(s.storage_options)) for s in stores.values()]
    return choices + [("demo", f"demo store  {DEMO_STORE}", str(DEMO_STORE), {})]


def run_app(argv: list[str], commands: set[str] = frozenset()) -> int:
    from ..bundled import DEMO_STORE
    from ..store.fs import parse_storage_options

    typo = _mistyped_command(argv, commands)
    if typo:
        print(f"frontier-explore: error: {typo}", file=sys.stderr)
        return 2
    args = build_app_parser().parse_args(argv)
    try:
        options = parse_storage_options(args.storage_option)
    except ValueError as exc:
        error(str(exc))
        return 2
    if args.watch is not None and args.watch <= 0:
        error("--watch needs a positive number of seconds")
        return 2
    from ..config import load_config, resolve_store

    url, label, choices = args.store, args.store, []
    try:
        if url is None:
            configured = load_config().stores
            if len(configured) == 1:  # one configured store: open it
                only = next(iter(configured.values()))
                url, label = f"@{only.name}", f"@{only.name}"
            elif configured:
                choices = _configured_choices()
        if url is not None:
            url, options = resolve_store(url, options)
    except ExplorerError as exc:
        error(str(exc))
        return 2
    if url and "://" not in url and not os.path.exists(url):
        hint = f"; commands are: {', '.join(sorted(c for c in commands if not c.startswith('_')))}" if commands else ""
        error(f"no store at {url!r} (no such file or folder){hint}")
        return 2
    open_options = {"cache": not args.no_cache, "dagster_home": args.dagster_home,
                    "stock_dagster_home": env_dagster_home()}
    if not has_terminal():
        # without a terminal Textual would spin forever (a cron line that forgot its subcommand)
        error("the terminal app needs a terminal on stdin and stdout; "
              "for scripts use a command (frontier-explore --help lists them)")
        return 2
    from ..tui.app import run_app as run_tui

    return run_tui(url or str(DEMO_STORE), options, args.watch, label=label or "demo store",
                   open_options=open_options, choices=choices)


def _mistyped_command(argv: list[str], commands: set[str]) -> str | None:
    """``frontier-explore stal demo_store``: the first word is neither a store nor a command,
    and more words follow or it looks like one: name the command meant instead of blaming
    the store."""
    import difflib

    words, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("-o", "--storage-option", "--watch", "--dagster-home"):
            skip = True  # the option's value is no positional word
        elif not a.startswith("-"):
            words.append(a)
    if not words or not commands:
        return None
    first = words[0]
    if "/" in first or first.startswith((".", "@", "~")) or os.path.exists(first):  # a path or a named store
        return None
    close = difflib.get_close_matches(first, sorted(c for c in commands if not c.startswith("_")), n=3, cutoff=0.6)
    if not close and len(words) == 1:
        return None  # a store path that does not exist: run_app says so
    from ..format import printable

    hint = f"; did you mean {' or '.join(close)}?" if close else f"; commands are: {', '.join(sorted(c for c in commands if not c.startswith('_')))}"
    return f"no store at {printable(first)!r} and no command {printable(first)!r}{hint}"


def has_terminal() -> bool:
    """Whether stdin and stdout are a terminal, which the app needs."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def env_dagster_home() -> str | None:
    """``$DAGSTER_HOME`` when it holds a Dagster instance: used only to read a stock Dagster store (one
    that has no frontier marker), never to change how a frontier store is read."""
    from ..dagster.instance import has_instance  # imports no Dagster

    home = os.environ.get("DAGSTER_HOME")
    return home if home and os.path.isdir(home) and has_instance(home) else None


def error(message: str) -> None:
    """``frontier-explore: error: MESSAGE`` on stderr, as one visible line."""
    from ..visible import one_line as visible_line

    print(f"frontier-explore: error: {visible_line(message)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = _store_first(argv)
    if wants_app(argv, COMMAND_NAMES):
        return run_app(argv, set(COMMAND_NAMES))
    parser = build_parser(command_of(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from . import common

    common.with_partition_arg(args)
    common._opened.clear()
    try:
        return _run(args)
    finally:
        try:
            common.print_warnings()  # those recorded after opening (flags, data read later)
        except BrokenPipeError:
            pass


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except ExplorerError as exc:
        error(str(exc))
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        error(str(exc))
        return 2
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        from ..store.read import is_connection_error
        from ..visible import one_line

        if is_connection_error(exc):  # the endpoint went away in a code path the library does not wrap
            error(f"cannot reach the store: {exc}")
            return 2
        if os.environ.get("FRONTIER_EXPLORE_DEBUG"):
            raise
        print(
            f"frontier-explore: internal error: {type(exc).__name__}: {one_line(str(exc))} "
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
