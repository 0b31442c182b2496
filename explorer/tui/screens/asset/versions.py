"""The asset screen's versions tab: every version of the asset (or of one partition) across
runs; ``space`` marks two, ``D`` asks for their diff, ``p`` for a diff against the previous one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static, TabPane

from ....catalogue import same_content_as
from ....models import AssetVersion
from ....names import run_label
from ...text import human_size, integrity_text, safe, status_text, when
from ...widgets.tables import Table

if TYPE_CHECKING:
    from ....api import Store


class VersionsTable(Table):
    """Versions of one asset across runs; space marks two versions, ``D`` diffs them."""

    BINDINGS = [
        Binding("space", "mark", "mark"),
        Binding("D", "diff_marked", "diff marked", key_display="D"),
        Binding("p", "diff_previous", "diff vs previous"),
    ]

    class DiffRequested(Message):
        """Diff the versions of runs ``a`` and ``b`` (``a`` None: ``b`` against its previous version)."""

        def __init__(self, a: str | None, b: str) -> None:
            super().__init__()
            self.a, self.b = a, b

    class MarksChanged(Message):
        """The marked versions changed (``marked``: their runs, at most two)."""

        def __init__(self, marked: list[str]) -> None:
            super().__init__()
            self.marked = list(marked)

    whole_columns = frozenset({"same", "rows", "size", "hash"})  # cut last: created, job and code shrink first

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
        self.post_message(self.MarksChanged(self.marked))

    def action_diff_marked(self) -> None:
        if len(self.marked) != 2:
            self.notify("mark two versions with space first (or p: diff against the previous)", severity="warning")
            return
        self.post_message(self.DiffRequested(*self.marked))

    def action_diff_previous(self) -> None:
        rid = self.selected()
        if rid is not None:
            self.post_message(self.DiffRequested(None, rid))


class VersionsPane(TabPane):
    """The marks hint above the versions table; ``integrity`` holds the last ``V`` results."""

    def __init__(self) -> None:
        super().__init__("3 versions", id="versions")
        self.integrity: dict[str, Any] = {}  # run id -> explorer.verify.Integrity, after V

    def compose(self) -> ComposeResult:
        yield Static(id="marks", classes="hint")
        yield VersionsTable(id="versions-table")

    @property
    def table(self) -> VersionsTable:
        return self.query_one("#versions-table", VersionsTable)

    def show(self, store: "Store", v: AssetVersion, key: str, marks: dict[str, str]) -> None:
        """Fill the table with every version of ``key``; ``marks``: run -> flagged / tainted / ""."""
        table = self.table
        keep = table.selected()
        table.clear(columns=True)
        versions = store.asset_versions(key)  # (of this partition: one per run)
        # the run is the key; the empty-most columns (same as, flag, check) only when a row has one
        same = same_content_as(versions)  # run -> the earlier run with byte-identical content
        columns = ["run", "mark", "rows", "size", "hash", "run status", "created", "job", "code"]
        if same:
            columns.insert(2, "same")
        try:
            any_flags = bool(store.flags())  # flagged once, even if retracted since: the column stays
        except Exception:  # noqa: BLE001
            any_flags = False
        if any_flags or any(marks.get(ver.run_id) for ver in versions):
            columns.insert(2, "flag")
        if self.integrity:
            columns.insert(2, "check")
        table.copy_column = "run"
        labels = {"mark": "●", "same": "same as"}
        for c in columns:
            table.add_column(labels.get(c, c), key=c)
        for ver in reversed(versions):
            run = store.index.runs.get(ver.run_id)
            mark = marks.get(ver.run_id, "")
            cells = {
                "mark": "●" if ver.run_id in table.marked else "",
                "same": safe(f"= {run_label(same[ver.run_id]) or same[ver.run_id]}", style="cyan")
                if ver.run_id in same else "",
                "run": safe(ver.run_id, style="bold" if ver.run_id == v.run_id else ""),
                "job": run.job if run else "",
                "run status": status_text(run.status) if run else "",
                "flag": status_text(mark) if mark else "",
                "check": integrity_text(self.integrity[ver.run_id].status) if ver.run_id in self.integrity else "",
                "created": when(ver.created_at),
                "rows": safe(f"{ver.table.num_rows:,}" if ver.table else "", justify="right"),
                "size": safe(human_size(ver.size_bytes), justify="right"),
                "hash": ver.short_hash,
                "code": ver.code_version or "",
            }
            table.add_row(*(cells[c] for c in columns), key=ver.run_id)
        target = keep or v.run_id
        try:
            table.move_cursor(row=table.get_row_index(target), animate=False)
        except Exception:  # noqa: BLE001
            pass
        self.show_marks()

    def on_versions_table_marks_changed(self, event: VersionsTable.MarksChanged) -> None:
        self.show_marks()

    def show_marks(self) -> None:
        marked = self.table.marked
        hint = self.query_one("#marks", Static)
        if len(marked) == 2:
            hint.update(safe("marked ", (marked[0], "bold"), " and ", (marked[1], "bold"),
                             ": press ", ("D", "bold"), " to diff them"))
        elif marked:
            hint.update(safe("marked ", (marked[0], "bold"), ": mark another with ", ("space", "bold")))
        else:
            hint.update(safe(("space", "bold"), " marks two versions, ", ("D", "bold"), " diffs them, ",
                             ("p", "bold"), " diffs the selected one against the previous, ",
                             ("enter", "bold"), " opens it"))
