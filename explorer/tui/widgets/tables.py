"""``DataTable`` with the keys users of k9s, lazygit and VisiData expect, whose cells are never markup.

Every table here: ``j``/``k`` move, ``g``/``G`` jump, ``h``/``l`` (and the arrows) move a whole
column sideways, the first column stays put while the others scroll, ``/`` filters the rows as you
type and ``y`` copies the focused key.

Columns fit the width before any is hidden: the identity columns (the fixed ones, at least the
first: run id, asset, status) keep their whole width; the others, widest first, shrink down to
their heading and end their cells with ``…``; the columns that still do not fit stay off screen at
the right, whole, and are named in the status line. Widths come from what Textual measures as rows
arrive (``Column.content_width``), so fitting costs one pass over the columns, never the cells.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input

from ..text import safe


def cut(cell: Text) -> Text:
    """A cell (or heading) that ends with … where its column is narrower than it."""
    if cell.overflow is None:
        cell.overflow = "ellipsis"
    cell.no_wrap = True
    return cell


def water_fill(natural: list[int], floors: list[int], room: int) -> list[int]:
    """Widths for columns of ``natural`` widths in ``room``: every column wider than a common
    cap is cut to it (never below its floor), the narrow ones keep their width; the cap is the
    largest that fits, and what rounding leaves goes to the widest cut columns."""
    if sum(natural) <= room:
        return list(natural)
    lo, hi = 0, max(natural)
    while lo < hi:  # the largest cap whose widths fit
        mid = (lo + hi + 1) // 2
        if sum(max(f, min(n, mid)) for n, f in zip(natural, floors)) <= room:
            lo = mid
        else:
            hi = mid - 1
    out = [max(f, min(n, lo)) for n, f in zip(natural, floors)]
    spare = room - sum(out)
    for i in sorted(range(len(out)), key=lambda i: -natural[i]):
        if spare <= 0:
            break
        if out[i] < natural[i]:
            out[i] += 1
            spare -= 1
    return out


class FilterInput(Input):
    """The box ``/`` opens above a table: filters as you type, ``enter`` keeps the filter and
    returns to the table, ``escape`` clears it."""

    BINDINGS = [Binding("escape", "clear", "clear filter")]

    def __init__(self, table: "Table") -> None:
        super().__init__(placeholder=f"filter {table.noun}: words that every row shown must contain",
                         classes="table-filter")
        self.table = table

    def action_clear(self) -> None:
        self.table.set_filter("")
        self.table.focus()
        self.remove()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.table.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()
        if not event.value.strip():
            self.remove()


class Table(DataTable):
    """A DataTable that also moves with ``j``/``k`` and jumps with ``g``/``G``. Every heading
    and cell goes through ``safe`` (``DataTable`` reads a ``str`` cell as markup)."""

    BINDINGS = [
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
        Binding("g", "scroll_top", "first row", show=False),
        Binding("G", "scroll_bottom", "last row", show=False),
        Binding("h", "cursor_left", "column left", show=False),
        Binding("l", "cursor_right", "column right", show=False),
        Binding("slash", "filter", "filter", key_display="/"),
        Binding("y", "copy", "copy", show=False),
    ]

    class Filtered(Message):
        """The rows shown changed because of the filter."""

        def __init__(self, table: "Table") -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> "Table":
            return self.table

    noun = "rows"
    filters = True  # False: the screen filters (the runs table, whose rows come in batches)
    copy_column: str | int = 0  # the column ``y`` copies (a key, or an index)
    fits = True  # False: every column keeps its whole width and the table scrolls sideways
    identity_columns: int | None = None  # the first N columns are never cut (None: the fixed ones, at least 1)
    MIN_CELL = 6  # a shrunk column keeps at least this many characters (and its whole heading)
    whole_columns: frozenset[str] = frozenset()  # keys of columns shown whole or not at all (a hash)

    def __init__(self, *args: Any, noun: str | None = None, **kw: Any) -> None:
        kw.setdefault("fixed_columns", 1 if kw.get("cursor_type") == "row" else 0)
        super().__init__(*args, **kw)
        if noun:
            self.noun = noun
        self.filter_text = ""
        self.value_filter: tuple[int, str] | None = None  # (column, value): ``=`` in the preview
        self._all: list[tuple[tuple, dict[str, Any]]] = []  # every row added, shown or not
        self._refilling = False
        self._fitting: set[Any] = set()  # keys of the columns added without a width: fitted to the table
        self._fitted_from = 0  # the first scrolling column the last fit started from
        self._after_paint: list[Any] = []  # callbacks for once rows are drawn (``after_paint``)

    # ------------------------------------------------------------------ cells (never markup)
    def add_column(self, label: Any, **kw: Any):  # type: ignore[override]
        key = super().add_column(cut(safe(label)), **kw)
        if kw.get("width") is None:
            self._fitting.add(key)
        return key

    def add_row(self, *cells: Any, label: Any = None, **kw: Any):  # type: ignore[override]
        cells = tuple(cut(safe(c)) for c in cells)
        label = None if label is None else safe(label)
        if not self._refilling and self.filters:
            self._all.append((cells, dict(kw, label=label)))
            if not self.matches(cells):
                return kw.get("key")
        return super().add_row(*cells, label=label, **kw)

    def clear(self, columns: bool = False):  # type: ignore[override]
        if not self._refilling:
            self._all = []
            if columns:
                self.value_filter = None
        if columns:
            self._fitting = set()
        return super().clear(columns)

    # a cell updated in place is measured again (Textual's default keeps the column's width, so a
    # run whose job grew on disk showed "retr…" in a column sized for "train")
    def update_cell(self, row_key: Any, column_key: Any, value: Any, **kw: Any) -> None:  # type: ignore[override]
        kw.setdefault("update_width", True)
        super().update_cell(row_key, column_key, cut(safe(value)), **kw)

    def update_cell_at(self, coordinate: Any, value: Any, **kw: Any) -> None:  # type: ignore[override]
        kw.setdefault("update_width", True)
        super().update_cell_at(coordinate, cut(safe(value)), **kw)

    # ------------------------------------------------------------------ painting
    def after_paint(self, callback: Any) -> None:
        """Call ``callback`` once a frame showing this table's rows has been drawn.
        (``call_after_refresh`` may run before it: the screen goes idle before the table has
        measured its new rows and asked for a repaint, so work queued with it, such as
        the next batch of rows, would land in the first frame and delay it.)"""
        self._after_paint.append(callback)
        self.refresh()

    def render_lines(self, crop: Any) -> Any:
        lines = super().render_lines(crop)
        if self._after_paint and self.row_count and not self._require_update_dimensions:
            callbacks, self._after_paint = self._after_paint, []
            for callback in callbacks:
                self.call_later(callback)  # (after this frame is written)
        return lines

    # ------------------------------------------------------------------ widths
    def _update_dimensions(self, new_rows: Any) -> None:
        super()._update_dimensions(new_rows)  # measures the new rows (Textual's own, once per row)
        self.fit_columns()

    def identity_count(self) -> int:
        return self.identity_columns if self.identity_columns is not None else max(1, self.fixed_columns)

    def natural_width(self, column: Any) -> int:
        """The width a column's widest cell or heading needs (without padding)."""
        return column.content_width if column.key in self._fitting else column.width

    def fit_columns(self) -> bool:
        """Set every fitted column's width for the table's width (True: a width changed).

        The columns fitted are those from the first one in view (after ``l``, the one scrolled
        to); the columns scrolled off to the left keep their widths, so the scroll position
        still starts at the same column."""
        columns = self.ordered_columns
        avail = self.scrollable_content_region.width - self._row_label_column_width
        if not self.fits or not columns or avail <= 0:
            return False
        pad = 2 * self.cell_padding
        fixed = min(self.fixed_columns, len(columns))
        ident = self.identity_count()
        natural = [self.natural_width(c) for c in columns]
        floors = [n if i < ident else self._floor(c, n) for i, (c, n) in enumerate(zip(columns, natural))]
        target = [natural[i] if i < fixed else c.get_render_width(self) - pad for i, c in enumerate(columns)]
        first = self._first_in_view(columns, fixed)
        self._fitted_from = first
        budget = avail - sum(natural[i] + pad for i in range(fixed))
        shown: list[int] = []  # the columns that fit, shrunk if need be
        used = 0
        for i in range(first, len(columns)):
            if used + floors[i] + pad > budget:
                break  # this one and those after it: off screen, whole
            used += floors[i] + pad
            shown.append(i)
        for i in range(first, len(columns)):
            target[i] = natural[i]
        room = budget - pad * len(shown)
        if sum(natural[i] for i in shown) > room:
            for i, w in zip(shown, water_fill([natural[i] for i in shown], [floors[i] for i in shown], room)):
                target[i] = w
        last = shown[-1] if shown else None
        if last is not None and last + 1 < len(columns) and columns[last].key in self._fitting:
            # the width left over goes to the last column shown: the next one starts off screen,
            # never cut by the edge with a few characters showing
            target[last] += max(0, room - sum(target[i] for i in shown))
        changed = False
        for col, w in zip(columns, target):
            if col.key not in self._fitting:
                continue
            if col.auto_width or col.width != w:
                changed = changed or col.get_render_width(self) != w + pad
                col.auto_width, col.width = False, w
        if changed:
            self._clear_caches()
            self._update_count += 1
            width = sum(c.get_render_width(self) for c in columns) + self._row_label_column_width
            self.virtual_size = Size(width, self.virtual_size.height)
            self.refresh()
            self.call_after_refresh(self.report_columns)
        return changed

    def _first_in_view(self, columns: list, fixed: int) -> int:
        """The first scrolling column whose left edge is in view."""
        if not self.scroll_x:
            return fixed
        x = sum(c.get_render_width(self) for c in columns[:fixed])
        left = self.scroll_x + x
        for i in range(fixed, len(columns)):
            if x >= left:
                return i
            x += columns[i].get_render_width(self)
        return len(columns)

    def _floor(self, column: Any, natural: int) -> int:
        """The narrowest a column is shown: its heading, at least ``MIN_CELL`` (a set width: kept)."""
        if column.key not in self._fitting or column.key.value in self.whole_columns:
            return natural
        return min(natural, max(self.MIN_CELL, column.label.cell_len))

    def watch_show_vertical_scrollbar(self, old: bool, new: bool) -> None:
        if old != new:  # the scrollbar takes (or gives back) width
            self.call_after_refresh(self.fit_columns)

    # ------------------------------------------------------------------ filter
    def matches(self, cells: tuple) -> bool:
        if self.value_filter is not None:
            col, value = self.value_filter
            cell = cells[col] if col < len(cells) else ""
            if (cell.plain if isinstance(cell, Text) else str(cell)) != value:
                return False
        terms = self.filter_text.lower().split()
        if not terms:
            return True
        hay = " ".join(c.plain if isinstance(c, Text) else str(c) for c in cells).lower()
        return all(t in hay for t in terms)

    @property
    def total_rows(self) -> int:
        return len(self._all) if self.filters else self.row_count

    def set_value_filter(self, where: tuple[int, str] | None) -> None:
        """Show only the rows whose column ``where[0]`` reads ``where[1]`` (None: no such filter)."""
        self.value_filter = where
        self._refill()

    def set_filter(self, text: str) -> None:
        """Show only the rows holding every word of ``text`` (case-insensitive), keeping the cursor's row."""
        if text == self.filter_text or not self.filters:
            self.filter_text = text
            return
        self.filter_text = text
        self._refill()

    def _refill(self) -> None:
        keep, column = self.cursor_key(), self.cursor_column
        self._refilling = True
        try:
            super().clear()
            for cells, kw in self._all:
                if self.matches(cells):
                    super().add_row(*cells, **kw)
        finally:
            self._refilling = False
        if keep is not None:
            try:
                self.move_cursor(row=self.get_row_index(keep), column=column, animate=False)
            except Exception:  # noqa: BLE001 - filtered out
                self.move_cursor(column=column, animate=False)
        self.post_message(self.Filtered(self))
        self.report_columns()

    def action_filter(self) -> None:
        if not self.filters:  # the screen filters this one
            action = getattr(self.screen, "action_filter", None)
            if action is not None:
                action()
            return
        box = next((b for b in self.screen.query(FilterInput) if b.table is self), None)
        if box is None:
            box = FilterInput(self)
            box.value = self.filter_text
            self.parent.mount(box, before=self)
        box.focus()

    def filter_note(self) -> str:
        what = []
        if self.value_filter is not None:
            col, value = self.value_filter
            what.append(f"{self.ordered_columns[col].label.plain} = “{value}” (= again: all)")
        if self.filter_text.strip():
            what.append(f"“{self.filter_text.strip()}”")
        if not what:
            return ""
        return f"{self.row_count} of {self.total_rows} {self.noun} match " + " and ".join(what)

    # ------------------------------------------------------------------ columns sideways
    def column_starts(self) -> list[tuple[int, int]]:
        """(x, width) of every column, in content coordinates."""
        out, x = [], 0
        for col in self.ordered_columns:
            w = col.get_render_width(self)
            out.append((x, w))
            x += w
        return out

    def _fixed_width(self) -> int:
        return sum(w for _, w in self.column_starts()[: self.fixed_columns])

    def hidden_columns(self) -> list[str]:
        """Labels of the columns not wholly on screen (scrolled off or cut at the right edge)."""
        width = self.scrollable_content_region.width
        if not width:
            return []
        left = self.scroll_x + self._fixed_width()
        right = self.scroll_x + width
        out = []
        for i, (col, (x, w)) in enumerate(zip(self.ordered_columns, self.column_starts())):
            if i < self.fixed_columns:
                continue
            if x < left or x + w > right:
                out.append(col.label.plain.rstrip())  # with its ▲/▼ when the rows are sorted by it
        return out

    def _sideways(self, step: int) -> None:
        starts = self.column_starts()[self.fixed_columns:]
        fixed = self._fixed_width()
        left = self.scroll_x + fixed
        if step > 0:
            nxt = [x for x, _ in starts if x > left]
            target = (nxt[0] - fixed) if nxt else self.max_scroll_x
        else:
            prev = [x for x, _ in starts if x < left]
            target = (prev[-1] - fixed) if prev else 0
        self.scroll_to(x=max(0, min(target, self.max_scroll_x)), animate=False)
        self.call_after_refresh(self.report_columns)

    def action_cursor_right(self) -> None:
        if self.cursor_type == "row":
            self._sideways(1)
        else:
            super().action_cursor_right()
            self.call_after_refresh(self.report_columns)

    def action_cursor_left(self) -> None:
        if self.cursor_type == "row":
            self._sideways(-1)
        else:
            super().action_cursor_left()
            self.call_after_refresh(self.report_columns)

    def report_columns(self) -> None:
        """Tell the status line which columns are off screen (and how the filter stands)."""
        from .bars import StatusLine

        focused = self.app.focused
        if not self.is_attached or not (focused is self or (isinstance(focused, FilterInput) and focused.table is self)):
            return
        hidden = self.hidden_columns()
        parts = [self.filter_note()] if self.filter_note() else []
        if hidden:
            parts.append("→ off screen: " + ", ".join(hidden) + " (h/l scroll)")
        for line in self.screen.query(StatusLine):
            line.note = " · ".join(parts)

    hide_cursor_unfocused = False  # True where another widget of the screen has a cursor too

    def on_focus(self, event: events.Focus) -> None:
        if self.hide_cursor_unfocused:
            self.show_cursor = True
        self.call_after_refresh(self.report_columns)

    def on_blur(self, event: events.Blur) -> None:
        if self.hide_cursor_unfocused:
            self.show_cursor = False

    def on_resize(self, event: events.Resize) -> None:
        self.fit_columns()
        self.call_after_refresh(self.report_columns)

    def watch_scroll_x(self, old: float, new: float) -> None:
        super().watch_scroll_x(old, new)
        columns = self.ordered_columns
        if self._first_in_view(columns, min(self.fixed_columns, len(columns))) != self._fitted_from:
            self.fit_columns()  # scrolled to another column: fit the columns from there
        self.call_after_refresh(self.report_columns)

    # ------------------------------------------------------------------ copy
    def cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:  # noqa: BLE001 - empty or moving table
            return None

    def copy_value(self) -> str | None:
        """What ``y`` copies: the focused cell of a cell table, else the row's key column."""
        if not self.row_count:
            return None
        if self.cursor_type == "cell":
            cell = self.get_cell_at(self.cursor_coordinate)
        else:
            col = self.copy_column
            index = col if isinstance(col, int) else [str(c.key.value) for c in self.ordered_columns].index(col)
            cell = self.get_cell_at((self.cursor_row, index))
        return cell.plain if isinstance(cell, Text) else str(cell)

    def action_copy(self) -> None:
        value = self.copy_value()
        if value is not None:
            self.app.copy_value(value)
