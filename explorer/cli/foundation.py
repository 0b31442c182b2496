"""runs, assets, lineage, show, provenance, impact: each one library call and a renderer."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rich.text import Text

from ..models import iso, short_hash
from ..humanize import counted
from ..names import with_partition
from .common import (
    add_partition_arg,
    print_table,
    add_format_arg,
    add_store_args,
    console,
    human_duration,
    human_size,
    open_store,
    print_document,
    print_json,
    short_time,
    styled_status,
    table,
    text,
    UsageError,
)

if TYPE_CHECKING:  # pandas, networkx: imported by the commands that use them
    from rich.tree import Tree

    from ..lineage import LineageResult


def cmd_runs(args: argparse.Namespace) -> int:
    store = open_store(args)
    runs = store.runs
    if args.format == "json":
        print_json([r.to_dict() for r in reversed(runs)])  # newest first, as the table
        return 0
    rows = [
        (
            r.run_id,
            r.job or "",
            styled_status(r.status),
            short_time(iso(r.started_at)),
            human_duration(r.duration_seconds),
            r.asset_count,
            r.code_version or "",
            " ".join(f"{k}={v}" for k, v in r.tags.items()),
        )
        for r in reversed(runs)
    ]
    print_table(table(f"{counted(len(runs), 'run')} in {store.url}, newest first", ["run", "job", "status", "started", "duration", "assets", "code", "tags"], rows,
                      drop=("tags", "code", "started", "duration", "assets")), args)
    return 0


def asset_rows(store, run: str | None, verify: bool = False) -> list[dict]:
    """One row per asset. With ``verify`` the listed version's data is hashed again: a version
    whose bytes no longer match its sidecar gets status ``corrupt`` and an ``integrity`` field
    (``verify.Integrity.to_dict()``) saying why."""
    from ..verify import check_version

    out = []
    tainted = store.tainted()
    keys = [v.asset for v in store.run_versions(run)] if run else store.assets()
    report = store.staleness()
    for key in keys:
        v = store.version(key, run)
        current = report.get(key)
        integrity = check_version(store.data_fs, store.root, v) if verify else None
        status = current.status if current and current.run_id == v.run_id else "superseded"
        if integrity is not None and not integrity.ok:
            status = "corrupt"
        row = {
            "asset": key,
            # staleness judges current versions; an older one (--run) is "superseded"
            "status": status,
            "latest_run_id": v.run_id,
            "versions": len(store.index.asset_versions(key)),
            "format": v.data_format,
            "created_at": iso(v.created_at),
            "size_bytes": v.size_bytes,
            "rows": v.table.num_rows if v.table else None,
            "content_hash": v.content_hash,
            "code_version": v.code_version,
            "tainted": (v.asset, v.run_id) in tainted,
            "stored": v.stored,
            "checks": [c.to_dict() for c in store.index.latest_checks(v)],
        }
        if integrity is not None:
            row["integrity"] = integrity.to_dict()
        out.append(row)
    return out


def _checks_summary(checks: list[dict]) -> str:
    """``2 passed, 1 failed (ERROR)``: a version's latest check results."""
    if not checks:
        return ""
    passed = sum(1 for c in checks if c["passed"])
    failed = [c for c in checks if not c["passed"]]
    parts = [f"{passed} passed"] if passed else []
    for severity in ("ERROR", "WARN"):
        n = sum(1 for c in failed if c["severity"] == severity)
        if n:
            parts.append(f"{n} failed ({severity})")
    return ", ".join(parts)


