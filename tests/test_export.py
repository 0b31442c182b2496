"""Exports: OpenLineage RunEvents (checked with openlineage-python's models and a JSON schema
of the spec's requirements) and mermaid / dot with status colouring."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from catalogue_support import R1, R2, R3, R4, R5, RUNS, lineage_store, moto_endpoint, s3_store, writable_store  # noqa: F401

from explorer import Store, export

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    dataset_version_dataset,
    job_type_job,
    output_statistics_output_dataset,
    schema_dataset,
    symlinks_dataset,
    tags_run,
)
from openlineage.client.naming.dataset import S3, LocalFileSystem
from openlineage.client.serde import Serde

# The requirements of the OpenLineage 2-0-2 RunEvent, as the spec states them
# (https://openlineage.io/spec/2-0-2/OpenLineage.json): required fields, formats, the
# eventType enum, and _producer/_schemaURL on every facet.
FACET = {"type": "object", "required": ["_producer", "_schemaURL"],
         "properties": {"_producer": {"type": "string"}, "_schemaURL": {"type": "string"}}}
FACETS = {"type": "object", "additionalProperties": FACET}
DATASET = {"type": "object", "required": ["namespace", "name"],
           "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}, "facets": FACETS,
                          "inputFacets": FACETS, "outputFacets": FACETS}}
RUN_EVENT_SCHEMA = {
    "type": "object",
    "required": ["eventTime", "producer", "schemaURL", "run", "job"],
    "properties": {
        "eventTime": {"type": "string", "format": "date-time"},
        "producer": {"type": "string"},
        "schemaURL": {"type": "string"},
        "eventType": {"enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]},
        "run": {"type": "object", "required": ["runId"],
                "properties": {"runId": {"type": "string", "format": "uuid"}, "facets": FACETS}},
        "job": {"type": "object", "required": ["namespace", "name"],
                "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}, "facets": FACETS}},
        "inputs": {"type": "array", "items": DATASET},
        "outputs": {"type": "array", "items": DATASET},
    },
}

FACET_MODELS = {
    "schema": lambda d: schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=f["name"], type=f["type"]) for f in d["fields"]]),
    "version": lambda d: dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=d["datasetVersion"]),
    "symlinks": lambda d: symlinks_dataset.SymlinksDatasetFacet(
        identifiers=[symlinks_dataset.Identifier(**i) for i in d["identifiers"]]),
    "outputStatistics": lambda d: output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
        rowCount=d.get("rowCount"), size=d.get("size")),
    "tags": lambda d: tags_run.TagsRunFacet(tags=[tags_run.TagsRunFacetFields(**t) for t in d["tags"]]),
    "jobType": lambda d: job_type_job.JobTypeJobFacet(
        processingType=d["processingType"], integration=d["integration"], jobType=d.get("jobType")),
    "columnLineage": lambda d: column_lineage_dataset.ColumnLineageDatasetFacet(fields={
        col: column_lineage_dataset.Fields(inputFields=[
            column_lineage_dataset.InputField(
                namespace=i["namespace"], name=i["name"], field=i["field"],
                transformations=[column_lineage_dataset.Transformation(**t) for t in i.get("transformations", [])])
            for i in f["inputFields"]])
        for col, f in d["fields"].items()}),
}


def facets(d: dict) -> dict:
    out = {}
    for name, raw in (d or {}).items():
        model = FACET_MODELS[name](raw)
        object.__setattr__(model, "_producer", raw["_producer"])
        out[name] = model
    return out


def to_model(e: dict) -> RunEvent:
    """Build the event with openlineage-python's own models (attrs validators check the
    UUID, the ISO time and the enum); unknown or missing fields raise."""
    return RunEvent(
        eventType=RunState(e["eventType"]),
        eventTime=e["eventTime"],
        producer=e["producer"],
        run=Run(runId=e["run"]["runId"], facets=facets(e["run"]["facets"])),
        job=Job(namespace=e["job"]["namespace"], name=e["job"]["name"], facets=facets(e["job"]["facets"])),
        inputs=[InputDataset(namespace=d["namespace"], name=d["name"], facets=facets(d["facets"]),
                             inputFacets=facets(d["inputFacets"])) for d in e["inputs"]],
        outputs=[OutputDataset(namespace=d["namespace"], name=d["name"], facets=facets(d["facets"]),
                               outputFacets=facets(d["outputFacets"])) for d in e["outputs"]],
    )


def prune(x):
    """Drop empty containers (the models add empty lists and dicts for unset optional fields)."""
    if isinstance(x, dict):
        return {k: prune(v) for k, v in x.items() if v not in ({}, [], None)}
    if isinstance(x, list):
        return [prune(v) for v in x]
    return x


def check_valid(events: list[dict]) -> None:
    checker = jsonschema.FormatChecker()
    for e in events:
        jsonschema.validate(e, RUN_EVENT_SCHEMA, format_checker=checker)
        assert prune(Serde.to_dict(to_model(e))) == prune(e)  # same fields, same facet schema URLs


def by_run(events: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in events:
        tags = {t["key"]: t["value"] for t in e["run"]["facets"]["tags"]["tags"]}
        out.setdefault(tags["frontier.run_id"], []).append(e)
    return out


def test_openlineage_events_are_valid_and_complete(lineage_store):
    store = Store.open(lineage_store)
    events = export.openlineage_events(store)
    check_valid(events)
    runs = by_run(events)
    assert list(runs) == RUNS
    for rid, evs in runs.items():
        expected_end = "FAIL" if rid == R5 else "COMPLETE"
        assert [e["eventType"] for e in evs] == ["START", expected_end]
        assert len({e["run"]["runId"] for e in evs}) == 1
    assert len({evs[0]["run"]["runId"] for evs in runs.values()}) == len(RUNS)
    # stable ids: a second export gives the same UUIDs
    assert [e["run"]["runId"] for e in export.openlineage_events(Store.open(lineage_store))] == [
        e["run"]["runId"] for e in events]
    assert runs[R3][0]["job"]["name"] == "scoring"

    root = Path(lineage_store)

    def ident(rel: str) -> tuple[str, str]:
        naming = LocalFileSystem(path=str(root / rel))
        return naming.get_namespace(), naming.get_name()

    # inputs: what a run read from other runs
    assert [(d["namespace"], d["name"]) for d in runs[R1][1]["inputs"]] == []
    assert [(d["namespace"], d["name"]) for d in runs[R3][1]["inputs"]] == [ident(f"{R2}/features.parquet")]
    assert [(d["namespace"], d["name"]) for d in runs[R4][1]["inputs"]] == [ident(f"{R3}/model.json")]

    # outputs of R1, with facets checked against the files themselves
    complete = {(d["namespace"], d["name"]): d for d in runs[R1][1]["outputs"]}
    assert set(complete) == {ident(f"{R1}/{p}") for p in
                             ("raw.parquet", "bureau.csv", "features.parquet", "model.json", "scores.parquet")}
    feats = complete[ident(f"{R1}/features.parquet")]
    df = pd.read_parquet(root / R1 / "features.parquet")
    assert [f["name"] for f in feats["facets"]["schema"]["fields"]] == list(df.columns)
    assert feats["outputFacets"]["outputStatistics"]["rowCount"] == len(df)
    assert feats["outputFacets"]["outputStatistics"]["size"] == os.path.getsize(root / R1 / "features.parquet")
    assert feats["facets"]["version"]["datasetVersion"] == store.version("features", R1).content_hash
    assert feats["facets"]["symlinks"]["identifiers"][0]["name"] == "features"
    model = complete[ident(f"{R1}/model.json")]
    assert "schema" not in model["facets"] and "rowCount" not in model["outputFacets"]["outputStatistics"]
    # the failed run still reports what it committed
    assert [d["name"] for d in runs[R5][1]["outputs"]] == [str(root / R5 / "raw.parquet")]
    # times come from the manifests
    assert runs[R2][0]["eventTime"] == "2026-05-02T02:00:00Z"
    assert runs[R2][1]["eventTime"] > runs[R2][0]["eventTime"]


def test_openlineage_names_on_s3(s3_store):
    url, opts = s3_store
    store = Store.open(url, opts)
    events = export.openlineage_events(store)
    check_valid(events)
    runs = by_run(events)
    naming = S3(bucket_name="catalogue-test", object_key=f"stores/lineage/{R1}/features.parquet")
    outputs = [(d["namespace"], d["name"]) for d in runs[R1][1]["outputs"]]
    assert (naming.get_namespace(), naming.get_name()) in outputs
    assert runs[R1][0]["job"]["namespace"] == "s3://catalogue-test/stores/lineage"


def test_openlineage_cli_writes_json_lines(cli, lineage_store, tmp_path):
    out = tmp_path / "events.jsonl"
    res = cli("export", lineage_store, "--format", "openlineage", "--output", out)
    assert res.code == 0, res.err
    lines = out.read_text().splitlines()
    assert len(lines) == 2 * len(RUNS)
    events = [json.loads(line) for line in lines]
    check_valid(events)
    assert all(uuid.UUID(e["run"]["runId"]) for e in events)


def test_mermaid_and_dot_colour_by_status(cli, writable_store):
    Store.open(writable_store).flag("model", R3, reason="bad weights")
    res = cli("export", writable_store, "--format", "mermaid")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0] == "flowchart LR"
    # latest model (R3, flagged) and latest scores (R4, built from it) are tainted;
    # "report" was planned by R5 and never written
    assert "    class n_model,n_scores tainted" in lines
    assert "    class n_report missing" in lines
    assert "    n_features --> n_model" in lines and "    n_raw --> n_report" in lines

    res = cli("export", writable_store, "--format", "dot")
    assert res.code == 0
    assert '"model" [label="model\\ntainted", fillcolor="#e2d5f1", color="#4a235a"];' in res.out
    assert '"report" [label="report\\nmissing"' in res.out
    assert '"raw" -> "features";' in res.out


def test_export_grouped_by_prefix(cli, demo_path, tmp_path):
    out = tmp_path / "graph.mmd"
    assert cli("export", demo_path, "--format", "mermaid", "--output", out).code == 0
    text = out.read_text()
    assert 'subgraph g_raw["raw"]' in text and 'n_raw_applications["applications' in text
    assert "class n_reports_drift missing" in text


def test_running_runs_have_only_start_and_failed_attempts_colour_red(tmp_path):
    from datetime import datetime, timezone

    from explorer.store import RunWriter

    url = str(tmp_path / "s")
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with RunWriter(url, job="j", run_id="r1", started_at=t, plan={"a": [], "b": ["a"]}) as run:
        run.write("a", {"v": 1})
        run.write("b", {"v": 2}, inputs=["a"])
    with pytest.raises(RuntimeError):
        with RunWriter(url, job="j", run_id="r2", started_at=t.replace(day=2), plan={"a": [], "b": ["a"]}) as run:
            run.write("a", {"v": 3})
            raise RuntimeError("b crashed")
    running = RunWriter(url, job="j", run_id="r3", started_at=t.replace(day=3), plan={"c": ["a"]}).start()
    running.write("c", {"v": 4}, inputs=[("a", "r2")])

    store = Store.open(url)
    events = export.openlineage_events(store)
    check_valid(events)
    assert [(by_run_id, [e["eventType"] for e in evs]) for by_run_id, evs in by_run(events).items()] == [
        ("r1", ["START", "COMPLETE"]), ("r2", ["START", "FAIL"]), ("r3", ["START"])]
    # b's newest attempt (r2) failed without writing it; c is being written by a running run
    statuses = export.asset_statuses(store)
    assert statuses == {"a": "fresh", "b": "failed", "c": "fresh"}
    mermaid = export.to_mermaid(store.asset_graph(), statuses)
    assert "    class n_b failed" in mermaid.splitlines()


def _chain_then_crash(url: str, plan: dict, crash_plan: dict, *rewrite, **rewrite_kw) -> None:
    """Run r1 (planning ``plan``) writes a -> b -> c; run r2, a day later (planning
    ``crash_plan``), writes ``run.write(*rewrite, **rewrite_kw)`` and crashes before writing c."""
    from datetime import datetime, timezone

    from explorer.store import RunWriter

    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with RunWriter(url, job="j", run_id="r1", started_at=t, plan=plan) as run:
        run.write("a", {"v": 1})
        run.write("b", {"v": 2}, inputs=["a"])
        run.write("c", {"v": 3}, inputs=["b"])
    with pytest.raises(RuntimeError):
        with RunWriter(url, job="j", run_id="r2", started_at=t.replace(day=2), plan=crash_plan) as run:
            run.write(*rewrite, **rewrite_kw)
            raise RuntimeError("c crashed")


def test_export_colours_combine_staleness_taint_and_failure(tmp_path):
    """With the staleness module present: fresh/stale/missing from it, tainted and failed on top."""
    url = str(tmp_path / "s")
    _chain_then_crash(url, {"a": [], "b": ["a"], "c": ["b"], "d": ["a"]}, {"a": [], "c": ["b"]},
                      "a", {"v": 10})  # new data: b and c are now stale
    store = Store.open(url)
    store.flag("b", "r1", reason="bad")
    statuses = export.asset_statuses(store)
    # a: its latest version is current; b: flagged (tainted wins over stale); c: built from b,
    # so tainted; d: planned, never written
    assert statuses == {"a": "fresh", "b": "tainted", "c": "tainted", "d": "missing"}
    store.unflag("b", "r1", reason="ok")
    statuses = export.asset_statuses(store)
    # c's newest planned attempt (r2) failed without writing it; b is stale (a changed)
    assert statuses == {"a": "fresh", "b": "stale", "c": "failed", "d": "missing"}


def test_export_statuses_are_the_stale_commands_words(cli, tmp_path):
    """One vocabulary: on a store with a failed run and a missing planned asset, the export's words are the ``stale`` command's, with ``failed`` only where the
    newest run planning an asset failed without writing it (worked out here from the runs)."""
    url = str(tmp_path / "s")
    _chain_then_crash(url, {"a": [], "b": ["a"], "c": ["b"], "never": ["a"]}, {"b": ["a"], "c": ["b"]},
                      "b", {"v": 20}, inputs=[("a", "r1")])  # c becomes stale; its rebuild crashes

    res = cli("stale", url, "--format", "json")
    assert res.code != 0  # a missing asset fails the default --fail-on
    cli_status = {a["asset"]: a["status"] for a in json.loads(res.out)["assets"]}
    assert cli_status["never"] == "missing"

    store = Store.open(url)
    failed = {}
    for r in sorted(store.runs, key=lambda r: r.started_at):  # the newest planner of each asset wins
        for p in r.planned:
            failed[p.asset] = r.status == "failed" and (p.asset, r.run_id) not in store.index.versions
    expected = {k: "failed" if failed.get(k) and cli_status[k] != "missing" else s for k, s in cli_status.items()}
    assert expected == {"a": "fresh", "b": "fresh", "c": "failed", "never": "missing"}
    assert export.asset_statuses(store) == expected

    res = cli("export", url, "--format", "mermaid")
    assert res.code == 0, res.err
    shown = {}
    for line in res.out.splitlines():
        if line.startswith("    class "):
            _, ids, status = line.split()
            shown.update({i.removeprefix("n_"): status for i in ids.split(",")})
    assert shown == expected


# ---------------------------------------------------------------- hostile keys in mermaid and dot

PUNCTUATION_KEYS = [f"k{c}x" for c in "!\"#$%&'()*+,-.;<=>?@[]^_`{|}~"] + [
    "a-b", "a_b", "a b", "x<br>y", 'say "hi"', "grp/a-b", "grp/a_b", "grp", "`md`", "#35;", "end", "subgraph"]


@pytest.fixture
def punctuated(tmp_path):
    """Every key above as an asset, each built from the one before it."""
    from explorer import RunWriter

    path = tmp_path / "store"
    with RunWriter(path, job="j") as run:
        previous = None
        for key in PUNCTUATION_KEYS:
            run.write(key, {"k": key}, inputs=[previous] if previous else [])
            previous = key
    return path, list(zip(PUNCTUATION_KEYS, PUNCTUATION_KEYS[1:]))


def _mermaid_decode(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)


def test_mermaid_has_one_node_per_key_and_labels_that_are_only_text(punctuated, cli):
    path, edges = punctuated
    out = cli("export", path, "--format", "mermaid")
    assert out.code == 0, out.err
    nodes, groups, arrows, stack = {}, {}, [], []
    for line in out.out.splitlines()[1:]:
        line = line.strip()
        if m := re.fullmatch(r'subgraph (\w+)\["([^"]*)"\]', line):
            groups[m.group(1)] = _mermaid_decode(m.group(2))
            stack.append(groups[m.group(1)])
        elif line == "end":
            stack.pop()
        elif m := re.fullmatch(r'(\w+)\["([^"]*)"\]', line):
            label = m.group(2).split("<br/>")[0]
            assert not re.search(r"[\"<>`\[\]{}|]", label), line  # nothing mermaid or HTML could parse
            nodes[m.group(1)] = (stack[-1] + "/" if stack else "") + _mermaid_decode(label)
        elif m := re.fullmatch(r"(\w+) --> (\w+)", line):
            arrows.append((m.group(1), m.group(2)))
        else:
            assert line.startswith(("classDef ", "class ")), line
    assert sorted(nodes.values()) == sorted(PUNCTUATION_KEYS)  # one node per key, each named exactly
    assert set(nodes).isdisjoint(groups)
    assert sorted((nodes[a], nodes[b]) for a, b in arrows) == sorted(edges)


def test_dot_names_every_key_exactly(punctuated, cli):
    path, edges = punctuated
    out = cli("export", path, "--format", "dot")
    assert out.code == 0, out.err
    quoted = r'"((?:[^"\\]|\\.)*)"'
    unquote = lambda s: re.sub(r"\\(.)", r"\1", s)  # noqa: E731
    nodes = {unquote(m.group(1)) for m in re.finditer(rf"^\s*{quoted} \[label=", out.out, re.M)}
    arrows = [(unquote(m.group(1)), unquote(m.group(2))) for m in re.finditer(rf"^\s*{quoted} -> {quoted};$", out.out, re.M)]
    assert nodes == set(PUNCTUATION_KEYS)
    assert sorted(arrows) == sorted(edges)


MERMAID_PROBE = r"""
import { JSDOM } from "jsdom";
import fs from "fs";
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window; globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
const text = fs.readFileSync(process.argv[2], "utf8");
await mermaid.parse(text);   // throws on text mermaid rejects
const db = (await mermaid.mermaidAPI.getDiagramFromText(text)).db;
const nodes = {};
for (const [id, n] of db.getVertices()) nodes[id] = n.text;
const subgraphs = db.getSubGraphs().map(s => ({ id: s.id, title: s.title, nodes: s.nodes }));
console.log(JSON.stringify({ nodes, subgraphs, edges: db.getEdges().map(e => [e.start, e.end]) }));
"""


@pytest.fixture(scope="session")
def mermaid_parser(tmp_path_factory):
    """Mermaid's own parser (the npm package, run in Node with jsdom: no browser)."""
    import shutil
    import subprocess

    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("Node.js and npm are needed to run mermaid's parser")
    folder = tmp_path_factory.mktemp("mermaid")
    res = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "mermaid@11", "jsdom@24"],
                         cwd=folder, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        pytest.skip(f"npm could not install mermaid: {res.stderr.strip()[-300:]}")
    (folder / "probe.mjs").write_text(MERMAID_PROBE)
    return folder


def test_mermaids_own_parser_reads_every_key_back(punctuated, cli, mermaid_parser, tmp_path):
    import subprocess

    path, edges = punctuated
    text = cli("export", path, "--format", "mermaid").out
    (tmp_path / "graph.mmd").write_text(text)
    res = subprocess.run(["node", str(mermaid_parser / "probe.mjs"), str(tmp_path / "graph.mmd")],
                         cwd=mermaid_parser, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-1000:]
    parsed = json.loads(res.stdout)
    # mermaid keeps entity codes as placeholders until it renders: decode them as it would
    decode = lambda s: re.sub(r"ﬂ°°(\d+)¶ß", lambda m: chr(int(m.group(1))), s)  # noqa: E731
    group_of = {n: g["title"] for g in parsed["subgraphs"] for n in g["nodes"]}
    names = {i: (decode(group_of[i]) + "/" if i in group_of else "") + decode(t.split("<br>")[0])
             for i, t in parsed["nodes"].items()}
    assert sorted(names.values()) == sorted(PUNCTUATION_KEYS)
    assert sorted((names[a], names[b]) for a, b in parsed["edges"]) == sorted(edges)
