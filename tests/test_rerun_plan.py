"""The rerun plan (``stale --plan``, ``explorer.plan.rerun_plan``) is exactly right: carrying
it out makes every asset fresh (sufficient), and leaving out any one of its assets does not
(minimal); its order respects every edge. Checked on generated stores (random graphs, jobs,
code versions, partial runs that leave planned assets missing, identical re-materializations
and flags), by writing the plan's runs with RunWriter and asking the staleness report again."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer import RunWriter
from explorer.plan import rerun_plan
from explorer import Store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@st.composite
def histories(draw):
    n = draw(st.integers(2, 6))
    names = [f"a{i}" for i in range(n)]
    edges = [(names[i], names[j]) for j in range(n) for i in range(j) if draw(st.booleans())]
    job_of = {a: draw(st.sampled_from(["j1", "j2"])) for a in names}
    runs = []
    for _ in range(draw(st.integers(1, 5))):
        job = draw(st.sampled_from(["j1", "j2"]))
        mine = [a for a in names if job_of[a] == job]
        if not mine:
            continue
        written = draw(st.lists(st.sampled_from(mine), unique=True, max_size=len(mine)))
        runs.append({"job": job, "code": draw(st.sampled_from(["v1", "v2"])), "plan": mine,
                     "write": {a: draw(st.integers(0, 2)) for a in written}})  # small values: some repeats
    flags = draw(st.lists(st.tuples(st.integers(0, 4), st.sampled_from(names)), max_size=2))
    return names, edges, runs, flags


def inputs_of(edges, asset):
    return [a for a, b in edges if b == asset]


def write_history(root, names, edges, runs, flags):
    run_ids = []
    for i, r in enumerate(runs):
        rid = f"run{i}"
        plan = {a: inputs_of(edges, a) for a in r["plan"]}
        latest = {}
        store = Store.open(str(root), cache=False) if run_ids else None
        with RunWriter(str(root), job=r["job"], code_version=r["code"], run_id=rid, plan=plan,
                       started_at=T0 + timedelta(hours=i)) as run:
            for a in names:  # in topological order (edges go from lower to higher index)
                if a not in r["write"]:
                    continue
                ins = []
                for up in inputs_of(edges, a):
                    where = latest.get(up) or (store.index.latest(up).run_id if store and store.index.latest(up) else None)
                    if where is None:
                        break
                    ins.append((up, where))
                else:
                    run.write(a, {"value": r["write"][a]}, inputs=ins)
                    latest[a] = rid
        run_ids.append(rid)
    store = Store.open(str(root), cache=False)
    for run_index, asset in flags:
        if run_index < len(run_ids) and (asset, run_ids[run_index]) in store.index.versions:
            store.flag(asset, run_ids[run_index], "bad batch")


def carry_out(root, names, edges, plan, hour, planned=None):
    """Write the plan's batches as runs: each asset from the current versions of its inputs
    (its current version's inputs, or the graph's for a missing one), new content, by its
    job's newest code version."""
    planned = set(planned if planned is not None else plan.assets) | set(plan.assets)
    store = Store.open(str(root), cache=False)
    newest_code = {}
    for run in store.runs:
        newest_code[run.job] = run.code_version
    for b, batch in enumerate(plan.batches):
        store = Store.open(str(root), cache=False)
        rid = f"rerun{hour}-{b}"
        with RunWriter(str(root), job=batch.job or "adhoc", code_version=newest_code.get(batch.job),
                       run_id=rid, started_at=T0 + timedelta(days=1, hours=hour + b)) as run:
            written = set()
            for a in batch.assets:
                v = store.index.latest(a)
                ups = [i.asset for i in v.inputs] if v is not None else planned_inputs(store, a)
                where = {up: rid if up in written else getattr(store.index.latest(up), "run_id", None) for up in ups}
                if any(r is None and up in planned for up, r in where.items()):
                    continue  # an input of the plan left out of it: the asset cannot be built (its run would fail)
                # an input nothing ever produced nor plans is outside the store (a source): not recorded
                run.write(a, {"value": f"new-{hour}-{b}-{a}"}, inputs=[(up, r) for up, r in where.items() if r])
                written.add(a)