def cmd_assets(args: argparse.Namespace) -> int:
    store = open_store(args)
    rows = asset_rows(store, args.run, verify=args.verify)
    corrupt = sum(1 for r in rows if r["status"] == "corrupt")
    unverifiable = sum(1 for r in rows if r.get("integrity", {}).get("status") == "unverifiable")
    failed = corrupt or (unverifiable and not args.allow_unverifiable)
    if args.format == "json":
        print_json(rows)
        return 1 if failed else 0
    title = f"{counted(len(rows), 'asset')} in " + (f"run {args.run}" if args.run else store.url)
    print_table(
        table(
            title,
            ["asset", "status", "run", "versions", "format", "rows", "size", "created", "taint", "checks"],
            [
                (r["asset"], styled_status(r["status"]), r["latest_run_id"], r["versions"],
                 r["format"] if r["stored"] else "outside the store", r["rows"] if r["rows"] is not None else "",
                 human_size(r["size_bytes"]) if r["stored"] else "", short_time(r["created_at"]),
                 styled_status("tainted") if r["tainted"] else "", _checks_summary(r["checks"]))
                for r in rows
            ],
            drop=("checks", "taint", "format", "versions", "created", "rows", "size"),
        ),
        args,
    )
    if args.verify:
        console().print(f"{counted(len(rows), 'version')} verified, {corrupt} corrupt"
                        + (f", {unverifiable} unverifiable (no sha256 recorded)" if unverifiable else "")
                        + "".join(f"\n  {r['asset']} @ {r['latest_run_id']}: {r['integrity']['status']} "
                                  f"{r['integrity']['detail']}".rstrip() for r in rows if r["status"] == "corrupt"),
                        )
    return 1 if failed else 0


def cmd_lineage(args: argparse.Namespace) -> int:
    if args.column is not None:
        return _column_lineage(args)
    from .. import export, lineage

    store = open_store(args)
    g = store.asset_graph(all_runs=args.all_runs, run=args.run)
    if args.asset:
        if args.asset not in g:
            store.latest(args.asset)  # raises a clear unknown-asset error
        keep = {args.asset}
        if not args.downstream:
            keep |= lineage.upstream(g, args.asset)
        if not args.upstream:
            keep |= lineage.downstream(g, args.asset)
        g = g.subgraph(keep).copy()
    if args.format == "json":
        print_json(lineage.graph_to_dict(g))
    elif args.format == "mermaid":
        print_document(export.to_mermaid(g))
    elif args.format == "dot":
        print_document(export.to_dot(g))
    else:
        rows = []
        for depth, layer in enumerate(lineage.layers(g)):
            for n in layer:
                ups = sorted(g.predecessors(n))
                rows.append((depth, n + (" (missing)" if g.nodes[n].get("missing") else ""), ", ".join(ups)))
        console().print(table(f"{g.number_of_nodes()} assets, {g.number_of_edges()} edges", ["layer", "asset", "inputs"], rows))
    return 0


def _column_lineage(args: argparse.Namespace) -> int:
    if not args.asset:
        raise UsageError("--column needs an ASSET: lineage STORE ASSET --column COLUMN")
    if args.format not in ("table", "json") or args.all_runs:
        raise UsageError("--column gives a table or JSON, of one version (--run), not --all-runs")
    store = open_store(args)
    direction = "downstream" if args.downstream else "upstream"
    result = store.column_lineage(args.asset, args.column, args.run, direction)
    if args.format == "json":
        print_json(result.to_dict())
        return 0
    rows = [(f"{e.asset}.{e.column}", e.run_id, f"{e.source_asset}.{e.source_column}", e.source_run_id or "(not in the store)", e.kind)
            for e in result.edges]
    title = (f"{args.asset}.{args.column} in run {result.run_id}: "
             + ("derived from" if direction == "upstream" else "used by") + f" {len(rows)} column edge{'s' if len(rows) != 1 else ''}")
    if not rows:
        console().print(text(title + " (no declared column lineage and no certain pass-through)"))
        return 0
    console().print(table(title, ["column", "run", "from column", "from run", "how"], rows))
    return 0


def _facts(v) -> list[tuple[str, str]]:
    facts = [
        ("asset", v.asset),
        *([("partition", v.partition)] if v.partition is not None else []),
        *([(f"partition.{d}", k) for d, k in v.partition_dimensions.items()] if v.partition_dimensions else []),
        ("run", v.run_id),
        ("created", iso(v.created_at)),
        ("format", v.data_format),
        ("size", f"{human_size(v.size_bytes)} ({v.size_bytes} bytes)"),
        ("content hash", v.content_hash),
        ("code version", v.code_version or ""),
        ("data path", v.data_path) if v.stored else ("data", "stored outside the store (Dagster recorded the materialization)"),
    ]
    if v.table:
        facts.append(("rows", str(v.table.num_rows)))
    if v.keys:
        facts.append(("key columns", ", ".join(v.keys)))
    for i in v.inputs:
        facts.append(("input", f"{with_partition(i.asset, i.partition)} @ {i.run_id} ({short_hash(i.content_hash) or 'no hash recorded'})"))
    for k, val in v.metadata.items():
        facts.append((f"metadata.{k}", str(val)))
    return facts


