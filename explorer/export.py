"""Renderers of the store for other tools: the asset graph as mermaid and Graphviz dot
(grouped by key prefix, coloured by status), and the runs as OpenLineage RunEvents."""

from __future__ import annotations

import functools
import json
import re
import uuid
from typing import TYPE_CHECKING, Iterator, Mapping

import networkx as nx

from .format import join

if TYPE_CHECKING:  # pragma: no cover
    from .store.source import Source

STATUS_COLOURS = {
    "fresh": ("#d4edda", "#155724"),
    "stale": ("#fff3cd", "#856404"),
    "missing": ("#f8d7da", "#721c24"),
    "failed": ("#f8d7da", "#721c24"),
    "tainted": ("#e2d5f1", "#4a235a"),
}


_MERMAID_PLAIN = re.compile(r"[A-Za-z0-9 _./:@+=,()-]")


def mermaid_text(s: str) -> str:
    """Text for a quoted mermaid label: every character outside a small safe set becomes
    mermaid's entity code (``#34;`` for ``"``), so that quotes, brackets, ``<br>`` or
    backticks in a key are shown as themselves and never parsed as mermaid or HTML."""
    return "".join(c if _MERMAID_PLAIN.fullmatch(c) else f"#{ord(c)};" for c in s)


def _mermaid_ids(names, prefix: str) -> dict[str, str]:
    """One readable id per name (``n_raw_applications``), unique whatever the names: ``a-b`` and
    ``a_b`` both read ``n_a_b``, so the second in sorted order becomes ``n_a_b_2``. Node ids
    start with ``n_`` and subgraph ids with ``g_``, so an asset ``raw`` and the group ``raw/``
    never share one."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(names):
        base = prefix + re.sub(r"[^A-Za-z0-9_]", "_", name)
        candidate, k = base, 1
        while candidate in taken:
            k += 1
            candidate = f"{base}_{k}"
        taken.add(candidate)
        ids[name] = candidate
    return ids


def _groups(g: nx.DiGraph) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for n in sorted(g.nodes):
        prefix = n.rsplit("/", 1)[0] if "/" in n else ""
        groups.setdefault(prefix, []).append(n)
    return groups


def to_mermaid(g: nx.DiGraph, statuses: Mapping[str, str] | None = None) -> str:
    """A mermaid flowchart of the asset graph, one subgraph per key prefix."""
    statuses = statuses or {n: ("missing" if g.nodes[n].get("missing") else "") for n in g.nodes}
    groups = _groups(g)
    ids, group_ids = _mermaid_ids(g.nodes, "n_"), _mermaid_ids(groups, "g_")
    lines = ["flowchart LR"]
    for prefix, nodes in groups.items():
        indent = "    "
        if prefix:
            lines.append(f'    subgraph {group_ids[prefix]}["{mermaid_text(prefix)}"]')
            indent = "        "
        for n in nodes:
            label = mermaid_text(n.rsplit("/", 1)[-1] if prefix else n)
            status = statuses.get(n) or ""
            text = f"{label}<br/><i>{mermaid_text(status)}</i>" if status else label
            lines.append(f'{indent}{ids[n]}["{text}"]')
        if prefix:
            lines.append("    end")
    for a, b in sorted(g.edges):
        lines.append(f"    {ids[a]} --> {ids[b]}")
    for status, (fill, stroke) in STATUS_COLOURS.items():
        members = [ids[n] for n in sorted(g.nodes) if statuses.get(n) == status]
        if members:
            lines.append(f"    classDef {status} fill:{fill},stroke:{stroke},color:{stroke}")
            lines.append(f"    class {','.join(members)} {status}")
    return "\n".join(lines) + "\n"


def _dot_quote(s: str) -> str:
    """A Graphviz quoted string; a newline becomes dot's ``\\n`` line break."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


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


# --------------------------------------------------------------------------- statuses


def asset_statuses(store: "Source") -> dict[str, str]:
    """Status per asset key for colouring, in the library's one vocabulary
    (``staleness.ASSET_STATUSES``: fresh, stale, missing, failed, tainted), computed by
    ``staleness.asset_statuses`` from the store's staleness report: the same words the
    ``stale`` command and the app show."""
    from . import staleness

    return staleness.asset_statuses(store.index, store.staleness())


# --------------------------------------------------------------------------- OpenLineage

OPENLINEAGE_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_SCHEMAS = {
    "schema": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "version": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
    "symlinks": "https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json#/$defs/SymlinksDatasetFacet",
    "outputStatistics": "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
    "tags": "https://openlineage.io/spec/facets/1-0-0/TagsRunFacet.json#/$defs/TagsRunFacet",
    "jobType": "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "columnLineage": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
}
RUN_NAMESPACE = uuid.UUID("6f1c2a4e-9d1b-5c7e-8a3f-2b4d6e8f0a1c")


@functools.lru_cache(maxsize=1)
def producer() -> str:
    from . import __version__

    return f"https://pypi.org/project/frontier-explore/{__version__}/"



def dataset_identity(fs, root: str, rel_path: str) -> tuple[str, str]:
    """OpenLineage (namespace, name) of a path in a store: ``("file", "/abs/path")`` locally,
    ``("s3://bucket", "key/of/object")`` on S3 (likewise ``gs://``, ``abfs://``...)."""
    from .store.fs import is_local, protocol

    full = join(root, rel_path)
    if is_local(fs):
        return "file", full
    bucket, _, key = full.lstrip("/").partition("/")
    if not key:
        return protocol(fs), full
    return f"{protocol(fs)}://{bucket}", key