def planned_inputs(store, asset):
    """The inputs the newest plan of ``asset`` names (what the store knows of a missing asset)."""
    for run in reversed(store.runs):
        for p in run.planned:
            if p.asset == asset and p.inputs is not None:
                return list(p.inputs)
    return []


def not_fresh(root):
    return {a.asset for a in Store.open(str(root), cache=False).staleness().assets if a.status != "fresh"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories())
def test_the_plan_is_sufficient_minimal_and_ordered(tmp_path_factory, history):
    names, edges, runs, flags = history
    root = tmp_path_factory.mktemp("plan") / "store"
    if not runs:
        return
    write_history(root, names, edges, runs, flags)
    store = Store.open(str(root), cache=False)
    report = store.staleness()
    plan = rerun_plan(report, store.index)
    # exactly the assets that are not fresh, each once
    assert sorted(plan.assets) == sorted(a.asset for a in report.assets if a.status != "fresh")
    # every edge between two planned assets is respected
    position = {a: i for i, a in enumerate(plan.assets)}
    for a, b in edges:
        if a in position and b in position:
            assert position[a] < position[b], (a, b, plan.assets)
    # batches are the steps, in order, split where the job changes
    assert [a for b in plan.batches for a in b.assets] == plan.assets
    assert all(x.job != y.job for x, y in zip(plan.batches, plan.batches[1:]))
    # sufficient: carried out, nothing is left stale or missing
    done = root.parent / "done"
    shutil.copytree(root, done)
    carry_out(done, names, edges, plan, 0)
    assert not_fresh(done) == set(), plan.to_dict()
    # minimal: without any one of its assets, something stays stale or missing
    for i, left_out in enumerate(plan.assets):
        trial = root.parent / f"without-{i}"
        shutil.copytree(root, trial)
        fewer = rerun_plan(report, store.index)
        fewer = type(fewer)(fewer.store, tuple(s for s in fewer.steps if s.asset != left_out),
                            tuple(type(b)(b.job, tuple(a for a in b.assets if a != left_out)) for b in fewer.batches))
        carry_out(trial, names, edges, fewer, 0, planned=plan.assets)
        assert left_out in not_fresh(trial)


def test_the_demo_plan_on_the_command_line(demo_path, cli, monkeypatch):
    report = cli("stale", demo_path, "--format", "json").json()
    expected = {a["asset"] for a in report["assets"] if a["status"] != "fresh"}
    r = cli("stale", demo_path, "--plan", "--format", "json")
    assert r.code == 1  # something is stale, as without --plan
    plan = r.json()
    assert set(plan["assets"]) == expected and len(plan["assets"]) == len(expected)
    assert plan["selection"] == ",".join(plan["assets"])
    assert plan["command"] == f"dagster asset materialize --select {plan['selection']}"
    graph = cli("lineage", demo_path, "--format", "json").json()
    position = {a: i for i, a in enumerate(plan["assets"])}
    for e in graph["edges"]:
        if e["from"] in position and e["to"] in position:
            assert position[e["from"]] < position[e["to"]]
    table = cli("stale", demo_path, "--plan").out
    assert all(a in table for a in expected) and "dagster asset materialize" in table
    monkeypatch.setenv("COLUMNS", "80")
    narrow = cli("stale", demo_path, "--plan").out
    # at 80 columns the command is still one line to paste whole (the terminal wraps it)
    assert f"dagster: {plan['command']}" in narrow.splitlines()
    assert "upstream changed" in " ".join(narrow.split())  # the reasons in words, wrapped at spaces


def test_a_fresh_store_has_an_empty_plan(tmp_path, cli):
    with RunWriter(str(tmp_path / "s"), job="j", run_id="r1") as run:
        run.write("a", {"x": 1})
    r = cli("stale", tmp_path / "s", "--plan", "--format", "json")
    assert r.code == 0 and r.json()["assets"] == [] and r.json()["command"] == ""
    assert "nothing to rematerialize" in cli("stale", tmp_path / "s", "--plan").out
