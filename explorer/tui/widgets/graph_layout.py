"""Layered drawing of a DAG with box-drawing characters (no textual here: plain data).

Layers are ``networkx.topological_generations`` (sources on the left), long edges pass
through dummy nodes, nodes within a layer are ordered by the barycenter heuristic
(alternating sweeps, keeping the ordering with fewest crossings). Edges between adjacent
layers are routed through a gap in which every source owns one vertical channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable

import networkx as nx

from ... import lineage

BOX_H = 4  # top border, key, badge + run, bottom border
SLOT_H = 5  # box and one blank line
UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
JUNCTIONS = {
    0: " ",
    UP: "│", DOWN: "│", UP | DOWN: "│",
    LEFT: "─", RIGHT: "─", LEFT | RIGHT: "─",
    DOWN | RIGHT: "┌", DOWN | LEFT: "┐", UP | RIGHT: "└", UP | LEFT: "┘",
    UP | DOWN | RIGHT: "├", UP | DOWN | LEFT: "┤", DOWN | LEFT | RIGHT: "┬", UP | LEFT | RIGHT: "┴",
    UP | DOWN | LEFT | RIGHT: "┼",
}


@dataclass(frozen=True)
class Dummy:
    """A point where a long edge crosses a layer."""

    source: Hashable
    target: Hashable
    layer: int

    def __repr__(self) -> str:
        return f"Dummy({self.source}->{self.target}@{self.layer})"


@dataclass
class Placed:
    node: Hashable
    layer: int
    order: int
    x: int
    y: int
    dummy: bool = False

    @property
    def in_row(self) -> int:
        return self.y + 1

    @property
    def out_row(self) -> int:
        return self.y + 1 if self.dummy else self.y + 2


@dataclass
class Layout:
    """Where every node sits and the edge characters between them."""

    layers: list[list[Hashable]]  # real and dummy nodes, in drawing order
    placed: dict[Hashable, Placed]
    box_w: int
    width: int
    height: int
    edges: dict[tuple[int, int], int] = field(default_factory=dict)  # (x, y) -> direction mask
    arrows: set[tuple[int, int]] = field(default_factory=set)
    self_loops: set = field(default_factory=set)  # nodes that read their own earlier version
    edge_cells: dict[tuple, set[tuple[int, int]]] = field(default_factory=dict)  # real edge -> cells
    dropped: set = field(default_factory=set)  # edges left out to break cycles

    def real_layers(self) -> list[list[Hashable]]:
        return [[n for n in layer if not isinstance(n, Dummy)] for layer in self.layers]

    def edge_char(self, x: int, y: int) -> str:
        if (x, y) in self.arrows:
            return "▶"
        return JUNCTIONS[self.edges.get((x, y), 0)]


def acyclic(g: nx.DiGraph) -> tuple[nx.DiGraph, set, set]:
    """``g`` without self-loops (an incremental asset reading its own previous version) and
    without the edges closing any other cycle (:func:`explorer.lineage.acyclic`):
    (DAG, self-looping nodes, dropped edges)."""
    dag, cut = lineage.acyclic(g, key=str)
    loops = {a for a, b in cut if a == b}
    return dag, loops, {(a, b) for a, b in cut if a != b}


def _crossings(upper: list, lower: list, edges: set) -> int:
    pos_u = {n: i for i, n in enumerate(upper)}
    pos_l = {n: i for i, n in enumerate(lower)}
    pairs = sorted((pos_u[a], pos_l[b]) for a, b in edges if a in pos_u and b in pos_l)
    count = 0
    for i in range(len(pairs)):
        for j in range(i + 1, len(pairs)):
            if pairs[i][0] < pairs[j][0] and pairs[i][1] > pairs[j][1]:
                count += 1
    return count


def total_crossings(layers: list[list], edges: set) -> int:
    return sum(_crossings(layers[i], layers[i + 1], edges) for i in range(len(layers) - 1))


def order_layers(g: nx.DiGraph, sweeps: int = 8) -> tuple[list[list], set]:
    """Layers with dummy nodes, ordered to reduce crossings; and the unit edges between them."""
    gens = [sorted(gen, key=str) for gen in nx.topological_generations(g)]
    layer_of = {n: i for i, gen in enumerate(gens) for n in gen}
    layers: list[list] = [list(gen) for gen in gens]
    unit: set = set()
    for a, b in sorted(g.edges, key=lambda e: (str(e[0]), str(e[1]))):
        la, lb = layer_of[a], layer_of[b]
        prev = a
        for k in range(la + 1, lb):
            d = Dummy(a, b, k)
            layers[k].append(d)
            unit.add((prev, d))
            prev = d
        unit.add((prev, b))
    preds: dict = {}
    succs: dict = {}
    for a, b in unit:
        succs.setdefault(a, []).append(b)
        preds.setdefault(b, []).append(a)

    def sweep(layers: list[list], down: bool) -> list[list]:
        out = [list(layer) for layer in layers]
        rng = range(1, len(out)) if down else range(len(out) - 2, -1, -1)
        for i in rng:
            ref = out[i - 1] if down else out[i + 1]
            pos = {n: j for j, n in enumerate(ref)}
            nbrs = preds if down else succs
            current = {n: j for j, n in enumerate(out[i])}

            def bary(n, pos=pos, nbrs=nbrs, current=current):
                ps = [pos[m] for m in nbrs.get(n, ()) if m in pos]
                return (sum(ps) / len(ps)) if ps else current[n] * len(ref) / max(len(out[i]), 1)

            out[i].sort(key=lambda n: (bary(n), current[n]))
        return out

    best = layers
    best_c = total_crossings(layers, unit)
    cur = layers
    for s in range(sweeps):
        if best_c == 0:
            break
        cur = sweep(cur, down=(s % 2 == 0))
        c = total_crossings(cur, unit)
        if c < best_c:
            best, best_c = cur, c
    return best, unit


def _pack(layer: list, want: dict) -> dict:
    """Integer slots for a layer, as close to ``want`` as order and spacing allow."""
    out: dict = {}
    prev = -1
    for n in layer:
        s = max(int(round(want.get(n, prev + 1))), prev + 1)
        out[n] = s
        prev = s
    return out


def assign_slots(layers: list[list], unit: set) -> dict:
    """Vertical slot of every node: each layer aligned with its neighbours' average, so that
    chains run straight (a down pass from the sources, then an up pass for the sources)."""
    preds: dict = {}
    succs: dict = {}
    for a, b in unit:
        preds.setdefault(b, []).append(a)
        succs.setdefault(a, []).append(b)
    slots: dict = {}
    if not layers:
        return slots
    slots.update(_pack(layers[0], {n: j for j, n in enumerate(layers[0])}))
    for layer in layers[1:]:
        want = {}
        for j, n in enumerate(layer):
            ps = [slots[p] for p in preds.get(n, ()) if p in slots]
            want[n] = sum(ps) / len(ps) if ps else j
        slots.update(_pack(layer, want))
    for layer in reversed(layers[:-1]):
        want = {}
        for n in layer:
            ss = [slots[t] for t in succs.get(n, ()) if t in slots]
            want[n] = (sum(ss) / len(ss)) if ss and not preds.get(n) else slots[n]
        slots.update(_pack(layer, want))
    low = min(slots.values())
    return {n: s - low for n, s in slots.items()}


def layout(g: nx.DiGraph, box_w: int = 28, min_gap: int = 4) -> Layout:
    """Place the nodes of a graph (cycles broken, see ``acyclic``) and route its edges."""
    g, loops, dropped = acyclic(g)
    layers, unit = order_layers(g)
    # sources in each layer, each owning a channel in the gap to its right
    channels: list[list] = []
    for layer in layers:
        srcs = [n for n in layer if any(a == n for a, _ in unit)]
        channels.append(srcs)
    xs = []
    x = 0
    for i, layer in enumerate(layers):
        xs.append(x)
        x += box_w + max(min_gap, len(channels[i]) + 3)
    slots = assign_slots(layers, unit)
    placed: dict = {}
    for i, layer in enumerate(layers):
        for j, n in enumerate(layer):
            placed[n] = Placed(n, i, j, xs[i], slots[n] * SLOT_H, isinstance(n, Dummy))
    width = (xs[-1] + box_w) if layers else 0
    height = (max(slots.values()) + 1) * SLOT_H if slots else 0
    lay = Layout(layers, placed, box_w, width, height, self_loops=loops, dropped=dropped)

    def real(a, b) -> tuple:
        return (a.source if isinstance(a, Dummy) else a, b.target if isinstance(b, Dummy) else b)

    def own(edge: tuple, cells) -> None:
        lay.edge_cells.setdefault(edge, set()).update(cells)

    def mark(cells: list[tuple[int, int]], back: int, forward: int) -> list[tuple[int, int]]:
        """Draw a straight run of cells (in order): each joins the one before (``back``) and the
        one after (``forward``); crossings keep the marks already there."""
        for k, cell in enumerate(cells):
            m = lay.edges.get(cell, 0)
            if k > 0:
                m |= back
            if k < len(cells) - 1:
                m |= forward
            lay.edges[cell] = m
        return cells

    def hline(x0: int, x1: int, y: int) -> list[tuple[int, int]]:
        x0, x1 = min(x0, x1), max(x0, x1)
        return mark([(x, y) for x in range(x0, x1 + 1)], LEFT, RIGHT)

    def vline(x: int, y0: int, y1: int) -> list[tuple[int, int]]:
        y0, y1 = min(y0, y1), max(y0, y1)
        return mark([(x, y) for y in range(y0, y1 + 1)], UP, DOWN)

    for n, p in placed.items():
        if p.dummy:
            own((n.source, n.target), hline(p.x, p.x + box_w - 1, p.in_row))
    for i, srcs in enumerate(channels):
        srcs = sorted(srcs, key=lambda n: placed[n].out_row)
        gx = xs[i] + box_w
        for c, s in enumerate(srcs):
            ps = placed[s]
            cx = gx + 1 + c
            targets = [b for a, b in unit if a == s]
            stem = hline(gx if not ps.dummy else gx - 1, cx, ps.out_row)
            rows = [placed[t].in_row for t in targets] + [ps.out_row]
            vline(cx, min(rows), max(rows))
            for t in targets:
                pt = placed[t]
                end = pt.x - 1 if not pt.dummy else pt.x
                cells = stem + vline(cx, ps.out_row, pt.in_row) + hline(cx, end, pt.in_row)
                own(real(s, t), cells)
                if not pt.dummy:
                    lay.arrows.add((pt.x - 1, pt.in_row))
    return lay
