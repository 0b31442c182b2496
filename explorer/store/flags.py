"""Flags: marking an asset version as bad, append-only, under the store's reserved prefix.

Each flag (or retraction) is its own small JSON object::

    <root>/_frontier_flags/<YYYYmmddTHHMMSSffffffZ>-<uuid4 hex>.json

with the asset, run, action (``flag`` or ``unflag``), author, time and reason. Nothing is
ever overwritten or deleted: ``unflag`` appends a retraction, and the active flags are
what remains after replaying the objects in time order. Names are unique, so any number
of people can flag at once without losing a write.

Writing a flag is the only write the explorer makes to a store, and only on an explicit
``flag``/``unflag``. Reading flags costs one listing of ``_frontier_flags/`` and one
batched read of the objects; ``Store`` does it on first use (never when opening).
"""

from __future__ import annotations

import getpass
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import fsspec

if TYPE_CHECKING:  # imported where the taint graph is built
    import networkx as nx

from .. import format as fmt
from ..errors import ExplorerError, FormatError
from ..models import iso
from .fs import forget_listing, inside, is_local, write_atomic

ACTIONS = ("flag", "unflag")
FLAG_FORMAT_VERSION = "1.0"
MAX_REASON = 4000

VersionNode = tuple[str, str]  # (asset, run_id)


@dataclass(frozen=True)
class Flag:
    """One flag or retraction, as stored."""

    id: str  # the object name, unique: time + uuid
    action: str  # "flag" or "unflag"
    asset: str
    run_id: str
    author: str
    created_at: datetime
    reason: str

    @property
    def version(self) -> VersionNode:
        return (self.asset, self.run_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "asset": self.asset,
            "run_id": self.run_id,
            "author": self.author,
            "created_at": iso(self.created_at),
            "reason": self.reason,
        }


def default_author() -> str:
    """``FRONTIER_EXPLORE_AUTHOR``, else the login name (USER / LOGNAME), else ``unknown``."""
    for var in ("FRONTIER_EXPLORE_AUTHOR", "USER", "LOGNAME"):
        value = os.environ.get(var)
        if value:
            return value
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown"


def flag_doc(flag: Flag) -> dict[str, Any]:
    return {
        "format": fmt.FLAG_KIND,
        "format_version": FLAG_FORMAT_VERSION,
        "id": flag.id,
        "action": flag.action,
        "asset": flag.asset,
        "run_id": flag.run_id,
        "author": flag.author,
        "created_at": fmt.format_time(flag.created_at),
        "reason": flag.reason,
    }


def parse_flag(doc: Any, where: str) -> Flag:
    if not isinstance(doc, dict) or doc.get("format") != fmt.FLAG_KIND:
        raise FormatError(f"{where}: not a {fmt.FLAG_KIND} document")
    major = str(doc.get("format_version", "")).split(".")[0]
    if major != FLAG_FORMAT_VERSION.split(".")[0]:
        raise FormatError(f"{where}: unsupported flag format version {doc.get('format_version')!r}")
    action = doc.get("action")
    if action not in ACTIONS:
        raise FormatError(f"{where}: invalid action {action!r}")
    reason = doc.get("reason")
    author = doc.get("author")
    if not isinstance(reason, str) or not isinstance(author, str):
        raise FormatError(f"{where}: reason and author must be strings")
    fid = doc.get("id")
    if not isinstance(fid, str) or not fid:
        raise FormatError(f"{where}: missing id")
    return Flag(
        id=fid,
        action=action,
        asset=fmt.check_asset_key(doc.get("asset"), where),
        run_id=fmt.check_run_id(doc.get("run_id"), where),
        author=author,
        created_at=fmt.parse_time(doc.get("created_at"), where, "created_at"),
        reason=reason,
    )


