"""Lineage graphs over the index (networkx): the asset graph, the version graph, and the
questions asked of them (upstream, downstream, provenance, impact). Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, NamedTuple

import msgspec

if TYPE_CHECKING:  # networkx is imported where a graph is built (resolving names needs none)
    import networkx as nx

from .errors import UnknownAsset, UnknownRun
from .models import AssetVersion, InputRef
from .names import resolve_run, split_partition, suggestion, unknown_asset, with_partition
from .index import Index, bulk_load

VersionNode = tuple[str, ...]  # (asset key, run id[, partition]): AssetVersion.ident


def asset_graph(index: Index, all_runs: bool = False, run_id: str | None = None) -> nx.DiGraph:
    """Nodes are asset keys; an edge ``a -> b`` means b consumed a.

    By default edges come from each asset's latest version (the store as it is now);
    ``all_runs`` takes the union over every version; ``run_id`` only that run's versions.
    Assets that were planned or consumed but never materialized appear with ``missing=True``.
    """
    import networkx as nx

    g = nx.DiGraph()
    if run_id is not None:
        run_id = resolve_run(index.runs, run_id)
        versions: Iterable[AssetVersion] = index.run_versions(run_id)
        planned = index.runs[run_id].planned
    elif all_runs:
        versions = index.versions.values()
        planned = [p for r in index.run_list() for p in r.planned]
    else:
        versions = index.latest_versions().values()
        planned = [p for r in index.run_list() for p in r.planned]
    if run_id is not None:
        # in one run's graph, "missing" means planned by the run but not written by it
        def absent(key: str) -> bool:
            return not index.wrote(key, run_id) and index.latest(key) is None and not index.observations(key)

        def absent_planned(key: str) -> bool:
            return not index.wrote(key, run_id)
    else:
        def absent(key: str) -> bool:
            return index.latest(key) is None and not index.observations(key)

        absent_planned = absent
    versions = [v for v in versions if not v.inside]  # op outputs inside graph-backed assets
    for v in versions:
        g.add_node(v.asset, missing=False)
        for i in v.inputs:
            if i.asset not in g:
                g.add_node(i.asset, missing=absent(i.asset))
            g.add_edge(i.asset, v.asset)
    built = {v.asset for v in versions}
    wired: set[str] = set()
    for p in reversed(list(planned)):  # an asset without a version: the edges of its newest plan
        if p.asset in built or p.asset in wired or index.is_internal(p.asset):
            continue
        wired.add(p.asset)
        if p.asset not in g:
            g.add_node(p.asset, missing=absent_planned(p.asset))
        for i in p.inputs or ():
            if i not in g:
                g.add_node(i, missing=absent(i))
            g.add_edge(i, p.asset)
    return g


def version_graph(index: Index) -> nx.DiGraph:
    """Nodes are ``(asset, run_id)`` versions (``(asset, run_id, partition)`` for a partition);
    edges the inputs actually consumed, across runs.

    A consumed version that is no longer in the store is a node with ``missing=True``.
    """
    import networkx as nx

    g = nx.DiGraph()
    for ident, v in index.versions.items():
        g.add_node(ident, version=v, missing=False)
    for ident, v in index.versions.items():
        for i in v.inputs:
            node = i.ident
            if node not in g:
                g.add_node(node, version=None, missing=True, content_hash=i.content_hash)
            g.add_edge(node, ident)
    return g


def back_edges(g: nx.DiGraph, start: Iterable[Any] = (), key: Callable[[Any], Any] | None = None) -> set[tuple[Any, Any]]:
    """The edges that close a cycle: self-loops, and the back edges of one depth-first search.

    The search begins at ``start`` (in that order), then at every other node in sorted order,
    and visits successors in sorted order (by ``key``), so the same graph always gives the same edges.
    Removing them leaves a DAG. Iterative, linear in nodes plus edges.
    """
    succ = {n: sorted(g.successors(n), key=key) for n in g.nodes}
    return _closing_edges(succ, [s for s in (*start, *sorted(g.nodes, key=key)) if s in g])


def _closing_edges(succ: dict[Any, list[Any]], starts: Iterable[Any]) -> set[tuple[Any, Any]]:
    """The back edges of one iterative depth-first search over ``succ`` (each node's successors,
    visited in that order), begun at each of ``starts`` not reached yet, in order."""
    state: dict[Any, int] = {}  # 1 on the current path, 2 done
    out: set[tuple[Any, Any]] = set()
    for s in starts:
        if s in state:
            continue
        state[s] = 1
        stack = [(s, iter(succ[s]))]
        while stack:
            n, it = stack[-1]
            for m in it:
                seen = state.get(m)
                if seen == 1:
                    out.add((n, m))
                elif seen is None:
                    state[m] = 1
                    stack.append((m, iter(succ[m])))
                    break
            else:
                state[n] = 2
                stack.pop()
    return out


def acyclic(g: nx.DiGraph, start: Iterable[Any] = (),
            key: Callable[[Any], Any] | None = None) -> tuple[nx.DiGraph, set[tuple[Any, Any]]]:
    """``g`` without its :func:`back_edges` (a copy; a DAG), and the edges removed.

    An incremental asset reading its own previous version is a self-loop of the asset
    graph; a hostile store can make longer cycles, in the version graph too. Topological
    orders and layers are taken over this DAG, the drawings keep every edge.
    """
    import networkx as nx

    dropped = back_edges(g, start, key)
    dag = nx.DiGraph(g)
    dag.remove_edges_from(dropped)
    return dag, dropped


def upstream(g: nx.DiGraph, node: Any) -> set:
    """Every node ``node`` depends on, transitively."""
    import networkx as nx

    if node not in g:
        raise UnknownAsset(f"unknown asset {node!r}")
    return nx.ancestors(g, node)


def downstream(g: nx.DiGraph, node: Any) -> set:
    """Every node built from ``node``, transitively."""
    import networkx as nx

    if node not in g:
        raise UnknownAsset(f"unknown asset {node!r}")
    return nx.descendants(g, node)


class _End(msgspec.Struct, gc=False):
    """An edge's end in :meth:`LineageResult.to_records`."""

    asset: str
    run_id: str


