"""The home screen: every run, newest first, sortable and filterable."""

from __future__ import annotations

import functools
import operator
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from .base import AppScreen
from ..widgets.bars import Breadcrumbs, bottom_bars
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import ColumnKey

from ...humanize import counted
from ...models import Run
from ..widgets.tables import Table
from ..text import human_duration, safe, status_text, when

COLUMNS: list[tuple[str, str, Callable[[Run], Any]]] = [
    ("run", "run id", lambda r: r.run_id),  # the identity columns first: they stay while h/l scroll
    ("status", "status", lambda r: r.status),
    ("job", "job", lambda r: r.job or ""),
    ("started", "started", lambda r: (r.started_at, r.run_id)),
    ("duration", "duration", lambda r: r.duration_seconds if r.duration_seconds is not None else -1),
    ("assets", "assets", lambda r: r.asset_count),
    ("code", "code version", lambda r: r.code_version or ""),
    ("tags", "tags", lambda r: " ".join(f"{k}={v}" for k, v in r.tags.items())),
]


_START_ORDER = operator.attrgetter("started_at", "run_id")  # the "started" column's order


def progress(run: Run) -> str:
    """``3/8`` for a run that planned 8 assets and wrote 3. A run may write assets it did not
    plan (a dynamic output, a plan written before the job changed): the count it is out of is
    never less than what it wrote, so the app never shows ``3/2``."""
    if not run.planned:
        return f" {run.asset_count}"
    return f" {run.asset_count}/{max(len(run.planned), run.asset_count)}"


def row_cells(run: Run) -> tuple:
    tags = " ".join(f"{k}={v}" for k, v in run.tags.items())  # in the store's order, as the CLI shows them
    return (
        run.run_id,
        status_text(run.status, progress(run) if run.status == "running" else ""),
        run.job or "",
        when(run.started_at),
        human_duration(run.duration_seconds) if run.status != "running" else "…",
        safe(str(run.asset_count), justify="right"),
        run.code_version or "",
        tags,
    )


def haystack(run: Run) -> str:
    """What the filter searches in a run: id, job, status, start, code version and tags."""
    return " ".join(
        [run.run_id, run.job or "", run.status, when(run.started_at), run.code_version or ""]
        + [f"{k}={v}" for k, v in run.tags.items()]
    ).lower()


