"""One asset: sidecar facts, schema with stats, data preview, versions (with diff marks),
history plot, provenance tree and impact tree."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane, Tree

from ...lineage import LineageResult
from ...models import AssetVersion, InputRef
from ..app import describe_error
from ..widgets.tables import Table
from ..text import human_size, status_text, when
from ..widgets.lineage_graph import short_run
from ..widgets.plot import PlotView

TABS = ["overview", "preview", "versions", "history", "provenance", "impact"]
META_COLUMNS = {"run_id", "started_at", "status", "hash"}


def fmt_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.4g}"
    return str(v)


class VersionsTable(Table):
    """Versions of one asset across runs; space marks two versions, ``D`` diffs them."""

    BINDINGS = [
        Binding("space", "mark", "mark"),
        Binding("D", "diff_marked", "diff marked", key_display="D"),
        Binding("p", "diff_previous", "diff vs previous"),
    ]

    def __init__(self, **kw: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.marked: list[str] = []

    def selected(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def action_mark(self) -> None:
        rid = self.selected()
        if rid is None:
            return
        if rid in self.marked:
            self.marked.remove(rid)
        else:
            self.marked.append(rid)
            if len(self.marked) > 2:
                self.marked.pop(0)
        for key in list(self.rows):
            self.update_cell(key, "mark", "●" if str(key.value) in self.marked else "")
        self.screen.show_marks()

    def action_diff_marked(self) -> None:
        if len(self.marked) != 2:
            self.notify("mark two versions with space first (or p: diff against the previous)", severity="warning")
            return
        self.screen.open_diff(*self.marked)

    def action_diff_previous(self) -> None:
        rid = self.selected()
        if rid is not None:
            self.screen.open_diff_previous(rid)


class AssetScreen(Screen):
    """An asset version and everything known about it."""

    AUTO_FOCUS = "#schema"

    BINDINGS = [
        Binding("escape", "app.back", "back"),
        Binding("n", "next_stat", "next statistic", show=False),
        *[Binding(str(i + 1), f"tab('{t}')", t, show=False) for i, t in enumerate(TABS)],
    ]

    def __init__(self, key: str, run: str | None = None) -> None:
        super().__init__()
        self.key = key
        self.run = run
        self.stat_index = 0
        self.history: pd.DataFrame | None = None
        self._previewed: tuple | None = None

    @property
    def version(self) -> AssetVersion:
        return self.app.store.version(self.key, self.run)

    def compose(self) -> ComposeResult:
        yield Static(id="title", classes="title")
        with TabbedContent(id="tabs", initial="overview"):
            with TabPane("1 overview", id="overview"):
                with VerticalScroll():
                    yield Static(id="facts", classes="facts")
                    yield Table(id="schema", cursor_type="row", zebra_stripes=True)
            with TabPane("2 preview", id="preview"):
                yield Table(id="preview-table", zebra_stripes=True)
                yield VerticalScroll(Static(id="preview-text"), id="preview-scroll")
            with TabPane("3 versions", id="versions"):
                yield Static(id="marks", classes="hint")
                yield VersionsTable(id="versions-table")
            with TabPane("4 history", id="history"):
                yield Static(id="history-help", classes="hint")
                yield PlotView(id="plot")
            with TabPane("5 provenance", id="provenance"):
                yield Tree("provenance", id="provenance-tree")
            with TabPane("6 impact", id="impact"):
                yield Tree("impact", id="impact-tree")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#preview-scroll").display = False
        self.app.safely(self.store_changed)

    # ------------------------------------------------------------------ filling
    def store_changed(self) -> None:
        try:
            v = self.version
        except Exception as exc:  # noqa: BLE001 - the version vanished on refresh
            self.notify(describe_error(exc), severity="error")
            return
        self.fill_title(v)
        self.fill_facts(v)
        self.fill_schema(v)
        self.fill_versions(v)
        self.show_marks()
        self.fill_history()
        self.fill_lineage(v)
        if self._previewed != (v.asset, v.run_id, v.content_hash):
            self._previewed = (v.asset, v.run_id, v.content_hash)
            self.load_preview(v)

    def fill_title(self, v: AssetVersion) -> None:
        store = self.app.store
        latest = store.index.latest(self.key)
        title = Text.assemble(("asset ", "bold"), (self.key, "bold cyan"), f"  version of run {v.run_id}")
        if latest is not None and latest.run_id == v.run_id:
            title.append("  (latest)  ")
            report = self.app.report
            if report is not None:
                title.append_text(status_text(report.status_of(self.key)))
        else:
            title.append("  (superseded)", style="bright_black")
        self.query_one("#title", Static).update(title)

    def fill_facts(self, v: AssetVersion) -> None:
        store = self.app.store
        run = store.index.runs.get(v.run_id)
        t = Text()

        def line(label: str, value: Any, style: str = "") -> None:
            t.append(f"{label:>13}  ", style="bold")
            t.append(f"{value}\n", style=style)

        line("run", f"{v.run_id}" + (f"  ({run.job}, {run.status})" if run else ""))
        line("created", when(v.created_at))
        line("code version", v.code_version or "-")
        line("format", v.data_format)
        line("size", human_size(v.size_bytes))
        line("hash", v.content_hash)
        line("path", v.data_path)
        if v.table is not None:
            line("rows", f"{v.table.num_rows:,}")
        if v.keys:
            line("keys", ", ".join(v.keys))
        line("inputs", ", ".join(f"{i.asset}@{i.run_id}" for i in v.inputs) or "none (a source)")
        for k, val in sorted(v.metadata.items()):
            line(f"meta {k}"[:13], json.dumps(val) if not isinstance(val, str) else val)
        report = self.app.report
        latest = store.index.latest(self.key)
        if report is not None and latest is not None and latest.run_id == v.run_id:
            st = report.get(self.key)
            for c in getattr(st, "causes", ()) or ():
                line("cause", c.describe(), "yellow")
        self.query_one("#facts", Static).update(t)

    def fill_schema(self, v: AssetVersion) -> None:
        table = self.query_one("#schema", DataTable)
        table.clear(columns=True)
        if v.table is None:
            table.display = False
            return
        for c in ("column", "type", "nulls", "min", "max", "mean", "distinct"):
            table.add_column(c, key=c)
        for c in v.table.columns:
            table.add_row(c.name, c.type, fmt_value(c.null_count), fmt_value(c.min), fmt_value(c.max),
                          fmt_value(c.mean), fmt_value(c.distinct), key=c.name)

    def fill_versions(self, v: AssetVersion) -> None:
        store = self.app.store
        table = self.query_one("#versions-table", VersionsTable)
        keep = table.selected()
        table.clear(columns=True)
        for c in ("mark", "run", "job", "run status", "created", "rows", "size", "hash", "code"):
            table.add_column(c, key=c)
        versions = store.index.asset_versions(self.key)
        for ver in reversed(versions):
            run = store.index.runs.get(ver.run_id)
            table.add_row(
                "●" if ver.run_id in table.marked else "",
                Text(ver.run_id, style="bold" if ver.run_id == v.run_id else ""),
                run.job if run else "",
                status_text(run.status) if run else "",
                when(ver.created_at),
                Text(f"{ver.table.num_rows:,}" if ver.table else "", justify="right"),
                Text(human_size(ver.size_bytes), justify="right"),
                ver.short_hash,
                ver.code_version or "",
                key=ver.run_id,
            )
        target = keep or v.run_id
        try:
            table.move_cursor(row=table.get_row_index(target), animate=False)
        except Exception:  # noqa: BLE001
            pass

    def history_frame(self) -> pd.DataFrame:
        """Row count, size, column means and numeric metadata of every version (``store.history``)."""
        store = self.app.store
        versions = store.index.asset_versions(self.key)
        stats = (["num_rows"] if any(v.table for v in versions) else []) + ["size_bytes"]
        for v in versions:
            for c in v.table.columns if v.table else ():
                if c.mean is not None and f"{c.name}.mean" not in stats:
                    stats.append(f"{c.name}.mean")
            for k, val in v.metadata.items():
                if isinstance(val, (int, float)) and not isinstance(val, bool) and f"metadata.{k}" not in stats:
                    stats.append(f"metadata.{k}")
        return store.history(self.key, stats)

    def stats(self) -> list[str]:
        df = self.history
        if df is None:
            return []
        out = []
        for c in df.columns:
            if c in META_COLUMNS:
                continue
            if pd.api.types.is_numeric_dtype(df[c]) and df[c].notna().any():
                out.append(c)
        return out

    def fill_history(self) -> None:
        try:
            self.history = self.history_frame()
        except Exception as exc:  # noqa: BLE001
            self.history = None
            self.query_one("#history-help", Static).update(Text(describe_error(exc), style="red"))
            return
        self.draw_history()

    def draw_history(self) -> None:
        stats = self.stats()
        help_ = self.query_one("#history-help", Static)
        if not stats:
            help_.update(Text("no numeric statistics recorded for this asset", style="dim"))
            self.query_one("#plot", PlotView).set_series([], [], "")
            return
        stat = stats[self.stat_index % len(stats)]
        help_.update(Text.assemble(("n", "bold"), f" next statistic ({len(stats)}): ",
                                   *[(s + "  ", "bold reverse" if s == stat else "") for s in stats[:12]]))
        df = self.history
        labels = [short_run(r) for r in df["run_id"]]
        values = [None if pd.isna(x) else float(x) for x in df[stat]]
        self.query_one("#plot", PlotView).set_series(labels, values, f"{self.key}: {stat} by run")

    def action_next_stat(self) -> None:
        self.stat_index += 1
        self.draw_history()
        self.query_one("#tabs", TabbedContent).active = "history"

    def fill_lineage(self, v: AssetVersion) -> None:
        store = self.app.store
        for direction, tree_id in (("provenance", "#provenance-tree"), ("impact", "#impact-tree")):
            tree = self.query_one(tree_id, Tree)
            tree.clear()
            try:
                result: LineageResult = getattr(store, direction)(self.key, v.run_id)
            except Exception as exc:  # noqa: BLE001
                tree.root.set_label(Text(describe_error(exc), style="red"))
                continue
            tree.root.set_label(self.ref_label(result.root, result))
            tree.root.data = result.root
            seen: set[InputRef] = set()

            def add(node, ref: InputRef, result=result, seen=seen) -> None:
                for child in result.children(ref):
                    label = self.ref_label(child, result)
                    if child in seen:
                        node.add_leaf(label + Text(" (shown above)", style="dim"), data=child)
                        continue
                    seen.add(child)
                    kids = result.children(child)
                    if kids:
                        add(node.add(label, data=child, expand=True), child)
                    else:
                        node.add_leaf(label, data=child)

            add(tree.root, result.root)
            tree.root.expand()
            n = len(result.versions) - 1
            if n == 0:
                tree.root.add_leaf(Text("nothing upstream: a source" if direction == "provenance"
                                        else "nothing built from this version yet", style="dim"))

    def ref_label(self, ref: InputRef, result: LineageResult) -> Text:
        missing = ref in set(result.missing)
        t = Text.assemble((ref.asset, "bold"), "  ", (ref.run_id, "cyan"))
        if missing:
            t.append("  missing from the store", style="red")
        return t

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
            if (ref.asset, ref.run_id) in self.app.store.index.versions:
                self.app.open_asset(ref.asset, ref.run_id)

    @work(thread=True, exclusive=True, group="preview")
    def load_preview(self, v: AssetVersion) -> None:
        self.app.call_from_thread(self._preview_loading)
        try:
            value = self.app.store.preview(v.asset, v.run_id, rows=50)
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self._show_preview, None, describe_error(exc))
            return
        self.app.call_from_thread(self._show_preview, value, None)

    def _preview_loading(self) -> None:
        self.query_one("#preview-table").loading = True

    def _show_preview(self, value: Any, error: str | None) -> None:
        table = self.query_one("#preview-table", DataTable)
        table.loading = False
        text = self.query_one("#preview-text", Static)
        scroll = self.query_one("#preview-scroll")
        if error is not None or not isinstance(value, pd.DataFrame):
            table.display = False
            scroll.display = True
            if error is not None:
                text.update(Text(error, style="red"))
            elif isinstance(value, (dict, list)):
                text.update(json.dumps(value, indent=2, default=str)[:20000])
            else:
                text.update(str(value)[:20000])
            return
        table.display = True
        scroll.display = False
        table.clear(columns=True)
        for c in value.columns:
            table.add_column(str(c), key=str(c))
        for row in value.itertuples(index=False):
            table.add_row(*(fmt_value(x) for x in row))

    def show_marks(self) -> None:
        marked = self.query_one("#versions-table", VersionsTable).marked
        hint = self.query_one("#marks", Static)
        if len(marked) == 2:
            hint.update(Text.assemble("marked ", (marked[0], "bold"), " and ", (marked[1], "bold"),
                                      ": press ", ("D", "bold"), " to diff them"))
        elif marked:
            hint.update(Text.assemble("marked ", (marked[0], "bold"), ": mark another with ", ("space", "bold")))
        else:
            hint.update(Text.assemble(("space", "bold"), " marks two versions, ", ("D", "bold"), " diffs them, ",
                                      ("p", "bold"), " diffs the selected one against the previous, ",
                                      ("enter", "bold"), " opens it"))

    # ------------------------------------------------------------------ actions
    def action_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab
        target = {"versions": "#versions-table", "preview": "#preview-table", "overview": "#schema",
                  "provenance": "#provenance-tree", "impact": "#impact-tree"}.get(tab)
        if target:
            self.query_one(target).focus()

    def open_diff(self, a: str, b: str) -> None:
        from .diff import DiffScreen

        store = self.app.store
        order = {r: i for i, r in enumerate(store.index.runs)}
        a, b = sorted((a, b), key=lambda r: order.get(r, 0))
        self.app.push_screen(DiffScreen(self.key, a, b))

    def open_diff_previous(self, run_id: str) -> None:
        versions = [v.run_id for v in self.app.store.index.asset_versions(self.key)]
        i = versions.index(run_id)
        if i == 0:
            self.notify(f"{run_id} holds the first version of {self.key}: nothing before it", severity="warning")
            return
        self.open_diff(versions[i - 1], run_id)