class _EdgeRecord(msgspec.Struct, gc=False, rename={"source": "from", "target": "to"}):
    source: _End
    target: _End


class _VersionRecord(msgspec.Struct, gc=False, omit_defaults=True, kw_only=True):
    """A version in :meth:`LineageResult.to_records`: ``InputRef.to_dict()`` and ``missing``
    (``partition`` only when there is one)."""

    asset: str
    run_id: str
    content_hash: str | None
    partition: str | None = None
    missing: bool


@dataclass(frozen=True)
class LineageResult:
    """A set of versions and the input edges between them (provenance or impact of one version)."""

    root: InputRef
    direction: str  # "provenance" or "impact"
    versions: tuple[InputRef, ...]
    missing: tuple[InputRef, ...]
    edges: tuple[tuple[InputRef, InputRef], ...]  # (upstream, downstream)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data: its root, direction, versions (each with ``missing``) and
        edges (``from`` and ``to``, each ``{asset, run_id}``)."""
        missing = set(self.missing)
        versions, short = [], {}  # short: each version's {asset, run_id}, made once for all its edges
        for v in self.versions:
            d = v.to_dict()
            d["missing"] = bool(missing) and v in missing
            versions.append(d)
            short[v] = {"asset": v.asset, "run_id": v.run_id}
        return {
            "root": self.root.to_dict(),
            "direction": self.direction,
            "versions": versions,
            "edges": [{"from": short[a], "to": short[b]} for a, b in self.edges],
        }

    def to_records(self) -> dict[str, Any]:
        """:meth:`to_dict`'s document for a JSON writer: versions and edges are iterators of
        msgspec Structs, made as they are read, that ``msgspec.json.encode`` writes (and
        ``msgspec.to_builtins`` turns) into :meth:`to_dict`'s dicts. A million versions are
        written in a third of the time, never all held at once."""
        missing = set(self.missing)
        ends: dict[int, _End] = {}  # by identity: the edges hold the versions' own objects

        def versions() -> Iterator[_VersionRecord]:
            for v in self.versions:
                ends[id(v)] = _End(v.asset, v.run_id)
                yield _VersionRecord(asset=v.asset, run_id=v.run_id, content_hash=v.content_hash,
                                     partition=v.partition, missing=bool(missing) and v in missing)

        def end(v: InputRef) -> _End:
            found = ends.get(id(v))  # (not yet made, or another object than the version's: made here)
            return found if found is not None else _End(v.asset, v.run_id)

        def edges() -> Iterator[_EdgeRecord]:
            for a, b in self.edges:
                yield _EdgeRecord(end(a), end(b))

        return {"root": self.root.to_dict(), "direction": self.direction, "versions": versions(), "edges": edges()}

    def children(self, node: InputRef) -> list[InputRef]:
        """Next level away from the root (inputs for provenance, consumers for impact)."""
        return self._next_level().get(node, [])

    def _next_level(self) -> dict[InputRef, list[InputRef]]:
        out: dict[InputRef, list[InputRef]] = {}
        for a, b in self.edges:  # one pass over the edges
            parent, child = (b, a) if self.direction == "provenance" else (a, b)
            out.setdefault(parent, []).append(child)
        for kids in out.values():
            kids.sort(key=lambda r: (r.asset, r.run_id))
        return out

    def walk(self, max_depth: int | None = None) -> Iterator[TreeStep]:
        """The result as a tree from the root, depth first, children by asset key and run id, as a
        recursive walk would go but iteratively (a chain may be thousands of versions deep).

        Each version is descended once: met again (a diamond, or a cycle back to the root in a
        hostile store) it comes as a step with ``repeated`` set and nothing below it. A version
        at ``max_depth`` with children comes with ``cut`` set and nothing below it either.
        """
        nxt = self._next_level()
        seen = {self.root}
        stack = [iter(nxt.get(self.root, ()))]
        parents = [self.root]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                parents.pop()
                continue
            depth = len(stack)
            kids = nxt.get(child, ())
            if child in seen:
                yield TreeStep(depth, parents[-1], child, repeated=True, has_children=bool(kids))
                continue
            seen.add(child)
            cut = bool(kids) and max_depth is not None and depth >= max_depth
            yield TreeStep(depth, parents[-1], child, has_children=bool(kids), cut=cut)
            if kids and not cut:
                stack.append(iter(kids))
                parents.append(child)


@dataclass(frozen=True)
class TreeStep:
    """One node of :meth:`LineageResult.walk`: ``child`` drawn under ``parent`` at ``depth`` (1 is
    under the root)."""

    depth: int
    parent: InputRef
    child: InputRef
    repeated: bool = False  # shown above: not descended again
    has_children: bool = False
    cut: bool = False  # at max_depth: its children are not walked


def resolve_asset(index: Index, name: str, partition: str | None = None) -> tuple[str, str | None]:
    """(asset, partition) that ``name`` (``features`` or ``features[2023-01-22]``) and
    ``partition`` name, with clear errors for an unknown asset or partition."""
    key, part = split_partition(name, index._by_asset)
    if partition is not None:
        if part is not None and part != partition:
            raise UnknownAsset(f"{name!r} names partition {part!r}, but {partition!r} was asked for")
        part = partition
    if not index.asset_versions(key):
        raise unknown_asset(key, index.asset_keys())
    if part is not None:
        parts = index.partitions(key)
        if part not in parts:
            what = f"; it has {len(parts)} partitions" if parts else "; it is not partitioned"
            raise UnknownAsset(f"asset {key!r} has no partition {part!r}" + (suggestion(part, parts) or what))
    return key, part


def partition_versions(index: Index, name: str, partition: str | None = None) -> list[AssetVersion]:
    """The versions ``name`` names, oldest first: every version of an asset, or of one partition."""
    key, part = resolve_asset(index, name, partition)
    return list(index.partitions(key)[part]) if part is not None else index.asset_versions(key)


def resolve_version(index: Index, key: str, run_id: str | None = None, partition: str | None = None) -> AssetVersion:
    """The version of ``key`` (``features`` or ``features[2023-01-22]``) in ``run_id``
    (latest when None), with clear errors. Without a partition, a partitioned asset's latest
    version is the newest of any partition, and a run's version the one partition it wrote."""
    key, part = resolve_asset(index, key, partition)
    if run_id is None:
        v = index.latest(key, part)
        assert v is not None
        return v
    run_id = resolve_run(index.runs, run_id)
    v = index.version(key, run_id, part)
    if v is None and part is None:
        written = [w for w in index.run_versions(run_id) if w.asset == key]
        if len(written) == 1:
            return written[0]
        if written:
            raise UnknownRun(f"run {run_id} wrote {len(written)} partitions of {key!r}: name one, "
                             f"e.g. {with_partition(key, written[0].partition)!r}")
    if v is None:
        raise UnknownRun(f"run {run_id} holds no version of {with_partition(key, part)!r}")
    return v


