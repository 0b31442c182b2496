"""The lineage graph: a layered DAG you walk with the keyboard.

Left/right (``h``/``l``) follow edges upstream/downstream, up/down (``k``/``j``) move between
the nodes of a layer, ``enter`` opens the asset (or expands the focused group only), ``u``/``d`` highlight the
upstream or downstream closure, ``g`` groups assets by key prefix (a prefix of one asset stays
that asset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import networkx as nx
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


from ..text import STATUS_COLOUR
from .graph_layout import Dummy, Layout, acyclic, layout

WORST = ["failed", "missing", "stale", "running", "pending", "superseded", "input", "fresh"]
RUN_ID = re.compile(r"^\d{4}(\d{2})(\d{2})T\d{6}Z-(.+)$")


def short_run(run_id: str | None) -> str:
    """``20261013T020000Z-r5`` -> ``10-13 r5``: enough to tell runs apart in a node."""
    if not run_id:
        return ""
    m = RUN_ID.match(run_id)
    if m:
        return f"{m.group(1)}-{m.group(2)} {m.group(3)}"
    return run_id


@dataclass(frozen=True)
class NodeInfo:
    """What a node shows besides its key."""

    status: str
    run_id: str | None = None
    tainted: bool = False  # flagged, or built from a flagged version

    @property
    def badge(self) -> str:
        return self.status + (" ⚑tainted" if self.tainted else "")


def group_of(key: str) -> str | None:
    return key.split("/", 1)[0] + "/*" if "/" in key else None


class LineageGraph(ScrollView, can_focus=True):
    """A layered drawing of an asset graph with a focused node."""

    BINDINGS = [
        Binding("left,h", "move('left')", "upstream", show=True, key_display="←/h"),
        Binding("right,l", "move('right')", "downstream", show=True, key_display="→/l"),
        Binding("y", "copy", "copy key", show=False),
        Binding("up,k", "move('up')", "up", show=False),
        Binding("down,j", "move('down')", "down", show=False),
        Binding("enter", "open", "open"),
        Binding("u", "closure('upstream')", "all up"),
        Binding("d", "closure('downstream')", "all down"),
        Binding("g", "toggle_group", "group"),
    ]

    DEFAULT_CSS = """
    LineageGraph { height: 1fr; background: $surface; }
    LineageGraph:focus { background-tint: $foreground 3%; }
    """

    focused_node: reactive[str | None] = reactive(None, always_update=True)
    grouped: reactive[bool] = reactive(False)

    class NodeFocused(Message):
        def __init__(self, graph: "LineageGraph", key: str | None) -> None:
            super().__init__()
            self.graph = graph
            self.key = key

    class NodeOpened(Message):
        def __init__(self, graph: "LineageGraph", key: str) -> None:
            super().__init__()
            self.graph = graph
            self.key = key

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.graph = nx.DiGraph()
        self.info: dict[str, NodeInfo] = {}
        self.shown = nx.DiGraph()  # the graph drawn (grouped or not)
        self.shown_info: dict[str, NodeInfo] = {}
        self.members: dict[str, list[str]] = {}
        self.lay: Layout | None = None
        self._lines: list[list[tuple[str, str, str | None]]] = []
        self.highlight: set[str] = set()
        self.highlight_kind: str | None = None
        self._back: dict[tuple[str, str], str] = {}
        self._styles: dict[tuple, Style] = {}
        self._strips: dict[tuple[int, int, int], tuple[tuple, Strip]] = {}
        self._line_nodes: list[set[str]] = []
        self._chars: list[str] = []
        self._owner: list = []
        self._hot: dict[int, set[int]] = {}
        self._hot_for: tuple | None = None
        self._generation = 0  # bumped when the drawing changes
        self._highlight_gen = 0
        self.expanded: set[str] = set()  # groups opened with enter while grouped

    # ------------------------------------------------------------------ data
    def set_graph(self, g: nx.DiGraph, info: dict[str, NodeInfo], focus: str | None = None) -> None:
        """Show ``g``; keep the focused node if it is still there."""
        keep = focus or self.focused_node
        self.graph = g
        self.info = dict(info)
        self._rebuild(keep)

    def _rebuild(self, keep: str | None) -> None:
        g, info, members = self.graph, self.info, {}
        if self.grouped:
            grouped = self._grouped()
            if grouped is None:
                self.notify("grouping by prefix would create a cycle; showing assets", severity="warning")
                self.set_reactive(LineageGraph.grouped, False)
            else:
                g, info, members = grouped
        self.shown, self.shown_info, self.members = g, info, members
        self._back.clear()
        self.lay = self._fit_layout(g, info)
        self._draw()
        self.virtual_size = Size(self.lay.width + 1, self.lay.height)
        if keep is not None and keep not in g:
            keep = next((grp for grp, ms in members.items() if keep in ms), None)
        if keep is None or keep not in g:
            first = self.lay.real_layers()
            keep = first[0][0] if first and first[0] else None
        if self.highlight_kind and keep is not None:
            self._compute_highlight(keep)
        else:
            self.highlight = set()
            self._highlight_gen += 1
        self.focused_node = keep
        self.refresh()

    MIN_BOX = 18  # "clean/applicati…" still reads
    MAX_BOX = 48  # a longer key ends in … (whole in the info bar)

    def _fit_layout(self, g: nx.DiGraph, info: dict[str, NodeInfo]) -> Layout:
        """Boxes as wide as the longest key needs (up to ``MAX_BOX``); narrower when that lets every
        layer fit the widget's width, never so narrow that a status and run are cut (a cut key
        ends in … and is whole in the info bar); when even that does not fit, the view scrolls
        with boxes narrow enough for three layers on screen (80 columns: 21 wide, not 29)."""
        labels = max((len(self.label(n)) + (2 if g.has_edge(n, n) else 0) for n in g.nodes), default=10)  # " ↻"
        badges = max((len(f"{i.badge} · {short_run(i.run_id)}") for i in info.values()), default=10)
        floor = max(self.MIN_BOX, badges + 3)
        needed = max(floor, min(self.MAX_BOX, max(labels, badges) + 3))
        lay = layout(g, box_w=needed)
        width = self.scrollable_content_region.width if self.is_attached else 0
        layers = len(lay.layers)
        if not width or lay.width < width or not layers:
            return lay
        gaps = lay.width - layers * needed
        fit = (width - 1 - gaps) // layers
        if fit >= floor:
            return layout(g, box_w=fit)  # every layer on screen
        # it scrolls however narrow: boxes narrow enough that three layers share the screen (a key
        # too long ends in …, whole in the info bar), never narrower than a status and run need
        three = (width - 1 - 2 * (gaps // max(1, layers - 1))) // 3
        box = max(floor, min(needed, three))
        return lay if box == needed else layout(g, box_w=box)

    def on_resize(self) -> None:
        if self.lay is None:
            return
        box = self._fit_layout(self.shown, self.shown_info).box_w
        if box != self.lay.box_w:
            self._rebuild(self.focused_node)

    def _grouped(self):
        """The graph with assets sharing a key prefix drawn as one node. If merging a prefix
        across layers would create a cycle, only assets of one prefix in the same layer merge."""
        dag, _, _ = acyclic(self.graph)
        layer_of = {n: i for i, gen in enumerate(nx.topological_generations(dag)) for n in gen}
        for within_layers in (False, True):
            members: dict[str, list[str]] = {}
            node_of: dict[str, str] = {}
            for n in self.graph.nodes:
                grp = group_of(n)
                if grp is None:
                    grp = n
                elif within_layers:
                    grp = f"{grp} ·{layer_of[n] + 1}"
                node_of[n] = grp
                members.setdefault(grp, []).append(n)
            # a group of one is drawn as its asset (its name matters), an expanded group as its assets
            for grp, ms in list(members.items()):
                if grp not in ms and (len(ms) == 1 or grp in self.expanded):
                    del members[grp]
                    for m in ms:
                        node_of[m] = m
                        members[m] = [m]
            q = nx.DiGraph()
            q.add_nodes_from(members)
            for a, b in self.graph.edges:
                if node_of[a] != node_of[b]:
                    q.add_edge(node_of[a], node_of[b])
            if nx.is_directed_acyclic_graph(q):
                break
        else:  # pragma: no cover - merging within a layer never creates a cycle
            return None
        info: dict[str, NodeInfo] = {}
        for grp, ms in members.items():
            if len(ms) == 1 and ms[0] == grp:
                info[grp] = self.info.get(grp, NodeInfo("fresh"))
                continue
            statuses = [self.info.get(m, NodeInfo("fresh")).status for m in ms]
            worst = min(statuses, key=lambda s: WORST.index(s) if s in WORST else len(WORST))
            runs = {self.info.get(m, NodeInfo("fresh")).run_id for m in ms}
            label = next(iter(runs)) if len(runs) == 1 else None
            info[grp] = NodeInfo(worst, label, any(self.info.get(m, NodeInfo("fresh")).tainted for m in ms))
        return q, info, {g: sorted(ms) for g, ms in members.items() if not (len(ms) == 1 and ms[0] == g)}

    def label(self, node: str) -> str:
        """A node's label as drawn (made visible: keys come from the store)."""
        from ..text import shown_text

        if node in self.members:
            return shown_text(f"{node} ({len(self.members[node])})")
        return shown_text(node)

    def _draw(self) -> None:
        lay = self.lay
        assert lay is not None
        w = lay.box_w
        chars = [[" "] * (lay.width + 1) for _ in range(lay.height)]
        owner: list[list[tuple[str, str | None]]] = [[("blank", None)] * (lay.width + 1) for _ in range(lay.height)]
        for (x, y) in lay.edges:
            chars[y][x] = lay.edge_char(x, y)
            owner[y][x] = ("edge", None)
        for (x, y) in lay.arrows:
            chars[y][x] = "▶"
            owner[y][x] = ("arrow", None)
        for n, p in lay.placed.items():
            if p.dummy:
                continue
            info = self.shown_info.get(n, NodeInfo("fresh"))
            inner = w - 2
            key = self.label(n)
            loop = " ↻" if n in lay.self_loops else ""  # reads its own previous version
            room = inner - 1 - len(loop)
            key = (key if len(key) <= room else key[: room - 1] + "…") + loop
            badge = info.badge
            run = short_run(info.run_id) if info.run_id else ""
            rows = [
                ("┌" + "─" * inner + "┐", [("border", 0, w)]),
                ("│ " + key.ljust(inner - 1) + "│", [("border", 0, 1), ("key", 1, w - 1), ("border", w - 1, w)]),
                (
                    "│ " + (badge + (" · " + run if run else "")).ljust(inner - 1)[: inner - 1] + "│",
                    [("border", 0, 1), ("blank", 1, 2), ("badge", 2, 2 + len(badge)), ("run", 2 + len(badge), w - 1), ("border", w - 1, w)],
                ),
                ("└" + "─" * inner + "┘", [("border", 0, w)]),
            ]
            for dy, (text, spans) in enumerate(rows):
                y = p.y + dy
                for kind, a, b in spans:
                    for dx in range(a, b):
                        chars[y][p.x + dx] = text[dx]
                        owner[y][p.x + dx] = (kind, n)
            # where edges leave and enter the box
            if (p.x + w, p.out_row) in lay.edges:
                chars[p.out_row][p.x + w - 1] = "├"
        lines = []
        for y in range(lay.height):
            runs: list[tuple[str, str, str | None]] = []
            for x in range(lay.width + 1):
                kind, node = owner[y][x]
                if runs and runs[-1][1] == kind and runs[-1][2] == node:
                    runs[-1] = (runs[-1][0] + chars[y][x], kind, node)
                else:
                    runs.append((chars[y][x], kind, node))
            lines.append(runs)
        self._lines = lines
        self._chars = ["".join(row) for row in chars]
        self._owner = owner
        self._line_nodes = [{node for _, _, node in runs if node is not None} for runs in lines]
        self._hot_for = None
        self._generation += 1
        self._strips.clear()
        self._styles.clear()

    # ------------------------------------------------------------------ rendering
    @property
    def cursor(self) -> str | None:
        """The node drawn as focused: none while another widget of the screen has the focus
        (one cursor on screen at a time)."""
        if self.has_focus or not self.is_attached or self.screen.focused is None:
            return self.focused_node
        return None

    def on_focus(self) -> None:
        self._generation += 1
        self._styles.clear()
        self.refresh()

    on_blur = on_focus

    def _style(self, kind: str, node: str | None) -> Style:
        info = self.shown_info.get(node) if node is not None else None
        key = (kind, info.status if info else None, node == self.cursor, node in self.highlight,
               bool(self.highlight_kind))
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = self._make_style(kind, node)
        return style

    def _make_style(self, kind: str, node: str | None) -> Style:
        if kind == "blank":
            return Style()
        if kind in ("edge", "arrow"):
            return Style(color="bright_black")
        if kind == "hot":
            return Style(color="bright_white", bold=True)
        info = self.shown_info.get(node, NodeInfo("fresh")) if node is not None else NodeInfo("fresh")
        colour = STATUS_COLOUR.get(info.status, "white")
        focused = node == self.cursor
        lit = node in self.highlight
        dim = bool(self.highlight_kind) and not lit and not focused
        if kind == "border":
            if focused:
                return Style(color="bright_white", bold=True)
            if lit:
                return Style(color="bright_cyan", bold=True)
            return Style(color=colour, dim=dim)
        if kind == "key":
            if focused:
                return Style(color="black", bgcolor="bright_white", bold=True)
            if lit:
                return Style(color="bright_cyan", bold=True, underline=True)
            return Style(bold=True, dim=dim)
        if kind == "badge":
            return Style(color=colour, bold=True, dim=dim)
        return Style(color="bright_black" if not focused else None, dim=dim)

    def hot_cells(self) -> dict[int, set[int]]:
        """Edge cells of the focused node's edges, by line: drawn brighter so that you can see
        where its edges go."""
        if self._hot_for == (self.cursor, self._generation):
            return self._hot
        hot: dict[int, set[int]] = {}
        node, lay = self.cursor, self.lay
        if node is not None and lay is not None:
            for (a, b), cells in lay.edge_cells.items():
                if a == node or b == node:
                    for x, y in cells:
                        hot.setdefault(y, set()).add(x)
        self._hot, self._hot_for = hot, (self.cursor, self._generation)
        return hot

    def _runs_with_hot(self, line: int, hot: set[int]) -> list[tuple[str, str, str | None]]:
        runs: list[tuple[str, str, str | None]] = []
        chars, owner = self._chars[line], self._owner[line]
        for x, ch in enumerate(chars):
            kind, node = owner[x]
            if x in hot and kind in ("edge", "arrow"):
                kind = "hot"
            if runs and runs[-1][1] == kind and runs[-1][2] == node:
                runs[-1] = (runs[-1][0] + ch, kind, node)
            else:
                runs.append((ch, kind, node))
        return runs

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = y + scroll_y
        width = self.scrollable_content_region.width
        base = self.rich_style  # never a segment without a style: NO_COLOR's filter reads every style
        if line >= len(self._lines):
            return Strip.blank(width, base)
        # a line only changes when the focus moves onto, off or along it, or the highlight changes
        nodes = self._line_nodes[line]
        hot = self.hot_cells().get(line)
        stamp = (self._generation, self.cursor if (self.cursor in nodes or hot) else None,
                 self._highlight_gen if nodes else 0, base)
        cached = self._strips.get((line, scroll_x, width))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        runs = self._runs_with_hot(line, hot) if hot else self._lines[line]
        segments = [Segment(text, self._style(kind, node)) for text, kind, node in runs]
        strip = Strip(segments).crop_extend(scroll_x, scroll_x + width, base)
        self._strips[(line, scroll_x, width)] = (stamp, strip)
        return strip

    # ------------------------------------------------------------------ focus and walking
    def watch_focused_node(self, old: str | None, node: str | None) -> None:
        lay = self.lay
        self.refresh()  # unchanged lines come from the strip cache
        if node is not None and lay is not None and node in lay.placed:
            p = lay.placed[node]
            region = Region(p.x, p.y, lay.box_w + 2, 4)
            if self.size.width:
                self.scroll_to_region(region, animate=False, force=True, immediate=True)
            else:
                self.call_after_refresh(self.scroll_to_region, region, animate=False, force=True)
        self._announce(node)

    def _announce(self, node: str | None) -> None:
        """Tell the screen about the focus now, so that its detail bar repaints in the same
        frame as the graph (a message would arrive a frame later)."""
        event = self.NodeFocused(self, node)
        handler = getattr(self.screen, "on_lineage_graph_node_focused", None) if self.is_mounted else None
        if handler is not None:
            handler(event)
        else:
            self.post_message(event)

    def focus_node(self, key: str) -> bool:
        """Focus ``key`` (or the group holding it). Returns False if it is not drawn."""
        if key not in self.shown:
            grp = next((g for g, ms in self.members.items() if key in ms), None)
            if grp is None:
                return False
            key = grp
        self.focused_node = key
        return True

    def _layer_nodes(self, node: str) -> list[str]:
        assert self.lay is not None
        layer = self.lay.placed[node].layer
        return sorted(
            (n for n in self.lay.layers[layer] if not isinstance(n, Dummy)), key=lambda n: self.lay.placed[n].y
        )

    def neighbour(self, node: str, direction: str) -> str | None:
        """The node reached from ``node`` by one move, or None."""
        if self.lay is None or node not in self.lay.placed:
            return None
        if direction in ("up", "down"):
            layer = self._layer_nodes(node)
            i = layer.index(node) + (-1 if direction == "up" else 1)
            return layer[i] if 0 <= i < len(layer) else None
        nbrs = [n for n in (self.shown.predecessors(node) if direction == "left" else self.shown.successors(node))
                if n != node]
        if not nbrs:
            return None
        back = self._back.get((node, direction))
        if back in nbrs:
            return back
        y = self.lay.placed[node].y
        return min(nbrs, key=lambda n: (abs(self.lay.placed[n].y - y), self.lay.placed[n].layer, str(n)))

    def action_move(self, direction: str) -> None:
        node = self.focused_node
        if node is None:
            return
        nxt = self.neighbour(node, direction)
        if nxt is None:
            return
        if direction in ("left", "right"):
            self._back[(nxt, "right" if direction == "left" else "left")] = node
        if self.highlight_kind:
            self._compute_highlight(nxt)
        self.focused_node = nxt

    def action_open(self) -> None:
        node = self.focused_node
        if node is None:
            return
        if node in self.members:  # expand this group only; the others stay grouped
            first = self.members[node][0]
            self.expanded.add(node)
            self._rebuild(first)
            return
        self.post_message(self.NodeOpened(self, node))

    def _compute_highlight(self, node: str) -> None:
        self._highlight_gen += 1
        if self.highlight_kind == "upstream":
            self.highlight = nx.ancestors(self.shown, node)
        elif self.highlight_kind == "downstream":
            self.highlight = nx.descendants(self.shown, node)
        else:
            self.highlight = set()

    def action_closure(self, kind: str) -> None:
        node = self.focused_node
        if node is None:
            return
        self.highlight_kind = None if self.highlight_kind == kind else kind
        self._compute_highlight(node)
        self.refresh()
        self._announce(node)

    def action_copy(self) -> None:
        if self.focused_node is not None:
            self.app.copy_value(str(self.focused_node))

    def action_toggle_group(self) -> None:
        self.expanded.clear()
        self.grouped = not self.grouped

    def watch_grouped(self, grouped: bool) -> None:
        if self.lay is not None:
            self._rebuild(self.focused_node)
