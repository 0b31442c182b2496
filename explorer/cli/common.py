"""Shared CLI plumbing: store arguments, output formats, rendering helpers."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import ExplorerError, StoreNotFound
from ..format import finite
from ..visible import json_safe, one_line, visible_lines

if TYPE_CHECKING:  # the library is imported when a command opens a store, not to build the parser
    from ..api import Store


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
             "freeze_gc": True}  # this process is the CLI's own: a large index is frozen (index.bulk_load)
    try:
        if sys.stderr.isatty() and not getattr(args, "quiet", False):
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
        if not quiet:
            for w in new:
                err_console().print(Text.assemble(("warning:", "yellow"), " ", one_line(w)), soft_wrap=True)


class index_progress:
    """A transient rich progress bar on stderr for ``progress(done, total)`` callbacks; it
    appears only once there is something to read."""

    def __enter__(self) -> Callable[[int, int], None]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("reading runs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err_console(), transient=True,
        )
        self._task = None

        def update(done: int, total: int) -> None:
            if total <= 0:
                return
            if self._task is None:
                self._progress.start()
                self._task = self._progress.add_task("runs", total=total)
            self._progress.update(self._task, completed=done, total=total)

        return update

    def __exit__(self, *exc: Any) -> None:
        if self._task is not None:
            self._progress.stop()


class TerminalConsole(Console):
    """A rich console that never interprets markup or emoji codes in a string and makes every
    string visible (``explorer.visible``) as it renders it: store text printed as a ``str``,
    a table cell or a title reaches the terminal escaped. Styles are applied by code, with
    ``Text`` objects (``text()``, ``styled_status()``)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(markup=False, emoji=False, highlight=False, **kw)

    def render_str(self, text: str, **kw: Any) -> Text:
        kw.update(markup=False, emoji=False, highlight=False)
        return super().render_str(visible_lines(text), **kw)


_stdout: Console | None = None
_stderr: Console | None = None


def output_width() -> int | None:
    """The width tables are fitted to: the terminal's (``None``: rich asks it, honouring
    ``COLUMNS``); when piped, ``COLUMNS`` if set, else 200 (wide enough not to cut a report)."""
    import os

    if sys.stdout.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 200


def console() -> Console:
    global _stdout
    if _stdout is None or _stdout.file is not sys.stdout:
        _stdout = TerminalConsole(file=sys.stdout, soft_wrap=False, width=output_width())
    return _stdout


def err_console() -> Console:
    global _stderr
    if _stderr is None or _stderr.file is not sys.stderr:
        _stderr = TerminalConsole(file=sys.stderr, soft_wrap=True)
    return _stderr


def json_text(data: Any) -> str:
    """``data`` as indented JSON that is safe on a terminal and loads back exactly."""
    return json_safe(json.dumps(finite(data), indent=2, default=_json_value, ensure_ascii=False, allow_nan=False)) + "\n"


