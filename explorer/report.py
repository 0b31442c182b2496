"""One self-contained HTML report of a store, for customers and auditors.

``html_report(store, assets=..., as_of=..., redact=...)`` returns one HTML document with
everything inline (SVG and CSS; no script, no font, no image or style from anywhere else):
the asset graph (groups collapsible, coloured by status, with a legend), the staleness
table with root causes, the runs timeline and, for chosen assets, provenance and history.
Every string from the store goes through ``esc`` (made visible, then HTML-escaped): a key
or tag like ``<script>`` is shown as text.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from datetime import datetime, timezone
from typing import Iterable

import networkx as nx

from . import export
from .errors import ExplorerError
from .models import short_hash
from .visible import visible

STATUS_LABELS = {
    "fresh": "fresh: built from the current versions of its inputs",
    "stale": "stale: an input, the code or the plan changed since",
    "missing": "missing: never built",
    "failed": "failed: the newest run that planned it failed",
    "tainted": "tainted: flagged, or built from a flagged version",
}
REDACTED = "(redacted)"
NODE_W, NODE_H, COL_GAP, ROW_GAP = 190, 38, 70, 18


def esc(value) -> str:
    """A store string as HTML text: control and bidi characters made visible, then escaped."""
    return html.escape(visible("" if value is None else str(value)), quote=True)


def _time(ts: datetime | None) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if ts else ""


# ---------------------------------------------------------------------- the asset graph


def _layout(g: nx.DiGraph) -> dict[str, tuple[int, int]]:
    """(column, row) per node: columns by dependency depth (cycles share a column), rows by group then name."""
    c = nx.condensation(g)
    depth: dict[int, int] = {}
    for comp in nx.topological_sort(c):
        depth[comp] = max((depth[p] + 1 for p in c.predecessors(comp)), default=0)
    columns: dict[int, list[str]] = {}
    for comp, d in depth.items():
        columns.setdefault(d, []).extend(c.nodes[comp]["members"])
    out = {}
    for col, nodes in columns.items():
        for row, n in enumerate(sorted(nodes, key=lambda n: (_group(n), n))):
            out[n] = (col, row)
    return out


def _group(key: str) -> str:
    return key.rsplit("/", 1)[0] if "/" in key else ""


def graph_svg(g: nx.DiGraph, statuses: dict[str, str], collapsible: bool = True) -> tuple[str, list[str]]:
    """The asset graph as inline SVG, and its groups (key prefixes) in order. Each group's
    members and their edges carry the class ``m-I``, its collapsed box ``c-I``."""
    pos = _layout(g) if g.nodes else {}
    groups = sorted({_group(n) for n in g.nodes if _group(n)})
    gi = {name: i for i, name in enumerate(groups)}
    cols = max((c for c, _ in pos.values()), default=0) + 1
    rows = max((r for _, r in pos.values()), default=0) + 1
    width = cols * (NODE_W + COL_GAP) + 20
    height = rows * (NODE_H + ROW_GAP) + 20

    def xy(n):
        c, r = pos[n]
        return 10 + c * (NODE_W + COL_GAP), 10 + r * (NODE_H + ROW_GAP)

    def cls(n):
        return f" m-{gi[_group(n)]}" if _group(n) else ""

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="asset graph">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#666"/></marker></defs>']
    for a, b in sorted(g.edges):
        (x1, y1), (x2, y2) = xy(a), xy(b)
        parts.append(f'<line class="edge{cls(a)}{cls(b)}" x1="{x1 + NODE_W}" y1="{y1 + NODE_H // 2}" '
                     f'x2="{x2}" y2="{y2 + NODE_H // 2}" marker-end="url(#arrow)"/>')
    for n in sorted(g.nodes):
        x, y = xy(n)
        status = statuses.get(n) or "unknown"
        parts.append(f'<g class="node s-{esc(status)}{cls(n)}" data-asset="{esc(n)}"><title>{esc(n)}: {esc(status)}</title>'
                     f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
                     f'<text x="{x + 8}" y="{y + 16}">{esc(_short(n))}</text>'
                     f'<text class="status" x="{x + 8}" y="{y + 31}">{esc(status)}</text></g>')
    if collapsible:
        for name in groups:  # the collapsed box of each group, shown instead of its members
            members = [n for n in g.nodes if _group(n) == name]
            x = min(xy(n)[0] for n in members)
            y = min(xy(n)[1] for n in members)
            worst = _worst(statuses.get(n) or "" for n in members)
            parts.append(f'<g class="node collapsed c-{gi[name]} s-{esc(worst or "unknown")}"><rect x="{x}" y="{y}" '
                         f'width="{NODE_W}" height="{NODE_H}" rx="6" stroke-dasharray="4 3"/>'
                         f'<text x="{x + 8}" y="{y + 16}">{esc(name)}/ ({len(members)})</text>'
                         f'<text class="status" x="{x + 8}" y="{y + 31}">{esc(worst)}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts), groups


def _short(key: str) -> str:
    text = key.rsplit("/", 1)[-1]
    return text if len(text) <= 24 else text[:23] + "…"


def _worst(statuses: Iterable[str]) -> str:
    order = ["tainted", "failed", "missing", "stale", "fresh"]
    found = set(statuses)
    return next((s for s in order if s in found), "")


def graph_file(g: nx.DiGraph, statuses: dict[str, str], output: str, kind: str) -> None:
    """The graph alone as ``svg`` or ``png``, drawn by Graphviz's ``dot``."""
    dot = shutil.which("dot")
    if dot is None:
        raise ExplorerError(
            f"--format {kind} draws the graph with Graphviz's dot, which is not installed "
            "(apt-get install graphviz, brew install graphviz); the HTML report needs nothing"
        )
    done = subprocess.run([dot, f"-T{kind}", "-o", output], input=export.to_dot(g, statuses).encode(),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise ExplorerError(f"dot failed: {done.stderr.decode(errors='replace').strip()[:300]}")


# ---------------------------------------------------------------------- sections


def _staleness_rows(report) -> str:
    rows = []
    for a in report.assets:
        causes = "".join(f"<li>{esc(c.describe())}</li>" for c in a.root_causes)
        if a.root_causes_omitted:
            causes += f"<li>{esc(a.root_causes_summary())}</li>"
        rows.append(f'<tr><td class="key">{esc(a.asset)}</td><td><span class="badge s-{esc(a.status)}">{esc(a.status)}</span></td>'
                    f'<td class="mono">{esc(a.run_id or "")}</td><td><ul>{causes}</ul></td></tr>')
    return "\n".join(rows)


def _runs_section(runs, redact: bool) -> str:
    if not runs:
        return "<p>No runs.</p>"
    t0, t1 = runs[0].started_at, runs[-1].started_at
    span = max((t1 - t0).total_seconds(), 1.0)
    width, height = 900, 60
    dots = []
    for r in runs:
        x = 20 + (width - 40) * (r.started_at - t0).total_seconds() / span
        dots.append(f'<circle class="run s-{esc(r.status)}" cx="{x:.1f}" cy="30" r="7">'
                    f'<title>{esc(r.run_id)} {esc(r.status)}</title></circle>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}"><line x1="20" y1="30" x2="{width - 20}" y2="30" class="axis"/>'
           + "".join(dots)
           + f'<text x="20" y="56">{esc(_time(t0))}</text><text x="{width - 20}" y="56" text-anchor="end">{esc(_time(t1))}</text></svg>')
    rows = "\n".join(
        f'<tr><td class="mono">{esc(r.run_id)}</td><td>{esc(r.job or "")}</td><td><span class="badge s-{esc(r.status)}">'
        f'{esc(r.status)}</span></td><td>{esc(_time(r.started_at))}</td><td>{esc(r.code_version or "")}</td>'
        f'<td>{r.asset_count}</td><td>{_pairs(r.tags, redact)}</td></tr>'
        for r in reversed(runs))
    return (svg + '<table><thead><tr><th>run</th><th>job</th><th>status</th><th>started</th><th>code</th>'
            f'<th>assets</th><th>tags</th></tr></thead><tbody>{rows}</tbody></table>')


def _pairs(mapping: dict, redact: bool) -> str:
    return ", ".join(f"{esc(k)}={REDACTED if redact else esc(v)}" for k, v in sorted(mapping.items()))


def _history_svg(points: list[tuple[str, float]], label: str) -> str:
    if not points:
        return ""
    width, height, pad = 600, 160, 30
    values = [v for _, v in points]
    lo, hi = min(values), max(values)
    rng = (hi - lo) or 1.0
    step = (width - 2 * pad) / max(len(points) - 1, 1)
    coords = [(pad + i * step, height - pad - (v - lo) / rng * (height - 2 * pad)) for i, (_, v) in enumerate(points)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    marks = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{esc(run)}: {v:g}</title></circle>'
                    for (x, y), (run, v) in zip(coords, points))
    return (f'<figure><svg xmlns="http://www.w3.org/2000/svg" class="history" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><polyline points="{line}"/>{marks}'
            f'<text x="{pad}" y="14">{esc(label)}: {lo:g} to {hi:g}</text></svg></figure>')


def _asset_section(store, key: str, as_of_run_ids: set[str] | None, redact: bool) -> str:
    versions = [v for v in store.asset_versions(key) if as_of_run_ids is None or v.run_id in as_of_run_ids]
    if not versions:
        return f'<section class="asset"><h3>{esc(key)}</h3><p>No version at this time.</p></section>'
    v = versions[-1]
    prov = store.provenance(key, v.run_id)
    missing = set(prov.missing)
    prov_rows = "\n".join(
        f'<tr><td class="key">{esc(p.asset)}</td><td class="mono">{esc(p.run_id)}</td>'
        f'<td class="mono">{esc(short_hash(p.content_hash))}</td>'
        f'<td>{"missing" if p in missing else ""}</td></tr>'
        for p in prov.versions)
    meta = "".join(f"<tr><td>{esc(k)}</td><td>{REDACTED if redact else esc(val)}</td></tr>"
                   for k, val in sorted(v.metadata.items()))
    rows = [(w.run_id, float(w.table.num_rows)) for w in versions if w.table is not None]
    sizes = [(w.run_id, float(w.size_bytes)) for w in versions]
    return (f'<section class="asset" id="asset-{esc(key)}"><h3>{esc(key)}</h3>'
            f'<p>Version of run <span class="mono">{esc(v.run_id)}</span>, made {esc(_time(v.created_at))}, '
            f'code {esc(v.code_version or "unknown")}, {len(versions)} versions in all.</p>'
            + (f"<h4>Metadata</h4><table>{meta}</table>" if meta else "")
            + '<h4>Provenance: what it was built from</h4><table><thead><tr><th>asset</th><th>run</th><th>hash</th>'
            f'<th></th></tr></thead><tbody>{prov_rows}</tbody></table>'
            "<h4>History</h4>" + _history_svg(rows, "rows") + _history_svg(sizes, "bytes") + "</section>")


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
.mono,.key{white-space:nowrap;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}ul{margin:0;padding-left:1.2em}
.graph .node rect{fill:#fff;stroke:#888}.graph text{font-size:12px;font-family:ui-monospace,monospace}
.graph .status{fill:#555;font-size:10px}.graph .edge{stroke:#999;stroke-width:1.2}
figure{overflow-x:auto;margin:0}.graph .collapsed{display:none}.groups label{margin-right:1em}
.badge{padding:0 .4em;border-radius:3px;border:1px solid #aaa}
.timeline .axis{stroke:#aaa}.timeline text{font-size:11px}.history polyline{fill:none;stroke:#3366aa;stroke-width:2}
.history text{font-size:11px}.history circle{fill:#3366aa}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:1em;height:1em;border:1px solid;vertical-align:middle;margin-right:.3em}
"""


def _status_css() -> str:
    out = []
    for status, (fill, stroke) in export.STATUS_COLOURS.items():
        out.append(f".graph .s-{status} rect,.legend .s-{status}{{fill:{fill};background:{fill};stroke:{stroke};border-color:{stroke}}}"
                   f".badge.s-{status}{{background:{fill};color:{stroke};border-color:{stroke}}}"
                   f".timeline .s-{status}{{fill:{fill};stroke:{stroke}}}")
    out.append(".timeline .s-success{fill:#d4edda;stroke:#155724}.timeline .s-running{fill:#cce5ff;stroke:#004085}")
    return "\n".join(out)


def _collapse_css(groups: list[str]) -> str:
    return "\n".join(f"#collapse-{i}:checked~figure .m-{i}{{display:none}}#collapse-{i}:checked~figure .c-{i}{{display:inline}}"
                     for i in range(len(groups)))


def html_report(store, assets: Iterable[str] = (), as_of=None, redact: bool = False, title: str | None = None) -> str:
    """The report as one HTML document (see the module docstring)."""
    assets = list(assets)
    for key in assets:
        store.latest(key)  # an unknown asset: a clear error before anything is made
    report = store.staleness(as_of=as_of)
    runs = store.runs
    run_ids = None
    if report.as_of is not None:
        runs = [r for r in runs if r.started_at <= report.as_of]
        run_ids = {r.run_id for r in runs}
    g = store.asset_graph()
    statuses = {n: (report.get(n).status if report.get(n) else "") for n in g.nodes}
    if as_of is None:  # tainted and failed are today's facts
        statuses.update({k: s for k, s in export.asset_statuses(store).items() if s in ("tainted", "failed")})
    svg, groups = graph_svg(g, statuses)
    toggles = "".join(f'<input type="checkbox" id="collapse-{i}" class="collapse"><label for="collapse-{i}">'
                      f'collapse {esc(name)}/</label>' for i, name in enumerate(groups))
    counts = {s: sum(1 for a in report.assets if a.status == s) for s in ("fresh", "stale", "missing")}
    legend = "".join(f'<span><i class="s-{s}"></i>{esc(text)}</span>' for s, text in STATUS_LABELS.items())
    when = f"as of {_time(report.as_of)}" + (f" (run {report.as_of_run})" if report.as_of_run else "") if report.as_of else \
        f"written {_time(datetime.now(timezone.utc))}"
    heading = title or f"Lineage report: {store.url}"
    body = [
        f"<h1>{esc(heading)}</h1>",
        f'<p class="summary">{esc(when)}. {len(runs)} runs, {g.number_of_nodes()} assets: '
        + ", ".join(f"{n} {esc(s)}" for s, n in counts.items()) + ("; metadata values redacted" if redact else "") + ".</p>",
        '<h2 id="graph">Asset graph</h2><p>Each box is an asset, each arrow "is built from". '
        "Tick a group to collapse it into one box.</p>",
        f'<div class="groups">{toggles}<figure>{svg}</figure></div>' if groups else f"<figure>{svg}</figure>",
        f'<p class="legend">{legend}</p>',
        '<h2 id="staleness">Staleness</h2><table><thead><tr><th>asset</th><th>status</th><th>version of run</th>'
        f"<th>root causes</th></tr></thead><tbody>{_staleness_rows(report)}</tbody></table>",
        '<h2 id="runs">Runs</h2>' + _runs_section(runs, redact),
    ]
    if assets:
        body.append('<h2 id="assets">Assets</h2>' + "".join(_asset_section(store, k, run_ids, redact) for k in assets))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
            f"<title>{esc(heading)}</title><style>{CSS}{_status_css()}{_collapse_css(groups)}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


__all__ = ["esc", "graph_file", "graph_svg", "html_report"]