class _Answer(NamedTuple):
    """The part of the version graph a provenance or impact answer spans, in plain dicts (a
    fraction of a networkx graph's memory and time): each version's next level away from the
    root (its inputs for provenance, its consumers for impact), deduplicated and sorted, and for
    each version not in the store the content hash its consumers recorded."""

    nxt: dict[VersionNode, list[VersionNode]]
    missing: dict[VersionNode, str | None]


def _ancestry(index: Index, root: VersionNode) -> _Answer:
    """Walked from ``root`` through each version's inputs: as large as the answer, not the store."""
    versions = index.versions
    nxt: dict[VersionNode, list[VersionNode]] = {root: []}
    hashes: dict[VersionNode, list[tuple[VersionNode, str | None]]] = {}  # a missing version: who recorded what
    stack = [root]
    while stack:
        n = stack.pop()
        kids = []
        for i in versions[n].inputs:
            m = i.ident
            kids.append(m)
            if m not in nxt:
                nxt[m] = []
                if m in versions:
                    stack.append(m)
            if m not in versions:
                hashes.setdefault(m, []).append((n, i.content_hash))
        nxt[n] = kids if len(kids) < 2 else sorted(set(kids))
    # (in practice every consumer recorded the same hash)
    missing = {m: min(seen, key=lambda e: (e[1] is None, str(e[0])))[1] for m, seen in hashes.items()}
    return _Answer(nxt, missing)