def _json_value(value: Any) -> Any:
    """What ``json`` cannot write itself: numpy scalars as their Python value (a non-finite
    float as its name, as everywhere in our JSON), anything else as its text."""
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        try:
            return finite(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def print_json(data: Any) -> None:
    sys.stdout.write(json_text(data))


def print_document(document: str, kind: str = "text") -> None:
    """A whole document (markdown, mermaid, dot, JSON, CSV) on standard output through the
    output boundary: JSON with ``json_safe`` (it loads back exactly), text with
    ``visible_lines``. CSV is data: exact when piped, made visible only on a terminal."""
    if kind == "json":
        document = json_safe(document)
    elif kind != "csv" or sys.stdout.isatty():
        document = visible_lines(document)
    sys.stdout.write(document)


def text(value: Any, style: str = "") -> Text:
    """A value from a store as a ``Text`` (made visible; its brackets are never markup)."""
    return Text("" if value is None else visible_lines(str(value)), style=style)


# Columns whose values are identifiers, times, hashes, counts or status words: never wrapped
# (a run id broken over three lines cannot be copied); cut with "…" only when nothing else fits.
NO_WRAP = {"run", "runs", "started", "created", "time", "hash", "status", "run status", "duration", "size",
           "rows", "versions", "layer", "format", "taint", "action", "assets", "code", "asset", "id"}
WRAP_MIN = 12
"""The narrowest a wrapping column (tags, reasons, causes) is counted as when fitting."""


class FitTable:
    """A table that fits the width it is printed at: columns of identifiers and times never
    wrap; when the row does not fit, the columns named in ``drop`` are left out, first named
    first, and a note under the table says which (``--format json``, or ``tsv`` where a command
    offers it, has them all).
    Every cell and heading is a ``Text`` (``text()`` unless the code built one), so no cell is
    markup and none reaches the terminal raw."""

    def __init__(self, title: Any, columns: list[Any], rows: Iterable[Iterable[Any]],
                 drop: Iterable[str] = (), no_wrap: Iterable[str] = (), **kw: Any) -> None:
        self.title = None if title is None else _as_text(title)
        self.columns = [_as_text(c) for c in columns]
        self.rows = [[_as_text(v) for v in r] for r in rows]
        names = [c.plain for c in self.columns]
        self.drop = [names.index(d) for d in drop if d in names]
        self.no_wrap = set(no_wrap)
        self.kw = kw

    def _natural(self, i: int) -> int:
        from rich.cells import cell_len

        cells = [self.columns[i]] + [r[i] for r in self.rows if i < len(r)]
        return max((cell_len(line) for c in cells for line in (c.plain.split("\n") or [""])), default=0)

    def _needed(self, keep: list[int]) -> int:
        if self.kw.get("box", True) is None:
            return sum(self._width(i) for i in keep) + 2 * max(len(keep) - 1, 0)
        return sum(self._width(i) for i in keep) + 3 * len(keep) + 1

    def _width(self, i: int) -> int:
        n = self._natural(i)
        return n if self._no_wrap(i) else min(n, WRAP_MIN)

    def _no_wrap(self, i: int) -> bool:
        return self.columns[i].plain in NO_WRAP or self.columns[i].plain in self.no_wrap

    def fitted(self, width: int) -> tuple[Table, list[str]]:
        """The rich table for ``width`` columns, and the headings left out."""
        keep = list(range(len(self.columns)))
        dropped: list[str] = []
        empty = [i for i in self.drop if not any(i < len(r) and r[i].plain for r in self.rows)]
        for i in empty + [i for i in self.drop if i not in empty]:  # empty columns go first
            if self._needed(keep) <= width:
                break
            keep.remove(i)
            dropped.append(self.columns[i].plain)
        kw = dict(self.kw)
        if dropped:
            names = [c.plain for c in self.columns]
            dropped.sort(key=names.index)  # in the table's order
            note = Text(f"not shown at {width} columns: {', '.join(dropped)} (a wider terminal or "
                        "--format json shows them)", style="dim")
            kw["caption"] = note if "caption" not in kw else Text.assemble(_as_text(kw["caption"]), "\n", note)
            kw.setdefault("caption_justify", "left")
        t = Table(title=self.title, **kw)
        for i in keep:
            if self._no_wrap(i):
                t.add_column(self.columns[i], no_wrap=True, overflow="ellipsis", min_width=min(self._natural(i), 40))
            else:
                t.add_column(self.columns[i], overflow="fold")
        for r in self.rows:
            t.add_row(*(r[i] for i in keep if i < len(r)))
        return t, dropped

    def __rich_console__(self, console: Console, options: Any) -> Any:
        yield self.fitted(options.max_width)[0]

    def tsv(self) -> str:
        """Heading and rows as tab-separated lines: each value visible on one line (a tab or a
        newline inside a value is written ``\\t`` / ``\\n``), nothing left out."""
        from ..visible import visible

        lines = ["\t".join(visible(c.plain) for c in self.columns)]
        lines += ["\t".join(visible(c.plain) for c in r) for r in self.rows]
        return "\n".join(lines) + "\n"


def table(title: Any, columns: list[Any], rows: Iterable[Iterable[Any]], **kw: Any) -> FitTable:
    """A table of store values fitted to the terminal (``FitTable``)."""
    return FitTable(title, columns, rows, **kw)


def print_table(t: FitTable, args: argparse.Namespace) -> None:
    """``t`` on standard output: tab-separated with ``--format tsv``, else fitted to the terminal."""
    if getattr(args, "format", None) == "tsv":
        sys.stdout.write(t.tsv())
    else:
        console().print(t)


def _as_text(value: Any) -> Text:
    return value if isinstance(value, Text) else text(value)


STATUS_STYLE = {
    "success": "green",
    "fresh": "green",
    "failed": "red",
    "missing": "red",
    "stale": "yellow",
    "running": "cyan",
    "tainted": "magenta",
    "superseded": "dim",
    "corrupt": "red",
}


def styled_status(status: str, label: str | None = None) -> Text:
    """A status word in its colour (``label`` shown instead of the word, if given)."""
    return text(status if label is None else label, STATUS_STYLE.get(status, ""))


def short_time(iso: str | None) -> str:
    if not iso:
        return ""
    return iso.replace("T", " ")[:19]


from ..humanize import human_duration, human_size  # noqa: E402,F401 - re-exported for the commands


Handler = Callable[[argparse.Namespace], int]
