"""Shared CLI plumbing: store arguments, output formats, rendering helpers.

The rich side of the output (consoles, tables, styled text) lives in ``explorer.cli.terminal``
and is named here lazily (``console``, ``table``, ``text``, ...: see ``TERMINAL_NAMES``), so a
command that prints JSON imports no rich."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..errors import ExplorerError, StoreNotFound
from ..format import finite
from ..visible import json_safe, one_line, plain_ascii_bytes, visible_lines

if TYPE_CHECKING:  # the library is imported when a command opens a store, not to build the parser
    from ..api import Store
    from .terminal import FitTable


class UsageError(ExplorerError):
    """Bad command-line usage (exit 2)."""


def add_partition_arg(p: argparse.ArgumentParser) -> None:
    """``--partition PART``: one partition of ASSET (the same as ``ASSET[PART]``)."""
    p.add_argument("--partition", "-p", metavar="PART", help="one partition of ASSET (the same as ASSET[PART])")


def with_partition_arg(args: argparse.Namespace) -> None:
    """Fold ``--partition`` into ``args.asset`` (``ASSET[PART]``), the one name the library reads."""
    from ..names import with_partition

    if getattr(args, "partition", None) is not None and getattr(args, "asset", None):
        args.asset = with_partition(args.asset, args.partition)


def add_store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE", help="store URL or path (s3://bucket/prefix, ./store, ...) or @name of a configured store")
    p.add_argument(
        "--storage-option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option passed to fsspec (repeatable), e.g. endpoint_url=http://127.0.0.1:9000",
    )
    p.add_argument(
        "--dagster-home",
        metavar="PATH",
        default=None,
        help="Dagster instance to read run status, times and lineage from (default: $DAGSTER_HOME)",
    )
    p.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,  # also before the command
                   help="do not print store warnings")
    p.add_argument(
        "--no-cache",
        action="store_true",
        default=argparse.SUPPRESS,  # keeps a global --no-cache given before the command
        help="read the whole store, neither using nor updating the local index cache",
    )
    p.add_argument(
        "--list-root",
        action="store_true",
        default=False,
        help="list the store's root to find its runs even where the run log and a checkpoint would do "
             "(shows no run deleted since the newest checkpoint)",
    )


def add_format_arg(p: argparse.ArgumentParser, choices: Iterable[str] = ("table", "json"), default: str = "table") -> None:
    p.add_argument("--format", "-f", choices=list(choices), default=default, help=f"output format (default {default})")


def open_store(args: argparse.Namespace) -> Store:
    from ..api import Store
    from ..config import resolve_store
    from ..store.fs import parse_storage_options

    try:
        options = parse_storage_options(args.storage_option)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    url, options = resolve_store(args.store, options)
    cache = not getattr(args, "no_cache", False)
    from . import env_dagster_home

    homes = {"dagster_home": getattr(args, "dagster_home", None), "stock_dagster_home": env_dagster_home(),
             "freeze_gc": True,  # this process is the CLI's own: a large index is frozen (index.bulk_load)
             "full_listing": getattr(args, "list_root", False)}
    try:
        if sys.stderr.isatty() and not getattr(args, "quiet", False):
            from .terminal import index_progress

            with index_progress() as progress:
                store = Store.open(url, options, progress=progress, cache=cache, **homes)
        else:
            store = Store.open(url, options, cache=cache, **homes)
    except StoreNotFound as exc:
        if os.path.basename(url.rstrip("/")) == "demo_store":  # the README's examples, run outside a checkout
            raise StoreNotFound(f"{exc} (the bundled demo store is @demo)") from None
        raise
    _opened.append([store, 0, getattr(args, "quiet", False)])
    print_warnings()
    return store


_opened: list[list] = []  # [store, warnings printed, quiet] for each store a command opened


def print_warnings() -> None:
    """Print the warnings the opened stores recorded since the last call: those of opening
    at once, those of later reads (a damaged flag file is found when flags are first read)
    when the command ends (``explorer.cli.main`` calls this again)."""
    for entry in _opened:
        store, done, quiet = entry
        new = store.warnings[done:]
        entry[1] = done + len(new)
        if not quiet and new:
            from rich.text import Text

            from .terminal import err_console

            for w in new:
                err_console().print(Text.assemble(("warning:", "yellow"), " ", one_line(w)), soft_wrap=True)


def json_text(data: Any, plain_types: bool = False) -> str:
    """``data`` as indented JSON that is safe on a terminal and loads back exactly (the text of
    :func:`json_document`, with a final newline)."""
    return json_document(data, plain_types).decode("utf-8") + "\n"


def json_document(data: Any, plain_types: bool = False) -> bytes:
    """``data`` as indented JSON in UTF-8, safe on a terminal, loading back exactly: the bytes
    of ``json.dumps(data, indent=2)``, made in C. The compact text comes from the standard
    library's C encoder (its Python encoder, which indenting takes, is 5 to 7 times slower) and
    msgspec indents it as ``json.dumps`` would, number literals kept as written.

    ``plain_types``: the caller knows the document holds nothing but strings, integers,
    booleans, None, lists, tuples and dicts, so msgspec writes the compact text too, 5 times
    faster and the same bytes (not for other types: msgspec writes floats its own way, NaN as
    null, a set as a list, a date in ISO form). What msgspec cannot write (a numpy value, a lone
    surrogate) takes the standard library's path. A non-finite float is written by its name (a
    second pass replaces it); a document msgspec will not indent is indented by the standard
    library."""
    import msgspec

    def dump(value: Any, **layout: Any) -> str:
        return json.dumps(value, default=_json_value, ensure_ascii=False, allow_nan=False, **layout)

    compact = None
    if plain_types:
        try:
            compact = msgspec.json.encode(data)
        except (TypeError, ValueError, OverflowError, UnicodeEncodeError, msgspec.EncodeError):
            pass
    if compact is None or not plain_ascii_bytes(compact):  # (plain: nothing json_safe would escape)
        if compact is not None:
            text = compact.decode("utf-8")
        else:
            try:
                text = dump(data, separators=(",", ":"))
            except ValueError:  # NaN or an infinity somewhere (or a numpy one)
                data = finite(data)
                text = dump(data, separators=(",", ":"))
        try:
            compact = json_safe(text).encode("utf-8")
        except UnicodeEncodeError:  # (json_safe escapes lone surrogates: the last resort below)
            compact = None
        del text
    try:
        if compact is not None:
            return msgspec.json.format(compact, indent=2)
    except msgspec.DecodeError:
        pass
    return json_safe(dump(finite(data), indent=2)).encode("utf-8", "backslashreplace")


def _json_value(value: Any) -> Any:
    """What ``json`` cannot write itself: a msgspec Struct as msgspec writes it, numpy scalars
    as their Python value (a non-finite float as its name, as everywhere in our JSON), anything
    else as its text."""
    import msgspec

    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value)
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        try:
            return finite(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def print_json(data: Any, plain_types: bool = False) -> None:
    """``data`` as :func:`json_document` on standard output, written as bytes where it takes
    them (a 600 MB document is not decoded and encoded again). A value of a dict ``data`` that
    is an iterator (``LineageResult.to_records()``) is written as a list, a chunk of
    items at a time, never held whole: the same bytes."""
    out = getattr(sys.stdout, "buffer", None)
    if out is None or (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "") != "utf8":
        write = lambda part: sys.stdout.write(part.decode("utf-8"))  # noqa: E731
    else:
        sys.stdout.flush()
        write = out.write
    if isinstance(data, dict) and any(isinstance(v, Iterator) for v in data.values()):
        if all(isinstance(k, str) for k in data):
            _write_json_streamed(write, data, plain_types)
        else:  # (json.dumps's names for other keys: not worth a second copy of them)
            write(json_document({k: list(v) if isinstance(v, Iterator) else v for k, v in data.items()}, plain_types))
    else:
        write(json_document(data, plain_types))
    write(b"\n")


JSON_CHUNK = 20_000  # items of a streamed list encoded at once


def _write_json_streamed(write: Callable[[bytes], Any], data: dict, plain_types: bool, chunk: int | None = None) -> None:
    """``json_document(data)``'s bytes (``data``'s keys all strings), each value encoded alone
    and indented one level more (JSON's indented layout composes so), an iterator's items
    ``chunk`` at a time."""
    import itertools

    for n, (key, value) in enumerate(data.items()):
        write((b"{\n  " if not n else b",\n  ") + json_document(key) + b": ")
        if not isinstance(value, Iterator):
            write(json_document(value, plain_types).replace(b"\n", b"\n  "))
            continue
        opened = False
        while part := list(itertools.islice(value, chunk or JSON_CHUNK)):
            body = json_document(part, plain_types)[2:-2]  # its items, without "[\n" and "\n]"
            write((b",\n  " if opened else b"[\n  ") + body.replace(b"\n", b"\n  "))
            opened = True
        write(b"\n  ]" if opened else b"[]")
    write(b"\n}")


def print_document(document: str, kind: str = "text") -> None:
    """A whole document (markdown, mermaid, dot, JSON, CSV) on standard output through the
    output boundary: JSON with ``json_safe`` (it loads back exactly), text with
    ``visible_lines``. CSV is data: exact when piped, made visible only on a terminal."""
    if kind == "json":
        document = json_safe(document)
    elif kind != "csv" or sys.stdout.isatty():
        document = visible_lines(document)
    sys.stdout.write(document)


def print_table(t: FitTable, args: argparse.Namespace) -> None:
    """``t`` on standard output: tab-separated with ``--format tsv``, else fitted to the terminal."""
    if getattr(args, "format", None) == "tsv":
        sys.stdout.write(t.tsv())
    else:
        from .terminal import console

        console().print(t)


def short_time(iso: str | None) -> str:
    if not iso:
        return ""
    return iso.replace("T", " ")[:19]


from ..humanize import human_duration, human_size  # noqa: E402,F401 - re-exported for the commands


Handler = Callable[[argparse.Namespace], int]

# The names of ``explorer.cli.terminal`` the commands import from here; rich is imported when one is first used.
TERMINAL_NAMES = frozenset({
    "TerminalConsole", "FitTable", "console", "err_console", "output_width", "text", "table", "styled_status",
    "STATUS_STYLE", "NO_WRAP", "WRAP_MIN", "index_progress",
})


def __getattr__(name: str) -> Any:
    if name in TERMINAL_NAMES:
        from . import terminal

        return getattr(terminal, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