def run_uuid(store_url: str, run_id: str) -> str:
    """A stable UUID for a run (OpenLineage requires UUIDs): the same on every export."""
    return str(uuid.uuid5(RUN_NAMESPACE, f"{store_url}#{run_id}"))


def _facet(name: str, **fields) -> dict:
    return {"_producer": producer(), "_schemaURL": FACET_SCHEMAS[name], **fields}


def _dataset(store: "Source", ref, full: bool, output: bool) -> dict:
    """An OpenLineage dataset for a version (or a consumed version no longer in the store)."""
    v = store.index.versions.get(ref.ident)
    from . import format as fmt

    # a version stored outside the store is named as if at its place in the run (its data is elsewhere)
    rel = v.data_path if v is not None and v.data_path is not None else fmt.join(ref.run_id, ref.asset)
    namespace, name = dataset_identity(store.fs, store.root, rel)
    ds: dict = {"namespace": namespace, "name": name, "facets": {}}
    chash = v.content_hash if v is not None else ref.content_hash
    if full:
        facets = ds["facets"]
        if v is not None and v.table is not None:
            facets["schema"] = _facet("schema", fields=[{"name": c.name, "type": c.type} for c in v.table.columns])
        if chash:
            facets["version"] = _facet("version", datasetVersion=chash)
        facets["symlinks"] = _facet(
            "symlinks", identifiers=[{"namespace": store.url, "name": ref.asset, "type": "frontier-explore asset"}]
        )
        if output and v is not None:
            columns = _column_lineage(store, v)
            if columns:
                facets["columnLineage"] = _facet("columnLineage", fields=columns)
    if output:
        ds["outputFacets"] = {}
        if full and v is not None:
            stats = {"size": v.size_bytes}
            if v.table is not None:
                stats = {"rowCount": v.table.num_rows, **stats}
            ds["outputFacets"]["outputStatistics"] = _facet("outputStatistics", **stats)
    else:
        ds["inputFacets"] = {}
    return ds


def _column_lineage(store: "Source", v) -> dict:
    """The ``columnLineage`` facet's fields: each column's input fields (explorer.column_lineage);
    a certain pass-through is an IDENTITY transformation."""
    from . import format as fmt
    from .column_lineage import INFERRED, edges_of

    fields: dict[str, dict] = {}
    for e in edges_of(store.index, v):
        source = store.index.versions.get(e.source_ident) if e.source_ident else None
        rel = (source.data_path if source is not None and source.data_path is not None
               else fmt.join(e.source_run_id or v.run_id, e.source_asset))
        namespace, name = dataset_identity(store.fs, store.root, rel)
        field = {"namespace": namespace, "name": name, "field": e.source_column}
        if e.kind == INFERRED:
            field["transformations"] = [{"type": "DIRECT", "subtype": "IDENTITY",
                                         "description": "inferred: same name, type, row count and statistics"}]
        fields.setdefault(e.column, {"inputFields": []})["inputFields"].append(field)
    return fields


def openlineage_events(store: "Source") -> list[dict]:
    """One START and one COMPLETE (or FAIL) RunEvent per run, oldest run first. A run still
    running has only its START. Inputs are the versions a run read from other runs."""
    return list(iter_openlineage_events(store))


def iter_openlineage_events(store: "Source") -> Iterator[dict]:
    """The events of ``openlineage_events`` one by one, built as they are asked for (a store
    of a million versions is exported without holding its events)."""
    from .models import iso

    job_namespace = store.url if "://" in store.url else f"file://{store.url}"
    for run in store.index.run_list():
        versions = store.index.run_versions(run.run_id)
        inputs = []
        seen = set()
        for v in versions:
            for i in v.inputs:
                if i.run_id != run.run_id and (i.asset, i.run_id) not in seen:
                    seen.add((i.asset, i.run_id))
                    inputs.append(i)
        tags = [{"key": "frontier.run_id", "value": run.run_id, "source": "frontier-explore"}]
        if run.code_version:
            tags.append({"key": "frontier.code_version", "value": run.code_version, "source": "frontier-explore"})
        if run.parent_run_id:
            tags.append({"key": "frontier.parent_run_id", "value": run.parent_run_id, "source": "frontier-explore"})
        tags += [{"key": k, "value": val, "source": "USER"} for k, val in sorted(run.tags.items())]
        run_obj = {"runId": run_uuid(store.url, run.run_id), "facets": {"tags": _facet("tags", tags=tags)}}
        job = {
            "namespace": job_namespace,
            "name": run.job or "unknown_job",
            "facets": {"jobType": _facet("jobType", processingType="BATCH", integration="FRONTIER_EXPLORE", jobType="JOB")},
        }

        def event(kind: str, when, full: bool) -> dict:
            return {
                "eventType": kind,
                "eventTime": iso(when),
                "producer": producer(),
                "schemaURL": OPENLINEAGE_SCHEMA,
                "run": run_obj,
                "job": job,
                "inputs": [_dataset(store, i, True, False) for i in inputs],
                "outputs": [_dataset(store, v.ref, full, True) for v in versions],
            }

        yield event("START", run.started_at, False)
        if run.status in ("success", "failed"):
            end = run.finished_at or max([v.created_at for v in versions], default=run.started_at)
            yield event("COMPLETE" if run.status == "success" else "FAIL", end, True)


def openlineage_lines(store: "Source") -> Iterator[str]:
    """The events as JSON lines, one at a time (the OpenLineage file transport's format)."""
    for e in iter_openlineage_events(store):
        yield json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n"


def to_openlineage(store: "Source") -> str:
    """The events as JSON lines (one event per line), the OpenLineage file transport's format."""
    return "".join(openlineage_lines(store))