def consumers(index: Index) -> dict[VersionNode, list[VersionNode]]:
    """Each consumed version's consumers (plain lists: a fraction of the version graph's memory)."""
    out: dict[VersionNode, list[VersionNode]] = {}
    for ident, v in index.versions.items():
        for i in v.inputs:
            key = (i.asset, i.run_id) if i.partition is None else (i.asset, i.run_id, i.partition)  # (i.ident)
            if key in out:
                out[key].append(ident)
            else:
                out[key] = [ident]
    return out


def _descent(index: Index, root: VersionNode) -> _Answer:
    """Walked from ``root`` through each version's consumers."""
    readers = consumers(index)
    nxt: dict[VersionNode, list[VersionNode]] = {root: []}
    stack = [root]
    while stack:
        n = stack.pop()
        kids = readers.get(n, ())
        for m in kids:
            if m not in nxt:
                nxt[m] = []
                stack.append(m)
        nxt[n] = kids if len(kids) < 2 else sorted(set(kids))  # (kids: a list of consumers() not changed)
    return _Answer(nxt, {})


def _from_graph(g: nx.DiGraph, root: VersionNode, direction: str) -> _Answer:
    """The answer's part of a given whole version graph (``g`` as :func:`version_graph` makes it)."""
    if direction == "provenance":
        nodes, step = upstream(g, root), g.predecessors
    else:
        nodes, step = downstream(g, root), g.successors
    nxt = {n: sorted(step(n)) for n in (root, *nodes)}
    return _Answer(nxt, {n: g.nodes[n].get("content_hash") for n in nxt if g.nodes[n].get("missing")})


