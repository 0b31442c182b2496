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
from .base import AppScreen
from ..widgets.bars import Breadcrumbs, bottom_bars
from textual.widgets import DataTable, Static, TabbedContent, TabPane, Tree

from ...errors import UnknownRun
from ...lineage import LineageResult
from ...models import AssetVersion, InputRef
from ...names import with_partition
from ...visible import bounded, visible
from ..app import describe_error
from ..widgets.tables import Table
from ..text import human_size, integrity_text, safe, status_text, when
from ..widgets.lineage_graph import short_run
from ..widgets.plot import PlotView

NOT_STORED = ("stored outside the store: Dagster recorded this materialization (its metadata, data version "
              "and inputs are in the overview); its data is wherever the asset wrote it, so there is nothing to preview")
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


class PreviewTable(Table):
    """The data preview; ``t`` traces the row under the cursor to its sources."""

    BINDINGS = [Binding("t", "screen.trace_row", "trace this row")]


TREE_DEPTH = 200  # provenance / impact levels drawn (`frontier-explore provenance -f json` lists them all)


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
    ]

    def __init__(self, key: str, run: str | None = None) -> None:
        super().__init__()
        self.key = key  # an asset key, or one partition of it (``events[2023-01-22]``)
        self.asset = key  # the asset key itself (set from the version shown)
        self.run = run
        self.stat_index = 0
        self.history: pd.DataFrame | None = None
        self._previewed: tuple | None = None
        self._preview_frame: pd.DataFrame | None = None
        self._preview_version: AssetVersion | None = None
        self.integrity: dict[str, Any] = {}  # run id -> explorer.verify.Integrity, after V

    @property
    def crumb(self) -> str:
        return f"{self.key}" + (f" @ {short_run(self.run)}" if self.run else "")

    @property
    def version(self) -> AssetVersion:
        store = self.app.store
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
            with TabPane("1 overview", id="overview"):
                with VerticalScroll():
                    yield Static(id="facts", classes="facts")
                    yield Table(id="partitions", cursor_type="row", zebra_stripes=True)
                    yield Table(id="schema", cursor_type="row", zebra_stripes=True)
            with TabPane("2 preview", id="preview"):
                yield PreviewTable(id="preview-table", zebra_stripes=True)
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
        yield from bottom_bars()

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
        self.asset = v.asset
        if v.partition is not None:  # a partitioned asset: this screen shows one partition
            self.key = with_partition(v.asset, v.partition)
        self.fill_title(v)
        self.fill_facts(v)
        self.fill_partitions(v)
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
        latest = store.index.latest(v.asset, v.partition)
        title = Text.assemble(("asset ", "bold"), (self.key, "bold cyan"), f"  version of run {v.run_id}")
        if latest is not None and latest.run_id == v.run_id:
            title.append("  (latest)  ")
            report = self.app.report
            if report is not None:
                title.append_text(status_text(report.status_of(self.asset)))
        else:
            title.append("  (superseded)", style="bright_black")
        mark = self.flag_mark(v.run_id)
        if mark:
            title.append("  ")
            title.append_text(status_text(mark))
        self.query_one("#title", Static).update(safe(title))

    def flag_mark(self, run_id: str) -> str:
        """``flagged`` (this version), ``tainted`` (built from a flagged one) or ``""``."""
        store = self.app.store
        try:
            if (self.key, run_id) in store.flagged():
                return "flagged"
            if (self.key, run_id) in store.tainted():
                return "tainted"
        except Exception:  # noqa: BLE001 - unreadable flags: no marker, the load warned
            return ""
        return ""

    def fill_facts(self, v: AssetVersion) -> None:
        store = self.app.store
        run = store.index.runs.get(v.run_id)
        t = Text()

        def line(label: str, value: Any, style: str = "") -> None:
            t.append(f"{label:>12} ", style="bold")
            t.append(bounded(visible(str(value))) + "\n", style=style)  # one line each, however long

        line("run", f"{v.run_id}" + (f"  ({run.job}, {run.status})" if run else ""))
        line("created", when(v.created_at))
        line("code version", v.code_version or "-")
        if v.stored:
            line("format", v.data_format)
            line("size", human_size(v.size_bytes))
        line("hash", v.content_hash)
        if v.stored:
            line("path", v.data_path)
        else:
            line("data", "stored outside the store (Dagster recorded the materialization)")
        if v.table is not None:
            line("rows", f"{v.table.num_rows:,}")
        if v.keys:
            line("keys", ", ".join(v.keys))
        if v.partition is not None:
            line("partition", v.partition)
        line("inputs", ", ".join(f"{with_partition(i.asset, i.partition)}@{i.run_id}" for i in v.inputs) or "none (a source)")
        try:
            flag = store.active_flags().get((v.asset, v.run_id))
            tainted_by = store.tainted().get((v.asset, v.run_id), ())
        except Exception:  # noqa: BLE001
            flag, tainted_by = None, ()
        if flag is not None:
            line("flagged", f"by {flag.author} at {when(flag.created_at)}: {flag.reason}", "bright_magenta")
        elif tainted_by:
            line("tainted", "built from " + ", ".join(f"{a}@{r}" for a, r in sorted(tainted_by)), "bright_magenta")
        for k, val in sorted(v.metadata.items()):
            line("metadata", f"{k}: " + (json.dumps(val) if not isinstance(val, str) else val))
        for c in store.index.latest_checks(v):
            style = "green" if c.passed else ("red" if c.severity == "ERROR" else "yellow")
            line("check", f"{c.name}: {c.outcome} ({c.severity})" + (f" - {c.description}" if c.description else "")
                 + "".join(f", {k}={val}" for k, val in c.metadata.items()), style)
        report = self.app.report
        latest = store.index.latest(v.asset, v.partition)
        if report is not None and latest is not None and latest.run_id == v.run_id:
            st = report.get(self.asset)
            for c in getattr(st, "causes", ()) or ():
                line("cause", c.describe(), "yellow")
        self.query_one("#facts", Static).update(safe(t))

    def fill_partitions(self, v: AssetVersion) -> None:
        """A partitioned asset's partitions: status, latest run, versions (enter opens one)."""
        table = self.query_one("#partitions", DataTable)
        table.clear(columns=True)
        rows = self.app.store.partitions(v.asset) if v.partition is not None else []
        table.display = bool(rows)
        if not rows:
            return
        for c in ("partition", "status", "latest run", "versions", "created"):
            table.add_column(c, key=c)
        for i, p in enumerate(rows):
            name = Text(visible(p.partition), style="bold" if p.partition == v.partition else "")
            table.add_row(name, status_text(p.status), p.run_id or "", str(p.versions),
                          when(p.created_at) if p.created_at else "", key=str(i))
        self._partition_rows = [p.partition for p in rows]

    @on(DataTable.RowSelected, "#partitions")
    def _partition_selected(self, event: DataTable.RowSelected) -> None:
        part = self._partition_rows[int(event.row_key.value)]
        if with_partition(self.asset, part) != self.key:
            self.app.open_asset(with_partition(self.asset, part))

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
        versions = store.asset_versions(self.key)  # (of this partition: one per run)
        marks = {ver.run_id: self.flag_mark(ver.run_id) for ver in versions}
        # the run is the key; the empty-most columns (flag, check) only when a row has one
        columns = ["run", "mark", "created", "rows", "size", "hash", "run status", "job", "code"]
        try:
            any_flags = bool(store.flags())  # flagged once, even if retracted since: the column stays
        except Exception:  # noqa: BLE001
            any_flags = False
        if any_flags or any(marks.values()):
            columns.insert(2, "flag")
        if self.integrity:
            columns.insert(2, "check")
        table.copy_column = "run"
        for c in columns:
            table.add_column("●" if c == "mark" else c, key=c)
        for ver in reversed(versions):
            run = store.index.runs.get(ver.run_id)
            cells = {
                "mark": "●" if ver.run_id in table.marked else "",
                "run": Text(ver.run_id, style="bold" if ver.run_id == v.run_id else ""),
                "job": run.job if run else "",
                "run status": status_text(run.status) if run else "",
                "flag": status_text(marks[ver.run_id]) if marks[ver.run_id] else "",
                "check": integrity_text(self.integrity[ver.run_id].status) if ver.run_id in self.integrity else "",
                "created": when(ver.created_at),
                "rows": Text(f"{ver.table.num_rows:,}" if ver.table else "", justify="right"),
                "size": Text(human_size(ver.size_bytes), justify="right"),
                "hash": ver.short_hash,
                "code": ver.code_version or "",
            }
            table.add_row(*(cells[c] for c in columns), key=ver.run_id)
        target = keep or v.run_id
        try:
            table.move_cursor(row=table.get_row_index(target), animate=False)
        except Exception:  # noqa: BLE001
            pass

    def history_frame(self) -> pd.DataFrame:
        """Row count, size, column means and numeric metadata of every version (``store.history``)."""
        store = self.app.store
        versions = store.asset_versions(self.key)
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
            self.query_one("#history-help", Static).update(safe(Text(describe_error(exc), style="red")))
            return
        self.draw_history()

    def draw_history(self) -> None:
        stats = self.stats()
        help_ = self.query_one("#history-help", Static)
        if not stats:
            help_.update(safe(Text("no numeric statistics recorded for this asset", style="dim")))
            self.query_one("#plot", PlotView).set_series([], [], "")
            return
        stat = stats[self.stat_index % len(stats)]
        help_.update(safe(Text.assemble(("n", "bold"), f" next statistic ({len(stats)}): ",
                                   *[(s + "  ", "bold reverse" if s == stat else "") for s in stats[:12]])))
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
                tree.root.set_label(safe(Text(describe_error(exc), style="red")))
                continue
            tree.root.set_label(safe(self.ref_label(result.root, result)))
            tree.root.data = result.root
            nodes = {result.root: tree.root}
            for step in result.walk(max_depth=TREE_DEPTH):  # Textual's Tree draws by recursion: bounded
                label = self.ref_label(step.child, result)
                parent = nodes[step.parent]
                if step.repeated:
                    parent.add_leaf(safe(label + Text(" (shown above)", style="dim")), data=step.child)
                elif step.cut:
                    parent.add(safe(label), data=step.child).add_leaf(Text("… deeper levels not drawn here", style="dim"))
                elif step.has_children:
                    nodes[step.child] = parent.add(safe(label), data=step.child, expand=True)
                else:
                    parent.add_leaf(safe(label), data=step.child)
            tree.root.expand()
            n = len(result.versions) - 1
            if n == 0:
                tree.root.add_leaf(safe(Text("nothing upstream: a source" if direction == "provenance"
                                        else "nothing built from this version yet", style="dim")))

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
            if self.app.store.index.wrote(ref.asset, ref.run_id):
                self.app.open_asset(ref.asset, ref.run_id)

    @work(thread=True, exclusive=True, group="preview")
    def load_preview(self, v: AssetVersion) -> None:
        self.app.call_from_thread(self._preview_loading)
        if not v.stored:
            self.app.call_from_thread(self._show_preview, NOT_STORED, None, v)
            return
        try:
            value = self.app.store.preview(v.asset, v.run_id, rows=50)
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self._show_preview, None, describe_error(exc), v)
            return
        self.app.call_from_thread(self._show_preview, value, None, v)

    def _preview_loading(self) -> None:
        self.query_one("#preview-table").loading = True

    def _show_preview(self, value: Any, error: str | None, v: AssetVersion | None = None) -> None:
        if not self.is_attached:  # the screen was closed while the worker ran
            return
        table = self.query_one("#preview-table", DataTable)
        table.loading = False
        text = self.query_one("#preview-text", Static)
        scroll = self.query_one("#preview-scroll")
        self._preview_version = v
        self._preview_frame = value if error is None and isinstance(value, pd.DataFrame) else None
        if error is not None or not isinstance(value, pd.DataFrame):
            table.display = False
            scroll.display = True
            if error is not None:
                text.update(safe(Text(error, style="red")))
            elif v is not None and v.data_format == "pickle":
                text.update(safe(self.pickle_facts(v, str(value))))
            elif isinstance(value, (dict, list)):
                text.update(safe(json.dumps(value, indent=2, default=str)[:20000]))
            else:
                text.update(safe(str(value)[:20000]))
            return
        table.display = True
        scroll.display = False
        table.clear(columns=True)
        for c in value.columns:
            table.add_column(str(c), key=str(c))
        for row in value.itertuples(index=False):
            table.add_row(*(fmt_value(x) for x in row))

    @staticmethod
    def pickle_facts(v: AssetVersion, refusal: str) -> Text:
        """What is known of a pickle without unpickling it, and why it is not loaded."""
        t = Text()

        def line(label: str, value: Any) -> None:
            t.append(f"{label:>13}  ", style="bold")
            t.append(f"{value}\n")

        line("format", "pickle")
        line("size", f"{human_size(v.size_bytes)} ({v.size_bytes:,} bytes)")
        line("hash", v.content_hash)
        line("created", when(v.created_at))
        line("code version", v.code_version or "-")
        line("path", v.data_path)
        line("inputs", ", ".join(f"{i.asset}@{i.run_id}" for i in v.inputs) or "none")
        for k, val in sorted(v.metadata.items()):
            line("metadata", f"{k}: " + (json.dumps(val, default=str) if not isinstance(val, str) else val))
        t.append("\n")
        t.append(refusal + "\n", style="yellow")
        t.append_text(Text.assemble(("P", "bold"), " loads it anyway, after asking"))
        return t

    def show_marks(self) -> None:
        marked = self.query_one("#versions-table", VersionsTable).marked
        hint = self.query_one("#marks", Static)
        if len(marked) == 2:
            hint.update(safe(Text.assemble("marked ", (marked[0], "bold"), " and ", (marked[1], "bold"),
                                      ": press ", ("D", "bold"), " to diff them")))
        elif marked:
            hint.update(safe(Text.assemble("marked ", (marked[0], "bold"), ": mark another with ", ("space", "bold"))))
        else:
            hint.update(safe(Text.assemble(("space", "bold"), " marks two versions, ", ("D", "bold"), " diffs them, ",
                                      ("p", "bold"), " diffs the selected one against the previous, ",
                                      ("enter", "bold"), " opens it")))

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
        versions = [v.run_id for v in self.app.store.asset_versions(self.key)]
        i = versions.index(run_id)
        if i == 0:
            self.notify(f"{run_id} holds the first version of {self.key}: nothing before it", severity="warning")
            return
        self.open_diff(versions[i - 1], run_id)

    # ------------------------------------------------------------------ trace
    def trace_where(self) -> dict[str, Any]:
        """The previewed row under the cursor as a condition: the version's declared key
        columns, else every column holding a simple value (number, text, boolean)."""
        import math

        import numpy as np

        frame = self._preview_frame
        table = self.query_one("#preview-table", DataTable)
        if frame is None or not len(frame) or not table.row_count:
            return {}
        row = frame.iloc[min(table.cursor_row, len(frame) - 1)]
        v = self._preview_version or self.version

        def plain(x: Any) -> Any:
            if isinstance(x, pd.Timestamp):
                return x.to_pydatetime()
            if isinstance(x, np.generic):
                return x.item()
            return x

        keys = [k for k in v.keys if k in frame.columns]
        if keys:
            return {k: plain(row[k]) for k in keys}
        where = {}
        for c in frame.columns:
            x = plain(row[c])
            if isinstance(x, bool) or isinstance(x, (int, str)):
                where[str(c)] = x
            elif isinstance(x, float) and math.isfinite(x):
                where[str(c)] = x
        return where

    def action_trace_row(self) -> None:
        from .trace import TraceScreen

        v = self._preview_version or self.version
        where = self.trace_where()
        if not where:
            self.notify("no row to trace: the preview shows no table row with simple values", severity="warning")
            return
        self.app.push_screen(TraceScreen(v.asset, v.run_id, where))

    # ------------------------------------------------------------------ flags
    def target_version(self) -> AssetVersion:
        """The version selected in the versions tab, else the one this screen shows."""
        if self.query_one("#tabs", TabbedContent).active == "versions":
            rid = self.query_one("#versions-table", VersionsTable).selected()
            if rid is not None:
                return self.app.store.version(self.key, rid)
        return self.version

    def action_flag(self) -> None:
        from .modals import ReasonModal

        v = self.target_version()
        if (v.asset, v.run_id) in self.app.store.flagged():
            self.notify(f"{v.asset} @ {v.run_id} is already flagged (F unflags it)", severity="warning")
            return

        def done(reason: str | None) -> None:
            if reason:
                self.write_flag("flag", v.asset, v.run_id, reason)

        self.app.push_screen(ReasonModal(Text.assemble("Flag ", (v.asset, "bold"), f" @ {v.run_id} as bad. Why?"),
                                         "reason (kept in the store under _frontier_flags/)"), done)

    def action_unflag(self) -> None:
        from .modals import ReasonModal

        v = self.target_version()
        if (v.asset, v.run_id) not in self.app.store.flagged():
            self.notify(f"{v.asset} @ {v.run_id} is not flagged", severity="warning")
            return

        def done(reason: str | None) -> None:
            if reason:
                self.write_flag("unflag", v.asset, v.run_id, reason)

        self.app.push_screen(ReasonModal(Text.assemble("Retract the flag on ", (v.asset, "bold"), f" @ {v.run_id}. Why?"),
                                         "reason for the retraction"), done)

    @work(thread=True, group="flag")
    def write_flag(self, action: str, key: str, run: str, reason: str) -> None:
        store = self.app.store
        try:
            getattr(store, action)(key, run, reason)
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self.notify, describe_error(exc), title=f"cannot {action}", severity="error")
            return
        report = self.app._report(store)
        done = "flagged" if action == "flag" else "unflagged"
        self.app.call_from_thread(self.app.after_write, store, report, f"{done} {key} @ {run}")

    # ------------------------------------------------------------------ verify
    def action_verify(self) -> None:
        self.query_one("#tabs", TabbedContent).active = "versions"
        self.query_one("#versions-table").focus()
        self.verify_versions()

    @work(thread=True, exclusive=True, group="verify")
    def verify_versions(self) -> None:
        from ...verify import check_version

        store = self.app.store
        try:
            results = {v.run_id: check_version(store.data_fs, store.root, v) for v in store.asset_versions(self.key)}
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self.notify, describe_error(exc), title="cannot verify", severity="error")
            return
        self.app.call_from_thread(self._show_integrity, results)

    def _show_integrity(self, results: dict[str, Any]) -> None:
        if not self.is_attached:  # the screen was closed while the worker ran
            return
        self.integrity = results
        self.app.safely(self.fill_versions, self.version)
        counts: dict[str, int] = {}
        for r in results.values():
            counts[r.status] = counts.get(r.status, 0) + 1
        bad = sum(n for s, n in counts.items() if s not in ("ok", "unverifiable"))
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        self.notify(f"{len(results)} versions of {self.key}: {summary}", title="verified",
                    severity="error" if bad else "information")

    # ------------------------------------------------------------------ pickles
    def action_load_pickle(self) -> None:
        from .modals import ConfirmModal

        v = self._preview_version or self.version
        if v.data_format != "pickle":
            self.notify(f"{v.asset} is {v.data_format}, not a pickle: its preview is already shown")
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.unpickle(v)

        self.app.push_screen(ConfirmModal(Text.assemble(
            (v.asset, "bold"), f" @ {v.run_id} is a pickle.\nUnpickling runs code from the store. Load anyway?")), done)

    @work(thread=True, exclusive=True, group="preview")
    def unpickle(self, v: AssetVersion) -> None:
        try:
            value = self.app.store.load(v.asset, v.run_id, allow_pickle=True)
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self.notify, describe_error(exc), title="cannot load", severity="error")
            return
        self.app.call_from_thread(self._show_unpickled, v, type(value).__name__, repr(value))

    def _show_unpickled(self, v: AssetVersion, type_name: str, text: str) -> None:
        if not self.is_attached:  # the screen was closed while the worker ran
            return
        self.query_one("#preview-table").display = False
        self.query_one("#preview-scroll").display = True
        self.query_one("#preview-text", Static).update(safe(Text.assemble(
            (f"unpickled {v.asset} @ {v.run_id} (a {type_name}):\n", "bold yellow"), text[:20000])))
        self.query_one("#tabs", TabbedContent).active = "preview"
