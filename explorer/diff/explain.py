"""Why two versions differ: sidecar metadata differences and the lineage explanation.

Pure functions over the index: only sidecar facts (content hashes, row counts, schemas, code
versions, inputs) are used, no data is read.
"""

from __future__ import annotations

from typing import Any

from ..humanize import counted
from ..models import AssetVersion, InputRef
from ..index import Index
from .result import LineageStep, ValueChange, jsonable, short



def metadata_diff(index: Index, va: AssetVersion, vb: AssetVersion) -> dict[str, ValueChange]:
    """Sidecar and run facts that differ: code version, user metadata, job, status, run tags."""
    out: dict[str, ValueChange] = {}

    def put(name: str, x: Any, y: Any) -> None:
        if x != y:
            out[name] = ValueChange(jsonable(x), jsonable(y))

    put("code_version", va.code_version, vb.code_version)
    for k in sorted(set(va.metadata) | set(vb.metadata)):
        put(f"metadata.{k}", va.metadata.get(k), vb.metadata.get(k))
    if tuple(va.keys) != tuple(vb.keys):
        put("keys", list(va.keys), list(vb.keys))
    ra, rb = index.runs.get(va.run_id), index.runs.get(vb.run_id)
    if ra is not None and rb is not None and ra.run_id != rb.run_id:
        put("run.job", ra.job, rb.job)
        put("run.status", ra.status, rb.status)
        for k in sorted(set(ra.tags) | set(rb.tags)):
            put(f"run.tags.{k}", ra.tags.get(k), rb.tags.get(k))
    return out