def _show_source(store, args: argparse.Namespace) -> int:
    """An observable source asset: no versions, its observations (data versions)."""
    observations = store.observations(args.asset)
    if args.format == "json":
        print_json({"asset": args.asset, "source": True, "observations": [o.to_dict() for o in observations]})
        return 0
    console().print(table(f"{args.asset}: an observed source asset ({counted(len(observations), 'observation')}, newest last)",
                          ["run", "observed", "data version", "metadata"],
                          [(o.run_id, short_time(iso(o.created_at)), o.data_version or "",
                            ", ".join(f"{k}={val}" for k, val in o.metadata.items())) for o in observations],
                          drop=("metadata",), no_wrap=("run",)))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = open_store(args)
    if args.run is None and args.asset not in store.index.asset_keys() and store.observations(args.asset):
        return _show_source(store, args)
    v = store.version(args.asset, args.run)
    import pandas as pd

    from .. import lineage
    from ..store import data

    # a partitioned asset named without a partition: its partitions are listed too
    partitions = store.partitions(v.asset) if lineage.resolve_asset(store.index, args.asset)[1] is None else []

    checks = store.index.latest_checks(v)
    if not v.stored:
        value = None  # no data in the store: nothing to preview
    elif v.data_format == "pickle" and args.trust_pickle:
        value = data.load(store.data_fs, store.root, v, allow_pickle=True)
    else:
        value = store.preview(args.asset, args.run, rows=args.rows)
    if args.format == "json":
        out = v.to_dict()
        out["checks"] = [c.to_dict() for c in checks]
        if not v.stored:
            out["preview"] = None
        elif isinstance(value, pd.DataFrame):
            out["preview"] = value.to_dict(orient="records")
        elif hasattr(value, "tolist"):
            out["preview"] = value.tolist()
        elif isinstance(value, (dict, list, str)):
            out["preview"] = value
        else:
            out["preview"] = repr(value)
        if partitions:
            out["partitions"] = [p.to_dict() for p in partitions]
        print_json(out)
        return 0
    c = console()
    c.print(table(None, ["fact", "value"], _facts(v), show_header=False, box=None))
    if checks:
        c.print(table(f"checks of this version ({_checks_summary([x.to_dict() for x in checks])})",
                      ["check", "result", "severity", "run", "description", "metadata"],
                      [(x.name, styled_status("fresh" if x.passed else "failed", x.outcome), x.severity, x.run_id,
                        x.description or "", ", ".join(f"{k}={val}" for k, val in x.metadata.items()))
                       for x in checks],
                      drop=("metadata", "description", "run"), no_wrap=("check",)))
    if partitions:
        c.print(table(f"{counted(len(partitions), 'partition')} of {v.asset} (the facts above: the latest written)",
                      ["partition", "status", "run", "versions", "created", "why"],
                      [(p.partition, styled_status(p.status), p.run_id or "", p.versions, short_time(iso(p.created_at)) if p.created_at else "",
                        "; ".join(c.describe() for c in p.causes)) for p in partitions],
                      drop=("why", "created", "versions"), no_wrap=("partition", "run")))
    if v.table:
        c.print(
            table(
                "schema and statistics",
                ["column", "type", "nulls", "min", "max", "mean", "distinct"],
                [
                    (col.name, col.type, col.null_count, col.min, col.max,
                     f"{col.mean:.4g}" if isinstance(col.mean, (int, float)) else "", col.distinct)
                    for col in v.table.columns
                ],
                drop=("distinct", "mean", "nulls"),
                no_wrap=("column", "type"),
            )
        )
    if not v.stored:
        c.print(text("stored outside the store: Dagster recorded this materialization (its metadata is above); "
                     "its data is wherever the asset wrote it"))
    elif isinstance(value, pd.DataFrame):
        names = [str(col) for col in value.columns]
        c.print(table(f"first {counted(len(value), 'row')}", names, value.itertuples(index=False),
                      drop=names[:0:-1], no_wrap=names))  # values whole; columns that do not fit left out from the right
    else:
        c.print(text(value if isinstance(value, str) else repr(value)))
    return 0


