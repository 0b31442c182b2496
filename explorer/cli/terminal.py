"""The CLI's terminal output, the one part of it that needs rich: the consoles (every string
made visible, never markup), tables fitted to the width, styled text. Imported when a command
prints through rich (``explorer.cli.common`` names these lazily), so that a command printing
JSON never imports rich."""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Callable, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..visible import visible_lines


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

    def on_broken_pipe(self) -> None:
        """The reader went away (``| head``): write nothing more, and end the command as any
        other closed pipe does (exit 0: ``cli._run``), not with rich's exit 1, which a shell
        with ``pipefail`` takes for a failure."""
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # (what rich does too: no error when stdout is flushed at exit)
        raise BrokenPipeError

    def render_str(self, text: str, **kw: Any) -> Text:
        kw.update(markup=False, emoji=False, highlight=False)
        return super().render_str(visible_lines(text), **kw)

    def _render_buffer(self, buffer: Any) -> str:
        """What rich writes, without the spaces it pads lines with (a centred title, a table's
        short last column) when the output is a pipe or a file, where they are noise to
        ``grep``, ``diff`` and ``sed`` (on a terminal they show as nothing either way)."""
        out = super()._render_buffer(buffer)
        return out if self.is_terminal else _TRAILING_SPACES.sub("", out)


_TRAILING_SPACES = re.compile(r" +(?=\n)")


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