def _order(root: VersionNode, nxt: dict[VersionNode, list[VersionNode]]) -> list[VersionNode]:
    """Every version of an answer, the root first and each before the next level it leads to
    (inputs for provenance, consumers for impact): a breadth-first topological order, children
    in sorted order, so the same answer always comes in the same order. Linear in versions plus
    edges. A cycle (only in a hostile store) is broken at the edge that closes it on a
    depth-first walk from the root: the edge leading back towards the root."""
    order, whole = _breadth_first(root, nxt, set())
    if not whole:  # a cycle: that depth-first walk only then (without one it finds no edge)
        order, _ = _breadth_first(root, nxt, _closing_edges(nxt, [root]))
    return order


def _breadth_first(root: VersionNode, nxt: dict[VersionNode, list[VersionNode]],
                   back: set[tuple[VersionNode, VersionNode]]) -> tuple[list[VersionNode], bool]:
    """The order of :func:`_order` without the edges ``back``, and whether it holds every
    version once (without ``back``: whether the answer has no cycle)."""
    waiting = dict.fromkeys(nxt, 0)  # edges still to be passed before a version can come
    for kids in nxt.values():
        for m in kids:
            waiting[m] += 1
    for _, m in back:
        waiting[m] -= 1
    whole = not waiting[root]  # (an edge into the root: a cycle, the root would come twice)
    order = [root]
    for n in order:  # grows while it is walked
        for m in nxt[n]:
            if back and (n, m) in back:
                continue
            waiting[m] -= 1
            if not waiting[m]:
                order.append(m)
    return order, whole and len(order) == len(nxt)


def _result(index: Index, root: VersionNode, answer: _Answer, direction: str) -> LineageResult:
    nxt, missing = answer
    versions = index.versions

    def ref(n: VersionNode) -> InputRef:
        chash = missing[n] if n in missing else versions[n].content_hash
        return InputRef(n[0], n[1], chash, n[2] if len(n) > 2 else None)

    order = _order(root, nxt)
    refs = {n: ref(n) for n in order}
    if direction == "provenance":  # (input, consumer): each version's inputs, in the order above
        edges = tuple((refs[m], refs[n]) for n in order for m in nxt[n])
    else:
        edges = tuple((refs[n], refs[m]) for n in order for m in nxt[n])
    return LineageResult(
        root=refs[root],
        direction=direction,
        versions=tuple(refs.values()),
        missing=tuple(refs[n] for n in order if n in missing),
        edges=edges,
    )


def provenance(index: Index, key: str, run_id: str | None = None, g: nx.DiGraph | None = None) -> LineageResult:
    """Every version this version was built from, back to source data, across runs. Without
    ``g`` (the whole version graph) only the answer's part of it is walked."""
    root = resolve_version(index, key, run_id).ident
    with bulk_load():  # (the answer's objects stay alive and hold no cycles: see bulk_load)
        answer = _ancestry(index, root) if g is None else _from_graph(g, root, "provenance")
        return _result(index, root, answer, "provenance")


def impact(index: Index, key: str, run_id: str | None = None, g: nx.DiGraph | None = None) -> LineageResult:
    """Every version in any run built from this version, transitively. Without ``g`` (the whole
    version graph) only the answer's part of it is walked."""
    root = resolve_version(index, key, run_id).ident
    with bulk_load():
        answer = _descent(index, root) if g is None else _from_graph(g, root, "impact")
        return _result(index, root, answer, "impact")


def graph_to_dict(g: nx.DiGraph) -> dict[str, Any]:
    """``{"nodes": [{"asset", "missing"}], "edges": [{"from", "to"}]}`` in a stable order."""
    return {
        "nodes": [{"asset": n, "missing": bool(g.nodes[n].get("missing"))} for n in sorted(g.nodes)],
        "edges": [{"from": a, "to": b} for a, b in sorted(g.edges)],
    }


def layers(g: nx.DiGraph) -> list[list[str]]:
    """Topological generations (sources first), each sorted: the layout of a layered drawing.
    Cycles (a self-loop of an incremental asset, a hostile loop) are broken by :func:`acyclic`."""
    import networkx as nx

    return [sorted(gen) for gen in nx.topological_generations(acyclic(g)[0])]