def _and(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _changes(va: AssetVersion, vb: AssetVersion) -> list[str]:
    """Facts about how the data changed, from the sidecars (verb phrases)."""
    out: list[str] = []
    ta, tb = va.table, vb.table
    if ta is not None and tb is not None:
        delta = tb.num_rows - ta.num_rows
        if delta > 0:
            out.append(f"gained {counted(delta, 'row')} ({ta.num_rows} -> {tb.num_rows})")
        elif delta < 0:
            out.append(f"lost {counted(-delta, 'row')} ({ta.num_rows} -> {tb.num_rows})")
        sa, sb = ta.schema, tb.schema
        out.extend(f"added column {c}" for c in sb if c not in sa)
        out.extend(f"removed column {c}" for c in sa if c not in sb)
        out.extend(f"changed column {c} from {sa[c]} to {sb[c]}" for c in sa if c in sb and sa[c] != sb[c])
    elif va.size_bytes != vb.size_bytes:
        out.append(f"changed size ({va.size_bytes} -> {vb.size_bytes} bytes)")
    return out


def _same(ia: InputRef, ib: InputRef, index: Index) -> bool:
    if ia.run_id == ib.run_id:
        return True
    ha = ia.content_hash or getattr(index.versions.get((ia.asset, ia.run_id)), "content_hash", None)
    hb = ib.content_hash or getattr(index.versions.get((ib.asset, ib.run_id)), "content_hash", None)
    return ha is not None and ha == hb


def explain(
    index: Index, va: AssetVersion, vb: AssetVersion, same_content: bool = False
) -> tuple[tuple[LineageStep, ...], tuple[str, ...]]:
    """The lineage explanation of ``va`` vs ``vb``: one step per asset whose versions were
    compared (walking down through inputs that differ in content, to the sources), and human lines
    such as "scores differs because features differs because raw/applications gained 350 rows in run R".
    ``same_content``: the data compared equal although the bytes differ (nothing to explain)."""
    steps: list[LineageStep] = []
    lines: list[str] = []
    seen: set[tuple[str, str | None, str | None]] = set()

    if va.run_id == vb.run_id:
        steps.append(LineageStep(va.asset, va.run_id, vb.run_id, "same_version"))
        return tuple(steps), (f"{va.asset}: A and B are the same version (run {va.run_id})",)
    if va.content_hash == vb.content_hash:
        steps.append(LineageStep(va.asset, va.run_id, vb.run_id, "same_content"))
        lines.append(f"{va.asset} has the same content in both runs (identical bytes, {va.short_hash})")
        return tuple(steps), tuple(lines)
    if same_content:  # different bytes, the same data (rows in another order, another encoding)
        steps.append(LineageStep(va.asset, va.run_id, vb.run_id, "same_content"))
        lines.append(f"{va.asset} has the same content in both runs (different bytes: the rows' order "
                     "or the file's encoding differs)")
        return tuple(steps), tuple(lines)

    def visit(xa: AssetVersion, xb: AssetVersion, chain: list[str], depth: int, parent: str | None) -> None:
        node = (xa.asset, xa.run_id, xb.run_id)
        prefix = "".join(f"{c} differs because " for c in chain)
        if node in seen:
            lines.append(f"{prefix}{xa.asset} differs (explained above)")
            return
        seen.add(node)
        ins_a = {i.asset: i for i in xa.inputs}
        ins_b = {i.asset: i for i in xb.inputs}
        causes: list[str] = []
        if xa.code_version != xb.code_version:
            causes.append(f"changed code version {xa.code_version} -> {xb.code_version}")
        causes.extend(f"gained input {k}" for k in ins_b if k not in ins_a)
        causes.extend(f"lost input {k}" for k in ins_a if k not in ins_b)
        differing: list[tuple[InputRef, InputRef]] = [
            (ins_a[k], ins_b[k]) for k in ins_a if k in ins_b and not _same(ins_a[k], ins_b[k], index)
        ]
        changes = _changes(xa, xb)
        if depth == 0:
            meta = metadata_diff(index, xa, xb)
            changes.extend(
                f"changed {name} {short(ch.a)} -> {short(ch.b)}"
                for name, ch in meta.items()
                if name.startswith("metadata.")
            )
        steps.append(
            LineageStep(
                xa.asset, xa.run_id, xb.run_id, "differs",
                tuple(changes), tuple(causes), tuple(i.asset for i, _ in differing), depth, parent,
            )
        )
        where = f" in run {xb.run_id}"
        if causes:
            lines.append(f"{prefix}{xa.asset} {_and(causes + changes)}{where}")
        elif not differing:
            what = _and(changes) if changes else "changed content"
            tail = " with the same inputs and code version" if xa.inputs or xb.inputs else ""
            lines.append(f"{prefix}{xa.asset} {what}{where}{tail}")
        elif depth == 0 and changes:
            lines.append(f"{xa.asset} {_and(changes)}{where}")
        if depth == 0 and not differing and (xa.inputs or xb.inputs):
            same = [f"{k} @ {ins_b[k].run_id}" for k in ins_b if k in ins_a]
            if same:
                lines.append(f"its inputs are the same in both versions: {', '.join(same)}")
        for ia, ib in differing:
            ya = index.versions.get((ia.asset, ia.run_id))
            yb = index.versions.get((ib.asset, ib.run_id))
            if ya is None or yb is None:
                gone = ia if ya is None else ib
                steps.append(LineageStep(ia.asset, ia.run_id, ib.run_id, "missing", (), (), (), depth + 1, xa.asset))
                lines.append(
                    f"{prefix}{xa.asset} differs because {ia.asset} differs "
                    f"(its version of run {gone.run_id} is no longer in the store)"
                )
                continue
            visit(ya, yb, chain + [xa.asset], depth + 1, xa.asset)

    visit(va, vb, [], 0, None)
    ins_a = {i.asset for i in va.inputs}
    ins_b = {i.asset for i in vb.inputs}
    for k in sorted(ins_b - ins_a):
        steps.append(LineageStep(k, None, next(i.run_id for i in vb.inputs if i.asset == k), "input_added", depth=1, parent=va.asset))
    for k in sorted(ins_a - ins_b):
        steps.append(LineageStep(k, next(i.run_id for i in va.inputs if i.asset == k), None, "input_removed", depth=1, parent=va.asset))
    return tuple(steps), tuple(lines)
