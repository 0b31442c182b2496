"""Shared CLI plumbing: store arguments, output formats, rendering helpers."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Callable, Iterable

from rich.console import Console
from rich.markup import escape as rich_escape
from rich.style import Style
from rich.table import Table

from ..errors import ExplorerError
from ..store import Store
from ..store.fs import parse_storage_options


class UsageError(ExplorerError):
    """Bad command-line usage (exit 2)."""


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
    from ..config import resolve_store

    try:
        options = parse_storage_options(args.storage_option)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    url, options = resolve_store(args.store, options)
    cache = not getattr(args, "no_cache", False)
    from . import env_dagster_home

    homes = {"dagster_home": getattr(args, "dagster_home", None), "stock_dagster_home": env_dagster_home()}
    if sys.stderr.isatty() and not getattr(args, "quiet", False):
        with index_progress() as progress:
            store = Store.open(url, options, progress=progress, cache=cache, **homes)
    else:
        store = Store.open(url, options, cache=cache, **homes)
    if not getattr(args, "quiet", False):
        for w in store.warnings:
            err_console().print(f"[yellow]warning:[/] {rich_escape(w)}", highlight=False, markup=True, soft_wrap=True)
    return store


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


_stdout: Console | None = None
_stderr: Console | None = None


def console() -> Console:
    global _stdout
    if _stdout is None or _stdout.file is not sys.stdout:
        _stdout = Console(file=sys.stdout, highlight=False, soft_wrap=False,
                          width=None if sys.stdout.isatty() else 200)
    return _stdout


def err_console() -> Console:
    global _stderr
    if _stderr is None or _stderr.file is not sys.stderr:
        _stderr = Console(file=sys.stderr, highlight=False, soft_wrap=True)
    return _stderr


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def table(title: str | None, columns: list[str], rows: Iterable[Iterable[Any]], **kw: Any) -> Table:
    t = Table(title=title, **kw)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*("" if v is None else escape_data(str(v)) for v in r))
    return t


_TAG = re.compile(r"(?<!\\)\[([^\[\]]*)\]")


def _is_style(tag: str) -> bool:
    if tag.startswith("/"):
        return True
    try:
        Style.parse(tag)
        return True
    except Exception:  # noqa: BLE001 - not a style: data such as a mapped step "count_rows[north]"
        return False


def escape_data(text: str) -> str:
    """Keep intended markup (``[green]ok[/]``) but escape brackets that are data, such as
    Dagster's mapped step keys (``count_rows[north]/result``), which rich would swallow."""
    if "[" not in text:
        return text
    return _TAG.sub(lambda m: m.group(0) if _is_style(m.group(1)) else "\\" + m.group(0), text)


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


def styled_status(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/]" if style else status


def short_time(iso: str | None) -> str:
    if not iso:
        return ""
    return iso.replace("T", " ")[:19]


from ..humanize import human_duration, human_size  # noqa: E402,F401 - re-exported for the commands


Handler = Callable[[argparse.Namespace], int]