def _tree(result: LineageResult, store) -> Tree:
    from rich.tree import Tree

    def label(r) -> Text:
        v = store.index.versions.get(r.ident)
        suffix = text(" (missing)", "red") if v is None else text(f" {short_hash(r.content_hash)}", "dim")
        return Text.assemble(text(with_partition(r.asset, r.partition), "bold"), text(f" @ {r.run_id}"), suffix)

    root = Tree(label(result.root))
    branches = {result.root: root}
    for step in result.walk():
        sub = branches[step.parent].add(label(step.child))
        if step.repeated:
            sub.add(text("(shown above)", "dim"))
        else:
            branches[step.child] = sub
    return root


def _lineage_cmd(kind: str):
    def run(args: argparse.Namespace) -> int:
        store = open_store(args)
        result = getattr(store, kind)(args.asset, args.run)
        if args.format == "json":
            print_json(result.to_records(), plain_types=True)  # (names, run ids, hashes and flags)
        else:
            console().print(_tree(result, store))
            console().print(f"{counted(len(result.versions) - 1, 'version')} {'upstream' if kind == 'provenance' else 'downstream'}"
                            + (f", {len(result.missing)} missing from the store" if result.missing else ""))
        return 0

    return run


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list the runs of a store, newest first")
    add_store_args(p)
    add_format_arg(p, ("table", "json", "tsv"))
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("assets", help="list assets with their latest version")
    add_store_args(p)
    p.add_argument("--run", help="only the versions written by this run")
    p.add_argument("--verify", action="store_true",
                   help="hash the listed versions' data again; show `corrupt` and exit 1 if any no longer matches"
                        " or has no sha256 to check")
    p.add_argument("--allow-unverifiable", action="store_true",
                   help="with --verify: accept versions without a sha256 (stock Dagster outputs)")
    add_format_arg(p, ("table", "json", "tsv"))
    p.set_defaults(func=cmd_assets)

    p = sub.add_parser("lineage", help="the asset dependency graph")
    add_store_args(p)
    p.add_argument("asset", nargs="?", metavar="ASSET", help="only this asset's upstream and downstream")
    p.add_argument("--run", help="the graph of one run's versions")
    p.add_argument("--all-runs", action="store_true", help="union of the edges over all runs")
    direction = p.add_mutually_exclusive_group()
    direction.add_argument("--upstream", action="store_true", help="only what ASSET depends on")
    direction.add_argument("--downstream", action="store_true", help="only what depends on ASSET")
    p.add_argument("--column", metavar="COLUMN", help="column lineage of ASSET's COLUMN (upstream, or --downstream)")
    add_format_arg(p, ("table", "json", "mermaid", "dot"))
    p.set_defaults(func=cmd_lineage)

    p = sub.add_parser("show", help="facts, schema and a preview of one asset version")
    add_store_args(p)
    p.add_argument("asset", metavar="ASSET")
    add_partition_arg(p)
    p.add_argument("--run", help="the version written by this run (default: latest)")
    p.add_argument("--rows", type=int, default=20, help="preview rows (default 20)")
    p.add_argument("--trust-pickle", action="store_true", help="allow unpickling this version (runs code from the store)")
    add_format_arg(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("provenance", help="every version an asset version was built from")
    add_store_args(p)
    p.add_argument("asset", metavar="ASSET")
    add_partition_arg(p)
    p.add_argument("--run", help="the version written by this run (default: latest)")
    add_format_arg(p)
    p.set_defaults(func=_lineage_cmd("provenance"))

    p = sub.add_parser("impact", help="every version built from an asset version")
    add_store_args(p)
    p.add_argument("asset", metavar="ASSET")
    add_partition_arg(p)
    p.add_argument("--run", help="the version written by this run (default: latest)")
    add_format_arg(p)
    p.set_defaults(func=_lineage_cmd("impact"))