class RunsScreen(AppScreen):
    """Runs of the store, newest first."""

    crumb = "runs"
    draws_from_runs = True  # painted as soon as the runs are known (ExplorerApp._runs_known)

    AUTO_FOCUS = "#runs"

    BINDINGS = [
        Binding("enter", "open_run", "open run", priority=False),
        Binding("slash", "filter", "filter", key_display="/"),
        Binding("escape", "clear_filter", "clear filter", show=False),
        Binding("space", "mark", "mark run", key_display="space"),
        Binding("c", "compare", "compare marked"),
        Binding("plus", "more", "more runs", show=False, key_display="+"),
        Binding("o", "next_sort", "sort"),
        Binding("O", "reverse_sort", "reverse sort", show=False, key_display="O"),
        *[Binding(str(i + 1), f"sort({i})", f"sort by {c[1]} (again: reverse)", show=False)
          for i, c in enumerate(COLUMNS)],
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort_column = 3
        self.sort_reverse = True
        self.filter_text = ""
        self._runs: dict[str, Run] = {}
        self._shown: dict[str, Run] = {}  # the run each row shows
        self._batch_gen = 0
        self._pending = False
        self._title_tail = ""
        self._matching = 0
        self.limit = self.PAGE
        self.marked: list[str] = []  # runs marked for comparison, in the order marked
        # per store: the runs in each column's order, and each run's filter text, computed
        # once (not on every keypress: 50,000 runs take 0.3 s to describe, 0.1 s to sort)
        self._orders: dict[int, list[Run]] = {}
        self._hay: dict[str, tuple[Run, str]] = {}
        self._row_cache: dict[str, tuple[Run, bool, tuple]] = {}  # a run's cells, made once

    def compose(self) -> ComposeResult:
        yield Breadcrumbs()
        yield Static("opening the store…", id="title", classes="title")
        yield Input(placeholder="filter runs: words in id, job, status, date, code version or tags", id="filter")
        table: Table = Table(id="runs", cursor_type="row", zebra_stripes=True, noun="runs", fixed_columns=2)
        table.filters = False  # rows come in batches: the screen filters (filter_text)
        table.whole_columns = frozenset({"started"})  # a start cut to its date hides which run came first
        for key, label, _ in COLUMNS:
            table.add_column(label + "  ", key=key)  # room for the sort arrow: a column's width is set here
        yield table
        yield from bottom_bars()

    def on_mount(self) -> None:
        self.query_one("#filter").display = False
        table = self.query_one("#runs", DataTable)
        table.focus()
        if self.store is None:
            table.loading = True
        else:
            self.show_store()

    # ------------------------------------------------------------------ data
    def show_store(self) -> None:
        store = self.store
        if store is None:
            return
        table = self.query_one("#runs", DataTable)
        table.loading = False
        self._runs = {r.run_id: r for r in store.runs}
        # the store's runs come in start order (start, then id: the started column's own order),
        # so the default order costs no sort before the first frame (0.07 s at 50,000 runs);
        # checked (in C, 0.01 s): a run corrected while the versions were read may have moved
        in_order = list(self._runs.values())
        keys = list(map(_START_ORDER, in_order))
        self._orders = {3: in_order} if all(map(operator.le, keys, keys[1:])) else {}
        self.call_after_refresh(self._prepare, self._runs)  # (after the paint: it would slow it down)
        report = self.report
        if report is not None:  # every asset the graph draws: written, and planned or read but never written
            n_assets = len(report.assets)
            missing = sum(1 for a in report.assets if a.status == "missing")
        elif store.index.materialized:
            n_assets, missing = len(store.assets()), 0
        else:  # the versions are still being parsed (the first paint of a large store)
            n_assets, missing = None, 0
        running = sum(1 for r in self._runs.values() if r.status == "running")
        warn = f" · ⚠ {counted(len(store.warnings), 'warning')}" if store.warnings else ""
        live = f" · {running} running" if running else ""
        watch = f" · watching every {self.app.watch_seconds:g}s" if self.app.watch_seconds else ""
        never = f" ({missing} never written)" if missing else ""
        assets = counted(n_assets, "asset") if n_assets is not None else "reading versions…"
        self._title_tail = f" · {assets}{never}{live}{warn}{watch}"
        self.populate()
        self.refresh_bindings()  # (the footer was drawn while the table was loading)
        if not store.index.materialized:  # the first paint of a large store: the loader waits for it
            painted = getattr(self.app, "runs_painted", lambda: None)
            table = self.query_one("#runs", DataTable)
            if self.is_current and isinstance(table, Table) and table.row_count:
                table.after_paint(painted)
            else:
                self.call_after_refresh(painted)

    def store_failed(self, message: str) -> None:
        table = self.query_one("#runs", DataTable)
        table.loading = False
        if self.store is None:
            self.query_one("#title", Static).update(safe(f"cannot read the store: {message}", style="red"))

    @work(thread=True, exclusive=True, group="runs-prepare", description="sort and describe the runs")
    def _prepare(self, runs: dict[str, Run]) -> None:
        """Sort the runs by every column and describe each for the filter, off the event loop
        (a second at 50,000 runs), so that a keypress on a large store finds them ready."""
        if len(runs) < self.PREPARE_FROM:
            return  # (small stores: done on demand, in milliseconds)
        hays, orders = self._hay, self._orders  # (a newer store replaces the orders' dict)
        for r in runs.values():
            known = hays.get(r.run_id)
            if known is None or known[0] is not r:
                hays[r.run_id] = (r, haystack(r))
        for i, (_, _, key) in enumerate(COLUMNS):
            if runs is not self._runs:
                return  # a newer store came
            if i not in orders:
                orders.setdefault(i, sorted(runs.values(), key=lambda r: (key(r), r.started_at, r.run_id)))

    def visible_runs(self) -> list[Run]:
        """The runs the filter keeps, in the chosen order (each column's order is sorted once
        per store; a keypress filters the sorted runs)."""
        order = self._orders.get(self.sort_column)
        if order is None:
            key = COLUMNS[self.sort_column][2]
            order = self._orders[self.sort_column] = sorted(
                self._runs.values(), key=lambda r: (key(r), r.started_at, r.run_id))
        runs = order[::-1] if self.sort_reverse else order  # (keys are unique: the id is in them)
        terms = self.filter_text.lower().split()
        if not terms:
            return list(runs)
        hays = self._hay
        out = []
        for r in runs:
            known = hays.get(r.run_id)
            if known is None or known[0] is not r:  # a run that changed is described again
                known = hays[r.run_id] = (r, haystack(r))
            if all(t in known[1] for t in terms):
                out.append(r)
        return out

    PREPARE_FROM = 2000  # runs from which the orders and filter texts are made ahead, in a thread
    FIRST_BATCH = 80  # rows added before the first paint (a tall terminal's screenful); the rest follow
    BATCH = 200  # (small: a key pressed while the page fills waits for one batch at most)
    PAGE = 2000
    """Rows the table holds at most (``+`` adds another page): Textual's DataTable measures
    every cell it holds, 14 s for 50,000 runs; the filter and the sort see every run."""

    def populate(self) -> None:
        """Show the runs, updating rows in place and keeping the selected run.

        Rows whose run did not change are left alone; new runs are added and vanished runs
        removed. A large table is filled in batches after the first screenful is painted."""
        table = self.query_one("#runs", DataTable)
        selected = self.selected_run_id()
        matching = self.visible_runs()
        self._matching = len(matching)
        runs = matching[: self.limit]
        wanted = [r.run_id for r in runs]
        current = [str(k.value) for k in table.rows]
        wanted_set, current_set = set(wanted), set(current)
        removed = current_set - wanted_set
        self._batch_gen += 1
        if self._pending or len(removed) > 50 or not current:
            # start over (first fill, a new filter, a large change): first rows now, the rest later
            table.clear()
            self._shown = {}
            self._add_rows(table, runs[: self.FIRST_BATCH])
            rest = runs[self.FIRST_BATCH :]
            self._pending = bool(rest)
            if rest:  # the rest once the first rows are on screen (when the screen is drawn)
                later = functools.partial(self._add_batches, self._batch_gen, rest, selected)
                if self.is_current and isinstance(table, Table):
                    table.after_paint(later)
                else:
                    self.call_after_refresh(later)
        else:
            for rid in removed:
                table.remove_row(rid)
                self._shown.pop(rid, None)
            for r in runs:
                old = self._shown.get(r.run_id)
                if old is None:
                    table.add_row(*self._cells(r), key=r.run_id)
                    self._shown[r.run_id] = r
                elif old != r:
                    for (key, _, _), value in zip(COLUMNS, self._cells(r)):
                        table.update_cell(r.run_id, key, value)
                    self._shown[r.run_id] = r
            if [str(k.value) for k in table.rows] != wanted:
                order = {safe(rid).plain: i for i, rid in enumerate(wanted)}  # cells are Text
                table.sort("run", key=lambda cell: order[cell.plain.removeprefix("● ")])
        self._label_columns(table)
        self._restore(table, selected, wanted_set)
        self.populate_title()

    def populate_title(self) -> None:
        n = self._matching
        shown = f"{n} of {counted(len(self._runs), 'run')} match" if self.filter_text.strip() else counted(len(self._runs), "run")
        marked = f" · {len(self.marked)} marked (c: compare)" if self.marked else ""
        if n > self.limit:
            shown += f", newest {self.limit:,} shown (+: more)" if self.sort_column == 3 and self.sort_reverse \
                else f", first {self.limit:,} shown (+: more)"
        self.query_one("#title", Static).update(safe(
            ("frontier-explore ", "bold"), (self.app.label, "cyan"), f" · {shown}{marked}{self._title_tail}"))

    def _add_rows(self, table: DataTable, runs: list[Run]) -> None:
        for r in runs:
            table.add_row(*self._cells(r), key=r.run_id)
            self._shown[r.run_id] = r

    def _add_batches(self, gen: int, rest: list[Run], selected: str | None) -> None:
        if gen != self._batch_gen:
            return  # a newer populate() took over
        table = self.query_one("#runs", DataTable)
        self._add_rows(table, rest[: self.BATCH])
        rest = rest[self.BATCH :]
        if rest:
            self.call_after_refresh(self._add_batches, gen, rest, selected)
        else:
            self._pending = False
            self._restore(table, selected, set(self._shown))

    def _restore(self, table: DataTable, selected: str | None, shown: set[str]) -> None:
        if selected in shown:
            try:
                table.move_cursor(row=table.get_row_index(selected), animate=False)
            except Exception:  # noqa: BLE001 - not added yet (a later batch)
                pass

    def _label_columns(self, table: DataTable) -> None:
        for i, (key, label, _) in enumerate(COLUMNS):
            arrow = (" ▼" if self.sort_reverse else " ▲") if i == self.sort_column else "  "
            table.columns[ColumnKey(key)].label = safe(label + arrow)
        table.refresh()
        if isinstance(table, Table):
            table.call_after_refresh(table.report_columns)  # a sorted column off screen is named with its arrow

    def selected_run_id(self) -> str | None:
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:  # noqa: BLE001 - empty or moving table
            return None

    # ------------------------------------------------------------------ actions
    def action_open_run(self) -> None:
        rid = self.selected_run_id()
        if rid is not None:
            self.app.open_run(rid)

    @on(DataTable.RowSelected, "#runs")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.app.open_run(str(event.row_key.value))

    def action_more(self) -> None:
        """Show another page of runs (the table holds ``PAGE`` more)."""
        if self._matching > self.limit:
            self.limit += self.PAGE
            self.populate()

    def action_mark(self) -> None:
        """Mark (or unmark) the focused run for ``c``; marked runs show ● before their id."""
        rid = self.selected_run_id()
        if rid is None:
            return
        if rid in self.marked:
            self.marked.remove(rid)
        else:
            self.marked.append(rid)
        run = self._shown.get(rid)
        if run is not None:
            self.query_one("#runs", DataTable).update_cell(rid, "run", self._run_cell(run))
        self.populate_title()
        table = self.query_one("#runs", DataTable)
        if table.cursor_coordinate.row < table.row_count - 1:
            table.move_cursor(row=table.cursor_coordinate.row + 1)

    def action_compare(self) -> None:
        """Compare the marked runs (with fewer than two marked: the focused one and the one
        before it in time)."""
        from .compare import CompareScreen

        runs = [r for r in self.marked if r in self._runs]
        if len(runs) < 2:
            self.notify("mark two runs or more with space, then press c", severity="warning")
            return
        self.app.push_screen(CompareScreen(sorted(runs, key=lambda r: (self._runs[r].started_at, r))))

    def _cells(self, run: Run) -> tuple:
        """A run's cells, made visible once (a filter or sort re-adds the same rows: their
        cells are reused, not formatted again)."""
        marked = run.run_id in self.marked
        known = self._row_cache.get(run.run_id)
        if known is not None and known[0] is run and known[1] == marked:
            return known[2]
        cells = row_cells(run)
        cells = tuple(safe(c) for c in ((self._run_cell(run), *cells[1:]) if marked else cells))
        self._row_cache[run.run_id] = (run, marked, cells)
        return cells

    def _run_cell(self, run: Run) -> Text:
        """The run id cell: marked runs start with ● (the sort reads the id after it)."""
        mark = "● " if run.run_id in self.marked else ""
        return safe((mark, "bold magenta"), run.run_id)

    def action_sort(self, column: int) -> None:
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, column in (3, 4, 5)
        self.populate()

    def action_next_sort(self) -> None:
        self.action_sort((self.sort_column + 1) % len(COLUMNS))

    def action_reverse_sort(self) -> None:
        self.action_sort(self.sort_column)

    @on(DataTable.HeaderSelected, "#runs")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        self.action_sort(event.column_index)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display or self.filter_text:
            box.value = ""
            box.display = False
            self.filter_text = ""
            self.populate()
            self.query_one("#runs").focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.populate()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        self.query_one("#runs").focus()
