"""The frontier-explore terminal app: runs, lineage, assets, diffs and staleness.

All store I/O runs in thread workers; screens read the in-memory index directly and ask
the library (``Store``) for everything else.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ..errors import ExplorerError
from ..humanize import counted
from typing import TYPE_CHECKING

from .errors import describe_error, staleness_or_none
from .messages import StoreChanged, StoreFailed

if TYPE_CHECKING:  # the store (pyarrow, networkx, fsspec) loads in the worker, after first paint
    from ..api import Store


class ExplorerApp(App):
    """Browse a run-prefixed store."""

    CSS_PATH = "app.tcss"
    TITLE = "frontier-explore"
    # the status line names ? and q on every screen; the footer keeps its room for the screen's keys
    BINDINGS = [
        Binding("q", "quit", "quit", show=False),
        Binding("ctrl+q", "quit", "quit", show=False),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        Binding("question_mark", "help", "help", key_display="?", show=False),
        Binding("ctrl+p", "command_palette", "command palette: screens, runs, assets, stores", key_display="^p",
                show=False, priority=True),
        Binding("colon", "command_palette", "command palette (as in vi and k9s)", key_display=":",
                show=False),
        Binding("r", "refresh_store", "refresh", show=False),
        Binding("s", "staleness", "staleness", show=False),
        Binding("L", "lineage", "lineage", key_display="L", show=False),
    ]

    def __init__(
        self,
        url: str,
        storage_options: dict[str, Any] | None = None,
        watch: float | None = None,
        store: Store | None = None,
        label: str | None = None,
        open_options: dict[str, Any] | None = None,
        choices: list[tuple[str, str, str, dict[str, Any]]] | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.open_options = dict(open_options or {})  # cache=, dagster_home= for Store.open
        # configured stores to pick from before loading: (key, label, url, storage options)
        self.choices = list(choices or [])
        self.stores = list(self.choices)  # kept: the palette switches between them, a failed one re-asks
        self.label = label or url  # the store as the user named it, shown in titles
        self.storage_options = dict(storage_options or {})
        self.watch_seconds = watch
        self.store: Store | None = store
        self.report: Any | None = None  # staleness report of the current index
        self.load_error: str | None = None
        self.generation = 0  # bumped on every (re)load that changed something
        self._signature: tuple | None = None
        self._manual_refresh = False
        self._loading = threading.Lock()
        self._runs_painted = threading.Event()  # the first paint of a large store's runs is on screen
        self.crash: tuple[BaseException, Path | None] | None = None  # an unhandled error and its log
        self._crash_told = False
        self.log_crashes = False  # set by ``run``: a test's app raises into the test instead

    # ------------------------------------------------------------------ crashes
    def _handle_exception(self, error: Exception) -> None:
        """A bug in the app: the traceback goes to a log file, the terminal gets one line after the
        app closes, and the command exits non-zero (``run``)."""
        if self.crash is None:
            self.crash = (error, write_crash_log(error) if self.log_crashes else None)
        super()._handle_exception(error)

    def _print_error_renderables(self) -> None:
        if self.crash is None:
            super()._print_error_renderables()
            return
        from ..visible import one_line

        self._exit_renderables.clear()
        if self._crash_told:
            return
        self._crash_told = True
        error, log = self.crash
        where = f"the traceback is in {log}" if log is not None else "no log file could be written"
        import sys

        print(f"frontier-explore: the app crashed: {one_line(f'{type(error).__name__}: {error}')} ({where})",
              file=sys.stderr)

    # ------------------------------------------------------------------ screens
    def get_default_screen(self) -> Screen:
        from .screens.runs import RunsScreen

        return RunsScreen()

    def on_mount(self) -> None:
        self.sub_title = self.label
        if self.store is None and self.choices:
            self.ask_store()
        elif self.store is None:
            self.load_store()
        else:
            self._compute_report_and_notify()
        if self.watch_seconds:
            self.set_interval(self.watch_seconds, self.poll)

    def _picked(self, key: str | None) -> None:
        for k, label, url, options in self.stores:
            if k == key:
                self.url, self.label, self.storage_options = url, label.split("  ")[0], dict(options)
                self.sub_title = self.label
        self.choices = []
        self.load_store()

    def ask_store(self) -> None:
        """The store picker over the configured stores."""
        from .screens.picker import StorePicker

        self.push_screen(StorePicker([(key, label) for key, label, _, _ in self.stores]), self._picked)

    def switch_store(self, key: str) -> None:
        """Open another configured store in place of this one (from the palette or the picker)."""
        self._to_home()
        self.store, self.report, self.generation, self._signature = None, None, 0, None
        for screen in self.screen_stack:
            for table in screen.query("#runs"):
                table.loading = True
        self._picked(key)

    # ------------------------------------------------------------------ loading
    @work(thread=True, group="store")
    def load_store(self) -> None:
        if not self._loading.acquire(blocking=False):
            return  # a read is already under way (a slow store polled often): skip this one
        try:
            if self.store is None:
                from ..api import Store

                # the cached runs are painted as cached (no stat of each run's manifest before
                # the first frame: 0.2 s at 50,000 runs), then checked here, after that paint
                store = Store.open(self.url, self.storage_options, **{"check": False, **self.open_options})
                if not store.index.materialized:
                    # the runs are known before the versions are parsed (a large store takes
                    # seconds): the runs table paints now, the rest once the report is there;
                    # parsing waits for that paint (it would slow it down, holding the GIL)
                    self._runs_painted.clear()
                    if self.call_from_thread(self._runs_known, store):
                        self._runs_painted.wait(timeout=2.0)
                if store.check_cached() and not store.index.materialized:
                    self.call_from_thread(self._runs_checked)  # a cached run changed: redraw the runs now
            else:
                store = self.store.refresh()
            report = staleness_or_none(self, store)
            signature = self.signature(store)  # (here, not on the event loop: 0.2 s at 50,000 runs)
        except Exception as exc:  # noqa: BLE001 - shown to the user, the app keeps running
            self.call_from_thread(self._load_failed, describe_error(exc))
            return
        finally:
            self._loading.release()
        self.call_from_thread(self._loaded, store, report, signature)

    def notify(self, message: str, *, title: str = "", severity: Any = "information",  # type: ignore[override]
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification (screens' and widgets' too: theirs come here) is plain text made
        visible and bounded: messages quote store names and files, and are never markup."""
        from ..visible import bounded
        from .text import shown_text

        kw = {} if timeout is None else {"timeout": timeout}
        super().notify(bounded(shown_text(message, lines=True), 2000), title=bounded(shown_text(" ".join(str(title).split()))),
                       severity=severity, markup=False, **kw)

    def _runs_known(self, store: Store) -> bool:
        """The first paint of a store whose versions are still being parsed: only the runs
        screen draws (from the runs alone); every screen redraws when ``_loaded`` follows.
        True when a screen will call ``runs_painted`` once its rows are on screen."""
        if self.store is not None:
            return False
        self.store = store
        drawing = False
        for screen in list(self.screen_stack):
            if getattr(screen, "draws_from_runs", False):
                screen.post_message(StoreChanged(self.generation))
                drawing = drawing or screen is self.screen
        return drawing

    def _runs_checked(self) -> None:
        """The check after the first paint found cached runs that changed on disk (the store has
        read them again): the screens drawn from the runs alone redraw, before the versions are
        parsed (``_loaded`` redraws every screen once they are)."""
        for screen in list(self.screen_stack):
            if getattr(screen, "draws_from_runs", False):
                screen.post_message(StoreChanged(self.generation))

    def runs_painted(self) -> None:
        """The runs screen's first rows are on screen: the loader may go on parsing versions."""
        self._runs_painted.set()

    def _compute_report_and_notify(self) -> None:
        self.report = staleness_or_none(self, self.store)
        self._loaded(self.store, self.report)

    @staticmethod
    def signature(store: Store) -> tuple:
        """What the screens show of a store: unchanged signature, nothing to redraw."""
        runs = tuple((r.run_id, r.status, r.asset_count, r.finished_at) for r in store.index.runs.values())
        try:
            flags = len(store.flags())  # read with the staleness report; a new flag redraws
        except Exception:  # noqa: BLE001
            flags = -1
        return runs, len(store.index.versions), len(store.warnings), flags

    def _loaded(self, store: Store, report: Any | None, signature: tuple | None = None) -> None:
        first = self.generation == 0
        if first:
            self.store = None  # (set by _runs_known for the first paint only)
        if signature is None:
            signature = self.signature(store)
        if not first and signature == self._signature and self.load_error is None:
            if self._manual_refresh:
                self._manual_refresh = False
                self.notify(f"no change: {counted(len(store.index.runs), 'run')}", timeout=2)
            return  # a poll that found nothing new: leave every screen as it is
        self._manual_refresh = False
        self._signature = signature
        self.store = store
        self.report = report
        self.load_error = None
        self.generation += 1
        if first and store.warnings:
            n = len(store.warnings)
            self.notify("\n".join(store.warnings[:3]) + (f"\n… and {n - 3} more" if n > 3 else ""),
                        title=f"{n} store warning{'s' if n != 1 else ''}", severity="warning")
        for screen in list(self.screen_stack):  # each screen redraws in its handler (AppScreen)
            screen.post_message(StoreChanged(self.generation))

    def after_write(self, store: Store, report: Any | None, message: str) -> None:
        """Redraw every screen after the app wrote a flag (the only write it makes)."""
        self._signature = None
        self._loaded(store, report)
        self.notify(message, timeout=4)

    def _load_failed(self, message: str) -> None:
        self.load_error = message
        self.notify(message, title="cannot read the store", severity="error", timeout=10)
        for screen in list(self.screen_stack):
            screen.post_message(StoreFailed(message))
        if self.store is None and self.stores:  # a broken store picked: choose another, never a dead end
            self.ask_store()

    def poll(self) -> None:
        self.load_store()

    # ------------------------------------------------------------------ actions
    def action_refresh_store(self) -> None:
        self._manual_refresh = True
        self.load_store()

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_staleness(self) -> None:
        from .screens.staleness import StalenessScreen

        if self.store is None:
            return
        if not isinstance(self.screen, StalenessScreen):
            self.push_screen(StalenessScreen())

    def action_lineage(self, focus: str | None = None) -> None:
        from .screens.graph import GraphScreen

        if self.store is None:
            return
        if isinstance(self.screen, GraphScreen):
            if focus:
                self.screen.focus_asset(focus)
            return
        self.push_screen(GraphScreen(focus=focus))

    def open_run(self, run_id: str) -> None:
        from .screens.run import RunScreen

        self.push_screen(RunScreen(run_id))

    def open_asset(self, key: str, run: str | None = None) -> None:
        from .screens.asset import AssetScreen

        if self.store is None:
            return
        try:
            found = self.store.asset_versions(key)  # an asset, or one partition (``key[part]``)
        except ExplorerError:
            found = []
        if not found:
            self.notify(f"{key} has no committed version in the store", severity="warning")  # (notify escapes)
            return
        self.push_screen(AssetScreen(key, run))

    def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Runs", "go back to the runs table", self._to_home)
        yield SystemCommand("Lineage graph", "the whole store at its latest versions (L)", self.action_lineage)
        yield SystemCommand("Staleness", "stale and missing assets with their causes (s)", self.action_staleness)
        yield SystemCommand("Refresh", "re-read the store, keeping the selection (r)", self.action_refresh_store)
        yield SystemCommand("Help", "every key binding (?)", self.action_help)
        from .text import shown_markup  # the palette reads titles and help as markup

        if self.store is not None:
            for key in self.store.assets():
                yield SystemCommand(f"Asset {shown_markup(key)}", "open this asset's latest version",
                                    lambda k=key: self.open_asset(k))
            for run in reversed(self.store.runs):
                yield SystemCommand(f"Run {shown_markup(run.run_id)}", shown_markup(f"{run.job or ''} {run.status}"),
                                    lambda r=run.run_id: self.open_run(r))
        for key, label, _, _ in self.stores:
            yield SystemCommand(f"Store {shown_markup(label)}", "open this configured store instead",
                                lambda k=key: self.switch_store(k))
        yield SystemCommand("Quit", "leave the app (q)", self.exit)

    def copy_value(self, value: str, what: str = "") -> None:
        """Put a store's value on the clipboard (OSC 52, through the app's driver) and say so in the
        status line. A value holding control characters (a terminal escape, a bidi override) is
        copied in its visible form: pasting must not drive anyone's terminal."""
        from .text import shown_text
        from .widgets.bars import StatusLine

        shown = shown_text(value)
        self.copy_to_clipboard(shown)
        note = f"copied {what + ' ' if what else ''}{shown}" + ("" if shown == value else " (control characters made visible)")
        for line in self.screen.query(StatusLine):
            line.note = note

    def _to_home(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()


def crash_log_path() -> Path:
    """Where a crash's traceback goes: ``$FRONTIER_EXPLORE_LOG_DIR``, else the XDG state
    folder (``~/.local/state/frontier-explore``), one file per crash."""
    import os

    base = os.environ.get("FRONTIER_EXPLORE_LOG_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "frontier-explore")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(base) / f"crash-{stamp}-{os.getpid()}.log"


def write_crash_log(error: BaseException) -> Path | None:
    """The whole traceback in a log file (the terminal gets one line); None if no log could be written."""
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    for path in (crash_log_path(), Path(tempfile.gettempdir()) / crash_log_path().name):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def run(app: "ExplorerApp", headless: bool = False) -> int:
    """Run the app until it exits: 0 when the user quit, 1 after a crash (which printed one line
    naming its log file)."""
    app.log_crashes = True
    app.run(headless=headless)
    if app.crash is not None:
        return 1
    return app.return_code or 0


def run_app(url: str, storage_options: dict[str, Any] | None = None, watch: float | None = None,
            label: str | None = None, open_options: dict[str, Any] | None = None,
            choices: list[tuple[str, str, str, dict[str, Any]]] | None = None) -> int:
    return run(ExplorerApp(url, storage_options, watch, label=label, open_options=open_options, choices=choices))