def new_flag_id(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex


def write_flag(
    fs: fsspec.AbstractFileSystem,
    root: str,
    asset: str,
    run_id: str,
    reason: str,
    action: str = "flag",
    author: str | None = None,
    when: datetime | None = None,
) -> Flag:
    """Append one flag (or, with ``action="unflag"``, a retraction). Never overwrites."""
    if action not in ACTIONS:
        raise ExplorerError(f"invalid flag action {action!r}")
    reason = (reason or "").strip()
    if not reason:
        raise ExplorerError(f"{action} needs a reason (--reason TEXT)")
    if len(reason) > MAX_REASON:
        raise ExplorerError(f"reason longer than {MAX_REASON} characters")
    when = when or fmt.now()
    flag = Flag(
        id=new_flag_id(when),
        action=action,
        asset=fmt.check_asset_key(asset),
        run_id=fmt.check_run_id(run_id),
        author=author or default_author(),
        created_at=when,
        reason=reason,
    )
    path = fmt.join(root, fmt.flag_path(flag.id))
    data = fmt.dumps(flag_doc(flag))
    write_atomic(fs, path, data)  # a reader listing the folder never sees half a flag
    return flag


def read_flags(fs: fsspec.AbstractFileSystem, root: str, warnings: list[str] | None = None) -> list[Flag]:
    """Every flag and retraction of a store, oldest first: one listing and one batched read."""
    folder = fmt.join(root, fmt.flags_dir())
    if is_local(fs) and os.path.lexists(folder) and not inside(os.path.realpath(root), folder):
        if warnings is not None:  # (each flag file in it is checked again when read: StoreFiles)
            warnings.append(f"{fmt.flags_dir()}/: symlink pointing outside the store, not followed; flags not read")
        return []
    forget_listing(fs, folder)  # another process may have flagged since our last listing
    try:
        names = sorted(p for p in fs.ls(folder, detail=False) if p.endswith(".json"))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except PermissionError:
        if warnings is not None:
            warnings.append(f"{fmt.flags_dir()}/: permission denied; flags not read")
        return []
    if not names:
        return []
    got = fs.cat(names, on_error="return")
    out = []
    for path in names:
        raw = got.get(path)
        rel = fmt.join(fmt.flags_dir(), path.rstrip("/").rsplit("/", 1)[-1])
        if raw is None or isinstance(raw, BaseException):
            if warnings is not None:
                warnings.append(f"{rel}: cannot read flag ({raw})")
            continue
        try:
            out.append(parse_flag(fmt.loads(raw, rel), rel))
        except FormatError as exc:
            if warnings is not None:
                warnings.append(str(exc))
    out.sort(key=lambda f: (f.created_at, f.id))
    return out


def active(flags: Iterable[Flag]) -> dict[VersionNode, Flag]:
    """The flags in force: per version, the last action in time order, if it is ``flag``."""
    state: dict[VersionNode, Flag] = {}
    for f in sorted(flags, key=lambda f: (f.created_at, f.id)):
        state[f.version] = f
    return {k: f for k, f in state.items() if f.action == "flag"}


def active_flags(flags: Iterable[Flag]) -> set[VersionNode]:
    """The set of flagged ``(asset, run_id)`` versions."""
    return set(active(flags))


def taint(g: nx.DiGraph, flagged: Iterable[VersionNode]) -> dict[VersionNode, frozenset[VersionNode]]:
    """Every version that is flagged or built from a flagged version (transitively, across
    runs), mapped to the flagged versions it comes from. ``g`` is the version graph (edges
    input -> consumer). One implementation with the staleness rule: ``flagged_sources``."""
    flagged = frozenset(flagged)
    if not flagged:
        return {}
    found = flagged_sources([*g.nodes, *sorted(flagged - set(g.nodes))],
                            lambda n: g.predecessors(n) if n in g else (), flagged)
    return {n: frozenset(listed) for n, (listed, _) in found.items()}


def flagged_sources(roots: Iterable[Any], inputs: Callable[[Any], Iterable[Any]], flagged: frozenset,
                    limit: int | None = None) -> dict[Any, tuple[list[Any], int]]:
    """The taint: for each root version, the flagged versions in its provenance (itself
    included, across runs), at most ``limit`` of them (itself among them, the others first by
    asset and run; listed by asset and run) and how many there are in all. ``inputs(node)``:
    the versions a version was built from.

    Over the versions in the provenance of the roots only, condensed to strongly connected
    components: in a cycle of a hostile store every member reaches every other, so all get the
    same answer, whatever order the roots come in. Sets are bitsets over the flagged versions
    (sorted), united along the graph and dropped once no consumer needs them: a chain of N
    versions each flagged costs N integers of N bits, not N sets of up to N tuples.
    """
    import networkx as nx

    roots = list(dict.fromkeys(roots))
    g = nx.DiGraph()
    stack = list(roots)
    g.add_nodes_from(stack)
    while stack:
        node = stack.pop()
        for m in inputs(node):
            if m not in g:
                g.add_node(m)
                stack.append(m)
            g.add_edge(node, m)  # consumer -> input
    order = sorted(flagged)
    bit = {f: 1 << n for n, f in enumerate(order)}
    cond = nx.condensation(g)
    mapping = cond.graph["mapping"]
    wanted = {mapping[r] for r in roots}
    waiting = {c: cond.in_degree(c) for c in cond}  # consumers still to be computed
    bits: dict[int, int] = {}
    for scc in reversed(list(nx.topological_sort(cond))):  # inputs before their consumers
        acc = 0
        for m in cond.nodes[scc]["members"]:
            acc |= bit.get(m, 0)
        for below in cond.successors(scc):
            acc |= bits[below]
            waiting[below] -= 1
            if not waiting[below] and below not in wanted:
                del bits[below]
        bits[scc] = acc
    out: dict[Any, tuple[list[Any], int]] = {}
    for r in roots:
        acc = bits[mapping[r]]
        if not acc:
            continue
        first = [r] if r in bit else []
        rest = acc & ~bit.get(r, 0)
        while rest and (limit is None or len(first) < limit):
            low = rest & -rest
            first.append(order[low.bit_length() - 1])
            rest ^= low
        out[r] = (sorted(first), acc.bit_count())  # listed in key order, as when nothing is left out
    return out


def describe_taint(node: VersionNode, sources: frozenset[VersionNode], flags: Mapping[VersionNode, Flag]) -> str:
    """One line: why a version is tainted."""
    parts = []
    for src in sorted(sources):
        f = flags.get(src)
        why = f" ({f.reason!r} by {f.author})" if f else ""
        parts.append(("flagged" if src == node else f"built from flagged {src[0]}@{src[1]}") + why)
    return "; ".join(parts)
