"""Renderers of the asset graph for documents: mermaid and Graphviz dot, grouped by key prefix."""

from __future__ import annotations

import re
from typing import Mapping

import networkx as nx

STATUS_COLOURS = {
    "fresh": ("#d4edda", "#155724"),
    "stale": ("#fff3cd", "#856404"),
    "missing": ("#f8d7da", "#721c24"),
    "failed": ("#f8d7da", "#721c24"),
    "tainted": ("#e2d5f1", "#4a235a"),
}


def _node_id(key: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", key)


def _groups(g: nx.DiGraph) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for n in sorted(g.nodes):
        prefix = n.rsplit("/", 1)[0] if "/" in n else ""
        groups.setdefault(prefix, []).append(n)
    return groups


def to_mermaid(g: nx.DiGraph, statuses: Mapping[str, str] | None = None) -> str:
    """A mermaid flowchart of the asset graph, one subgraph per key prefix."""
    statuses = statuses or {n: ("missing" if g.nodes[n].get("missing") else "") for n in g.nodes}
    lines = ["flowchart LR"]
    for prefix, nodes in _groups(g).items():
        indent = "    "
        if prefix:
            lines.append(f'    subgraph {_node_id(prefix)}["{prefix}"]')
            indent = "        "
        for n in nodes:
            label = n.rsplit("/", 1)[-1] if prefix else n
            status = statuses.get(n) or ""
            text = f"{label}<br/><i>{status}</i>" if status else label
            lines.append(f'{indent}{_node_id(n)}["{text}"]')
        if prefix:
            lines.append("    end")
    for a, b in sorted(g.edges):
        lines.append(f"    {_node_id(a)} --> {_node_id(b)}")
    for status, (fill, stroke) in STATUS_COLOURS.items():
        members = [_node_id(n) for n in sorted(g.nodes) if statuses.get(n) == status]
        if members:
            lines.append(f"    classDef {status} fill:{fill},stroke:{stroke},color:{stroke}")
            lines.append(f"    class {','.join(members)} {status}")
    return "\n".join(lines) + "\n"


def _dot_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(g: nx.DiGraph, statuses: Mapping[str, str] | None = None) -> str:
    """A Graphviz digraph of the asset graph, one cluster per key prefix."""
    statuses = statuses or {n: ("missing" if g.nodes[n].get("missing") else "") for n in g.nodes}
    lines = ["digraph assets {", "  rankdir=LR;", '  node [shape=box, style="rounded,filled", fillcolor=white];']
    for i, (prefix, nodes) in enumerate(_groups(g).items()):
        indent = "  "
        if prefix:
            lines.append(f"  subgraph cluster_{i} {{")
            lines.append(f"    label={_dot_quote(prefix)};")
            indent = "    "
        for n in nodes:
            status = statuses.get(n) or ""
            attrs = [f"label={_dot_quote(n + (chr(10) + status if status else ''))}"]
            if status in STATUS_COLOURS:
                fill, stroke = STATUS_COLOURS[status]
                attrs += [f'fillcolor="{fill}"', f'color="{stroke}"']
            lines.append(f"{indent}{_dot_quote(n)} [{', '.join(attrs)}];")
        if prefix:
            lines.append("  }")
    for a, b in sorted(g.edges):
        lines.append(f"  {_dot_quote(a)} -> {_dot_quote(b)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
