"""One asset version and everything known about it, one tab per module of this package:
overview (facts, partitions, schema), preview, versions (with diff marks), history plot,
provenance and impact trees, column lineage. The screen composes the tabs, fills them from the store on every
``StoreChanged``, and owns the actions that span tabs: flag / unflag, verify, unpickle, trace."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static, TabbedContent, Tree

from ....errors import UnknownRun
from ....models import AssetVersion, InputRef
from ....names import with_partition
from ...errors import describe_error, report_error, safely, staleness_or_none
from ...text import safe, status_text
from ...widgets.bars import Breadcrumbs, bottom_bars
from ...widgets.lineage_graph import short_run
from ..base import AppScreen
from .columns import ColumnRef, ColumnsPane
from .history import HistoryPane
from .lineage import TREE_DEPTH, LineagePane
from .overview import OverviewPane, fmt_value
from .preview import PreviewPane, PreviewTable
from .versions import VersionsPane, VersionsTable

TABS = ["overview", "preview", "versions", "history", "provenance", "impact", "columns"]

__all__ = ["AssetScreen", "PreviewTable", "TABS", "TREE_DEPTH", "VersionsTable", "fmt_value"]


class AssetScreen(AppScreen):
    """An asset version and everything known about it."""

    AUTO_FOCUS = "#schema"

    BINDINGS = [
        Binding("escape", "app.back", "back"),
        Binding("n", "next_stat", "next statistic", show=False),
        Binding("f", "flag", "flag"),
        Binding("F", "unflag", "unflag", key_display="F"),
        Binding("V", "verify", "verify", key_display="V"),
        Binding("P", "load_pickle", "unpickle", key_display="P"),
        *[Binding(str(i + 1), f"tab('{t}')", t, show=False) for i, t in enumerate(TABS)],
        Binding("left_square_bracket", "cycle_tab(-1)", "previous tab", key_display="[", show=False),
        Binding("right_square_bracket", "cycle_tab(1)", "next tab", key_display="]", show=False),
        Binding("y", "copy('ident')", "copy KEY@RUN", show=False),
        Binding("Y", "copy('path')", "copy data path", key_display="Y", show=False),
        Binding("H", "copy('hash')", "copy content hash", key_display="H", show=False),
    ]

    def __init__(self, key: str, run: str | None = None, column: str | None = None) -> None:
        super().__init__()
        self.key = key  # an asset key, or one partition of it (``events[2023-01-22]``)
        self.asset = key  # the asset key itself (set from the version shown)
        self.run = run
        self.column = column  # opened at this column of the columns tab (from another version's column)

    @property
    def crumb(self) -> str:
        return f"{self.key}" + (f" @ {short_run(self.run)}" if self.run else "")

    @property
    def version(self) -> AssetVersion:
        store = self.store
        try:
            return store.version(self.key, self.run)
        except UnknownRun:  # a run that wrote several partitions of the asset: its newest one
            written = [v for v in store.run_versions(self.run) if v.asset == self.key] if self.run else []
            if not written:
                raise
            return written[-1]

    def compose(self) -> ComposeResult:
        yield Breadcrumbs()
        yield Static(id="title", classes="title")
        with TabbedContent(id="tabs", initial="overview"):
            yield OverviewPane()
            yield PreviewPane()
            yield VersionsPane()
            yield HistoryPane()
            yield LineagePane("provenance", 5)
            yield LineagePane("impact", 6)
            yield ColumnsPane(7)
        yield from bottom_bars()

    def on_mount(self) -> None:
        safely(self.app, self.show_store)
        # the schema has the focus (j/k move it) but the facts above it are what you open an asset for
        self.call_after_refresh(lambda: self.query_one("#overview VerticalScroll").scroll_home(animate=False))
        if self.column is not None:
            self.call_after_refresh(self._show_column, self.column)

    def _show_column(self, column: str) -> None:
        self.action_tab("columns")
        self.query_one(ColumnsPane).select_column(column)

    # ------------------------------------------------------------------ filling
    def show_store(self) -> None:
        try:
            v = self.version
        except Exception as exc:  # noqa: BLE001 - the version vanished on refresh
            self.notify(describe_error(exc), severity="error")
            return
        store = self.store
        self.asset = v.asset
        if v.partition is not None:  # a partitioned asset: this screen shows one partition
            self.key = with_partition(v.asset, v.partition)
        self.fill_title(v)
        self.query_one(OverviewPane).show(store, v, self.key, self.report)
        self.fill_versions(v)
        self.query_one(HistoryPane).show(store, self.key)
        for pane in self.query(LineagePane):
            pane.show(store, self.key, v.run_id)
        self.query_one(PreviewPane).show(store, v)
        self.query_one(ColumnsPane).show(store, v, self.key)

    def fill_versions(self, v: AssetVersion) -> None:
        versions = self.store.asset_versions(self.key)
        marks = {ver.run_id: self.flag_mark(ver.run_id) for ver in versions}
        self.query_one(VersionsPane).show(self.store, v, self.key, marks)

    def fill_title(self, v: AssetVersion) -> None:
        latest = self.store.index.latest(v.asset, v.partition)
        title: list = [("asset ", "bold"), (self.key, "bold cyan"), f" @ {v.run_id}"]  # fits 80 columns
        if latest is not None and latest.run_id == v.run_id:
            title.append("  (latest)  ")
            if self.report is not None:
                title.append(status_text(self.report.status_of(self.asset)))
        else:
            title.append(("  (superseded)", "bright_black"))
        mark = self.flag_mark(v.run_id)
        if mark:
            title += ["  ", status_text(mark)]
        self.query_one("#title", Static).update(safe(*title))

    def flag_mark(self, run_id: str) -> str:
        """``flagged`` (this version), ``tainted`` (built from a flagged one) or ``""``."""
        store = self.store
        try:
            if (self.key, run_id) in store.flagged():
                return "flagged"
            if (self.key, run_id) in store.tainted():
                return "tainted"
        except Exception:  # noqa: BLE001 - unreadable flags: no marker, the load warned
            return ""
        return ""

    # ------------------------------------------------------------------ tabs and opening
    def action_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab
        target = {"versions": "#versions-table", "preview": "#preview-table", "overview": "#schema",
                  "provenance": "#provenance-tree", "impact": "#impact-tree", "columns": "#columns-tree"}.get(tab)
        if target:
            self.query_one(target).focus()

    def action_cycle_tab(self, step: int) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        self.action_tab(TABS[(TABS.index(tabs.active) + step) % len(TABS)])

    def action_copy(self, what: str) -> None:
        """``y`` where the focused widget copies nothing of its own (a tree copies its version)."""
        v = self.version
        value = {"ident": f"{self.key}@{v.run_id}", "path": v.data_path, "hash": v.content_hash}[what]
        self.app.copy_value(value, {"ident": "", "path": "path", "hash": "hash"}[what])

    def action_next_stat(self) -> None:
        self.query_one(HistoryPane).next_stat()
        self.query_one("#tabs", TabbedContent).active = "history"

    @on(DataTable.RowSelected, "#versions-table")
    def _version_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        run = str(event.row_key.value)
        if run != self.version.run_id:
            self.app.open_asset(self.key, run)

    @on(Tree.NodeSelected)
    def _tree_selected(self, event: Tree.NodeSelected) -> None:
        ref = event.node.data
        if isinstance(ref, InputRef) and (ref.asset, ref.run_id) != (self.key, self.version.run_id):
            if self.store.index.wrote(ref.asset, ref.run_id):
                self.app.open_asset(ref.asset, ref.run_id)

    @on(Tree.NodeSelected, "#columns-tree")
    def _column_selected(self, event: Tree.NodeSelected) -> None:
        ref = event.node.data
        if not isinstance(ref, ColumnRef) or not ref.column:
            return
        if ref.run_id is None or ref.ident not in self.store.index.versions:
            self.notify(f"{ref.key} in that run is not in the store", severity="warning")
            return
        self.app.push_screen(AssetScreen(ref.key, ref.run_id, column=ref.column))

    # ------------------------------------------------------------------ diff
    @on(VersionsTable.DiffRequested)
    def _diff_requested(self, event: VersionsTable.DiffRequested) -> None:
        event.stop()
        if event.a is None:
            self.open_diff_previous(event.b)
        else:
            self.open_diff(event.a, event.b)

    def open_diff(self, a: str, b: str) -> None:
        from ..diff import DiffScreen

        order = {r: i for i, r in enumerate(self.store.index.runs)}
        a, b = sorted((a, b), key=lambda r: order.get(r, 0))
        self.app.push_screen(DiffScreen(self.key, a, b))

    def open_diff_previous(self, run_id: str) -> None:
        versions = [v.run_id for v in self.store.asset_versions(self.key)]
        i = versions.index(run_id)
        if i == 0:
            self.notify(f"{run_id} holds the first version of {self.key}: nothing before it", severity="warning")
            return
        self.open_diff(versions[i - 1], run_id)

    # ------------------------------------------------------------------ trace
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "trace_row":  # trace follows table rows: not offered for JSON, arrays, bytes
            pane = next(iter(self.query(PreviewPane)), None)
            return pane is not None and pane.frame is not None and pane.version is not None and pane.version.table is not None
        return super().check_action(action, parameters)

    def action_trace_row(self) -> None:
        from ..trace import TraceScreen

        pane = self.query_one(PreviewPane)
        v = pane.version or self.version
        where = pane.trace_where()
        if not where:
            self.notify("no row to trace: the preview shows no table row with simple values", severity="warning")
            return
        self.app.push_screen(TraceScreen(v.asset, v.run_id, where))

    # ------------------------------------------------------------------ flags
    def target_version(self) -> AssetVersion:
        """The version selected in the versions tab, else the one this screen shows."""
        if self.query_one("#tabs", TabbedContent).active == "versions":
            rid = self.query_one(VersionsPane).table.selected()
            if rid is not None:
                return self.store.version(self.key, rid)
        return self.version

    def action_flag(self) -> None:
        from ..modals import ReasonModal

        v = self.target_version()
        if (v.asset, v.run_id) in self.store.flagged():
            self.notify(f"{v.asset} @ {v.run_id} is already flagged (F unflags it)", severity="warning")
            return

        def done(reason: str | None) -> None:
            if reason:
                self.write_flag("flag", v.asset, v.run_id, reason)

        self.app.push_screen(ReasonModal(safe("Flag ", (v.asset, "bold"), f" @ {v.run_id} as bad. Why?"),
                                         "reason (kept in the store under _frontier_flags/)"), done)

    def action_unflag(self) -> None:
        from ..modals import ReasonModal

        v = self.target_version()
        if (v.asset, v.run_id) not in self.store.flagged():
            self.notify(f"{v.asset} @ {v.run_id} is not flagged", severity="warning")
            return

        def done(reason: str | None) -> None:
            if reason:
                self.write_flag("unflag", v.asset, v.run_id, reason)

        self.app.push_screen(ReasonModal(safe("Retract the flag on ", (v.asset, "bold"), f" @ {v.run_id}. Why?"),
                                         "reason for the retraction"), done)

    @work(thread=True, group="flag")
    def write_flag(self, action: str, key: str, run: str, reason: str) -> None:
        store = self.store
        try:
            getattr(store, action)(key, run, reason)
        except Exception as exc:  # noqa: BLE001
            report_error(self.app, exc, title=f"cannot {action}")
            return
        report = staleness_or_none(self.app, store)
        done = "flagged" if action == "flag" else "unflagged"
        self.app.call_from_thread(self.app.after_write, store, report, f"{done} {key} @ {run}")

    # ------------------------------------------------------------------ verify
    def action_verify(self) -> None:
        self.query_one("#tabs", TabbedContent).active = "versions"
        self.query_one("#versions-table").focus()
        self.verify_versions()

    @work(thread=True, exclusive=True, group="verify")
    def verify_versions(self) -> None:
        from ....verify import check_version

        store = self.store
        try:
            results = {v.run_id: check_version(store.data_fs, store.root, v) for v in store.asset_versions(self.key)}
        except Exception as exc:  # noqa: BLE001
            report_error(self.app, exc, title="cannot verify")
            return
        self.app.call_from_thread(self._show_integrity, results)

    def _show_integrity(self, results: dict[str, Any]) -> None:
        if not self.is_attached:  # the screen was closed while the worker ran
            return
        self.query_one(VersionsPane).integrity = results
        safely(self.app, self.fill_versions, self.version)
        counts: dict[str, int] = {}
        for r in results.values():
            counts[r.status] = counts.get(r.status, 0) + 1
        bad = sum(n for s, n in counts.items() if s not in ("ok", "unverifiable"))
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        self.notify(f"{len(results)} versions of {self.key}: {summary}", title="verified",
                    severity="error" if bad else "information")

    # ------------------------------------------------------------------ pickles
    def action_load_pickle(self) -> None:
        from ..modals import ConfirmModal

        v = self.query_one(PreviewPane).version or self.version
        if v.data_format != "pickle":
            self.notify(f"{v.asset} is {v.data_format}, not a pickle: its preview is already shown")
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.unpickle(v)

        self.app.push_screen(ConfirmModal(safe(
            (v.asset, "bold"), f" @ {v.run_id} is a pickle.\nUnpickling runs code from the store. Load anyway?")), done)

    @work(thread=True, exclusive=True, group="preview")
    def unpickle(self, v: AssetVersion) -> None:
        try:
            value = self.store.load(v.asset, v.run_id, allow_pickle=True)
        except Exception as exc:  # noqa: BLE001
            report_error(self.app, exc, title="cannot load")
            return
        self.app.call_from_thread(self._show_unpickled, v, type(value).__name__, repr(value))

    def _show_unpickled(self, v: AssetVersion, type_name: str, text: str) -> None:
        if not self.is_attached:  # the screen was closed while the worker ran
            return
        self.query_one(PreviewPane).show_unpickled(v, type_name, text)
        self.query_one("#tabs", TabbedContent).active = "preview"
