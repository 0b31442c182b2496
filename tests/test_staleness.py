"""Staleness on stores written with the real writer: exact statuses and causes.

Each test builds a small store in tmp_path with ``RunWriter`` and states the expected
statuses from the story it wrote (a hand-built graph), never from the code's output.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import networkx as nx
import pytest

from explorer.errors import ExplorerError
from explorer.staleness import Cause, compute, parse_duration
from explorer import Store
from explorer.store.writer import RunWriter

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


def writer(path, run_id: str, day: int, job="pipeline", code="v1", plan=None, **kw) -> RunWriter:
    start = T0 + timedelta(days=day)
    return RunWriter(str(path), job=job, code_version=code, run_id=run_id, started_at=start,
                     clock=Clock(start), plan=plan, **kw)


def statuses(report) -> dict[str, str]:
    return {a.asset: a.status for a in report.assets}


def kinds(report, key) -> list[tuple[str, str]]:
    return sorted((c.kind, c.asset) for c in report.get(key).causes)


# The graph used by several tests (edges upstream -> downstream)
EDGES = [("a", "mid"), ("mid", "out"), ("b", "out"), ("b", "other")]
PLAN = {"a": [], "b": [], "mid": ["a"], "out": ["mid", "b"], "other": ["b"]}


def full_run(path, run_id, day, a=b"A1", b=b"B1", **kw):
    with writer(path, run_id, day, plan=PLAN, **kw) as run:
        run.write("a", a, format="bytes")
        run.write("b", b, format="bytes")
        run.write("mid", a + b"-mid", inputs=["a"], format="bytes")
        run.write("out", a + b + b"-out", inputs=["mid", "b"], format="bytes")
        run.write("other", b + b"-other", inputs=["b"], format="bytes")
    return run


def test_changed_source_makes_exactly_its_downstream_closure_stale(store_path):
    r1 = full_run(store_path, "r1", 0)
    with writer(store_path, "r2", 1, plan={"a": []}) as run:
        new_a = run.write("a", b"A2", format="bytes")
    report = Store.open(store_path).staleness()

    g = nx.DiGraph(EDGES)
    expected_stale = nx.descendants(g, "a")  # {"mid", "out"}
    assert statuses(report) == {k: ("stale" if k in expected_stale else "fresh") for k in g.nodes}

    (cause,) = report.get("mid").causes
    assert cause.kind == "upstream_changed" and cause.asset == "a"
    assert cause.run_id == "r2" and cause.latest_run_id == "r2" and cause.consumed_run_id == "r1"
    assert cause.consumed_hash == r1.versions["a"].content_hash
    assert cause.latest_hash == new_a.content_hash != cause.consumed_hash
    assert cause.describe().startswith("a changed in run r2 at ")
    assert new_a.short_hash[:8] in cause.describe() and r1.versions["a"].short_hash[:8] in cause.describe()

    assert kinds(report, "out") == [("upstream_stale", "mid")]
    (root,) = report.get("out").root_causes
    assert (root.kind, root.asset, root.run_id, root.of, root.chain) == ("upstream_changed", "a", "r2", "mid", ("out", "mid"))
    assert root.describe_chain().startswith("out <- mid <- a changed in run r2")
    assert report.get("other").causes == () and report.get("other").root_causes == ()


def test_unchanged_rematerialization_makes_nothing_stale(store_path):
    full_run(store_path, "r1", 0)
    with writer(store_path, "r2", 1, plan={"a": [], "b": []}) as run:
        run.write("a", b"A1", format="bytes")  # same bytes, newer version
        run.write("b", b"B1", format="bytes")
    report = Store.open(store_path).staleness()
    assert set(statuses(report).values()) == {"fresh"}
    assert report.get("a").run_id == "r2" and report.get("mid").run_id == "r1"


def test_change_then_revert_compares_content_not_time(store_path):
    full_run(store_path, "r1", 0)
    for rid, day, content in (("r2", 1, b"A2"), ("r3", 2, b"A1")):
        with writer(store_path, rid, day, plan={"a": []}) as run:
            run.write("a", content, format="bytes")
    report = Store.open(store_path).staleness()
    assert statuses(report)["mid"] == "fresh"  # r3 brought back exactly the bytes mid consumed


def test_upstream_changed_names_the_run_where_the_content_first_appeared(store_path):
    full_run(store_path, "r1", 0)
    for rid, day in (("r2", 1), ("r3", 2)):  # r2 changes a, r3 re-ingests identical bytes
        with writer(store_path, rid, day, plan={"a": []}) as run:
            run.write("a", b"A2", format="bytes")
    (cause,) = Store.open(store_path).staleness().get("mid").causes
    assert (cause.run_id, cause.latest_run_id, cause.consumed_run_id) == ("r2", "r3", "r1")


def test_code_version_change(store_path):
    full_run(store_path, "r1", 0, code="v1")
    # same job, new code; it plans everything but fails after re-writing the sources
    with pytest.raises(RuntimeError):
        with writer(store_path, "r2", 1, code="v2", plan=PLAN) as run:
            run.write("a", b"A1", format="bytes")
            run.write("b", b"B1", format="bytes")
            raise RuntimeError("boom")
    # another job with yet another code version does not count
    with writer(store_path, "r3", 2, job="reporting", code="v9", plan={"report": ["other"]}) as run:
        run.write("report", b"R", inputs=[("other", "r1")], format="bytes")
    report = Store.open(store_path).staleness()
    assert statuses(report) == {"a": "fresh", "b": "fresh", "mid": "stale", "out": "stale", "other": "stale",
                                "report": "stale"}
    for key in ("mid", "out", "other"):
        code = [c for c in report.get(key).causes if c.kind == "code_changed"]
        assert len(code) == 1
        assert (code[0].asset, code[0].run_id, code[0].old_code_version, code[0].new_code_version) == (key, "r2", "v1", "v2")
    assert kinds(report, "out") == [("code_changed", "out"), ("upstream_stale", "mid")]
    assert kinds(report, "report") == [("upstream_stale", "other")]
    assert [(c.kind, c.of) for c in report.get("report").root_causes] == [("code_changed", "other")]


def test_code_change_in_a_newer_unplanned_run_of_the_same_job(store_path):
    with writer(store_path, "r1", 0, code="v1") as run:
        run.write("a", b"A", format="bytes")
        run.write("b", b"B", inputs=["a"], format="bytes")
    with writer(store_path, "r2", 1, code="v2") as run:  # no plan: it stands for the whole job
        run.write("a", b"A", format="bytes")
    with writer(store_path, "r3", 2, job="other", code="v3") as run:
        run.write("c", b"C", format="bytes")
    report = Store.open(store_path).staleness()
    assert statuses(report) == {"a": "fresh", "b": "stale", "c": "fresh"}
    assert [(c.kind, c.run_id, c.old_code_version, c.new_code_version) for c in report.get("b").causes] == [
        ("code_changed", "r2", "v1", "v2")]


def test_version_is_not_judged_against_its_own_runs_plan(store_path):
    with writer(store_path, "r1", 0, plan={"a": [], "b": ["a", "z"]}) as run:
        run.write("a", b"A", format="bytes")
        run.write("b", b"B", inputs=["a"], format="bytes")  # the plan said more than was consumed
    report = Store.open(store_path).staleness()
    # fresh: no later plan disagrees; a planned input that nothing produced is not an asset of its own
    assert statuses(report) == {"a": "fresh", "b": "fresh"}


def test_feedback_loop_across_runs(store_path):
    with writer(store_path, "r1", 0) as run:
        run.write("a", b"A1", format="bytes")
    with writer(store_path, "r2", 1) as run:
        run.write("b", b"B1", inputs=[("a", "r1")], format="bytes")
    with writer(store_path, "r3", 2) as run:
        run.write("a", b"A2", inputs=[("b", "r2")], format="bytes")
    report = Store.open(store_path).staleness()  # the current graph is a cycle a <-> b
    assert statuses(report) == {"a": "stale", "b": "stale"}
    assert kinds(report, "b") == [("upstream_changed", "a"), ("upstream_stale", "a")]
    assert kinds(report, "a") == [("upstream_stale", "b")]
    assert [(c.kind, c.asset, c.of, c.chain) for c in report.get("a").root_causes] == [
        ("upstream_changed", "a", "b", ("a", "b"))]


def test_added_dependency(store_path):
    full_run(store_path, "r1", 0)
    with pytest.raises(RuntimeError):
        with writer(store_path, "r2", 1, plan={"other": ["b", "a"]}) as run:
            raise RuntimeError("not built yet")
    report = Store.open(store_path).staleness()
    assert statuses(report) == {"a": "fresh", "b": "fresh", "mid": "fresh", "out": "fresh", "other": "stale"}
    (cause,) = report.get("other").causes
    assert (cause.kind, cause.asset, cause.run_id, cause.added, cause.removed) == (
        "dependencies_changed", "other", "r2", ("a",), ())
    assert "added a" in cause.describe()


def test_removed_dependency(store_path):
    full_run(store_path, "r1", 0)
    with pytest.raises(RuntimeError):
        with writer(store_path, "r2", 1, plan={"out": ["mid"]}) as run:
            raise RuntimeError("not built yet")
    report = Store.open(store_path).staleness()
    assert statuses(report) == {"a": "fresh", "b": "fresh", "mid": "fresh", "out": "stale", "other": "fresh"}
    (cause,) = report.get("out").causes
    assert (cause.kind, cause.added, cause.removed) == ("dependencies_changed", (), ("b",))


def test_plan_without_inputs_cannot_judge_dependencies(store_path):
    full_run(store_path, "r1", 0)
    with writer(store_path, "r2", 1, plan=["out"]) as run:  # planned, inputs not recorded
        pass
    assert set(statuses(Store.open(store_path).staleness()).values()) == {"fresh"}


def test_failed_run_leaves_asset_missing(store_path, cli):
    with pytest.raises(RuntimeError):
        with writer(store_path, "r1", 0, plan={"a": [], "mid": ["a"], "out": ["mid"]}) as run:
            run.write("a", b"A1", format="bytes")
            raise RuntimeError("mid failed")
    report = Store.open(store_path).staleness()
    assert statuses(report) == {"a": "fresh", "mid": "missing", "out": "missing"}
    assert report.get("mid").run_id is None and report.get("mid").planned_by == ("r1",)
    assert report.counts() == {"fresh": 1, "stale": 0, "missing": 2}
    assert cli("stale", store_path, "--format", "json").code == 1
    assert cli("stale", store_path, "--fail-on", "missing").code == 1
    assert cli("stale", store_path, "--fail-on", "none").code == 0


def test_cross_run_inputs(store_path):
    full_run(store_path, "r1", 0)
    with writer(store_path, "r2", 1, job="scoring", plan={"score": ["out"]}) as run:
        run.write("score", b"S", inputs=[("out", "r1")], format="bytes")
    assert set(statuses(Store.open(store_path).staleness()).values()) == {"fresh"}

    with writer(store_path, "r3", 2, plan={"b": []}) as run:
        run.write("b", b"B2", format="bytes")
    report = Store.open(store_path).staleness()
    g = nx.DiGraph(EDGES + [("out", "score")])
    assert statuses(report) == {k: ("stale" if k in nx.descendants(g, "b") else "fresh") for k in g.nodes}
    assert kinds(report, "score") == [("upstream_stale", "out")]
    (root,) = report.get("score").root_causes
    assert (root.kind, root.asset, root.run_id, root.chain) == ("upstream_changed", "b", "r3", ("score", "out"))

    # the pipeline re-runs: out gets new content, score now consumed an outdated out from r1
    full_run(store_path, "r4", 3, b=b"B2")
    report = Store.open(store_path).staleness()
    assert {k for k, s in statuses(report).items() if s != "fresh"} == {"score"}
    (cause,) = report.get("score").causes
    assert (cause.kind, cause.asset, cause.consumed_run_id, cause.run_id) == ("upstream_changed", "out", "r1", "r4")


def test_incremental_asset_built_from_its_own_previous_version(store_path):
    with writer(store_path, "r1", 0) as run:
        run.write("events", b"E1", format="bytes")
        run.write("daily", b"D1", inputs=["events"], format="bytes")
    with writer(store_path, "r2", 1) as run:  # appends: consumes its own previous version
        run.write("events", b"E1E2", inputs=[("events", "r1")], format="bytes")
        run.write("daily", b"D2", inputs=["events"], format="bytes")
    assert statuses(Store.open(store_path).staleness()) == {"events": "fresh", "daily": "fresh"}
    with writer(store_path, "r3", 2) as run:
        run.write("events", b"E1E2E3", inputs=[("events", "r2")], format="bytes")
    report = Store.open(store_path).staleness()
    assert statuses(report) == {"events": "fresh", "daily": "stale"}
    assert [(c.kind, c.asset, c.run_id) for c in report.get("daily").causes] == [("upstream_changed", "events", "r3")]


def test_input_missing(store_path):
    with writer(store_path, "r1", 0) as run:
        run.write("a", b"A1", format="bytes")
    with writer(store_path, "r2", 1) as run:
        run.write("a", b"A1", format="bytes")
    with writer(store_path, "r3", 2, job="downstream") as run:
        run.write("b", b"B", inputs=[("a", "r1")], format="bytes")
    shutil.rmtree(Path(store_path) / "r1")  # the consumed version is gone (same bytes live on in r2)
    report = Store.open(store_path).staleness()
    assert statuses(report) == {"a": "fresh", "b": "stale"}
    (cause,) = report.get("b").causes
    assert (cause.kind, cause.asset, cause.consumed_run_id) == ("input_missing", "a", "r1")
    assert cause.describe() == "input a @ r1 is no longer in the store"


def test_max_age(store_path):
    full_run(store_path, "r1", 0)
    with writer(store_path, "r2", 3, plan={"b": []}) as run:
        run.write("b", b"B1", format="bytes")  # identical bytes: only its age changes
    now = T0 + timedelta(days=4)
    store = Store.open(store_path)
    report = compute(store.index, max_age="36h", now=now)
    # a, mid, out (via a, mid), other was written on day 0; b on day 3 is younger than 36h
    assert statuses(report) == {"a": "stale", "b": "fresh", "mid": "stale", "out": "stale", "other": "stale"}
    (cause,) = report.get("a").causes
    assert cause.kind == "too_old" and cause.run_id == "r1" and cause.max_age_seconds == 36 * 3600
    assert 4 * 86400 - 60 < cause.age_seconds < 4 * 86400
    assert cause.describe() == "a @ r1 is 3d23h old (max age 1d12h)"
    assert kinds(report, "out") == [("too_old", "out"), ("upstream_stale", "mid")]
    assert set(statuses(compute(store.index, max_age="5d", now=now)).values()) == {"fresh"}
    assert set(statuses(compute(store.index, max_age=timedelta(days=5), now=now)).values()) == {"fresh"}


@pytest.mark.parametrize("text,seconds", [("36h", 129600), ("7d", 604800), ("1d12h", 129600), ("90m", 5400),
                                          ("2w", 1209600), ("45s", 45), ("1.5h", 5400)])
def test_parse_duration(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "7", "d7", "7 days", "-3h", "3h!", "h"])
def test_parse_duration_rejects(text):
    with pytest.raises(ExplorerError):
        parse_duration(text)


# ---------------------------------------------------------------------- flagged versions


def flag_store(path):
    full_run(path, "r1", 0)
    with writer(path, "r2", 1, job="scoring", plan={"score": ["out"]}) as run:
        run.write("score", b"S", inputs=[("out", "r1")], format="bytes")
    full_run(path, "r3", 2)  # identical bytes everywhere: a newer version of every pipeline asset
    return Store.open(path)


def test_flagged_version_marks_its_current_descendants_across_runs(store_path):
    store = flag_store(store_path)
    assert set(statuses(store.staleness()).values()) == {"fresh"}
    # (b, r1) is no longer current, but score@r2 was built from out@r1 which consumed b@r1
    report = compute(store.index, flagged={("b", "r1")})
    assert {k for k, s in statuses(report).items() if s == "stale"} == {"score"}
    (cause,) = report.get("score").causes
    assert (cause.kind, cause.asset, cause.run_id) == ("flagged_upstream", "b", "r1")
    assert cause.describe() == "b @ r1 is flagged"
    assert [(c.kind, c.asset, c.run_id, c.chain) for c in report.get("score").root_causes] == [
        ("flagged_upstream", "b", "r1", ("score",))]


def test_flagged_current_version_and_its_consumers(store_path):
    store = flag_store(store_path)
    report = compute(store.index, flagged={("mid", "r3")})
    g = nx.DiGraph(EDGES + [("out", "score")])
    assert {k for k, s in statuses(report).items() if s == "stale"} == nx.descendants(g, "mid") | {"mid"}
    assert kinds(report, "mid") == [("flagged_upstream", "mid")]
    assert kinds(report, "out") == [("flagged_upstream", "mid"), ("upstream_stale", "mid")]
    # score@r2 was built from r1's versions: not flagged itself, but its input asset is now stale
    assert kinds(report, "score") == [("upstream_stale", "out")]
    assert {(c.kind, c.asset, c.run_id) for c in report.get("score").root_causes} == {("flagged_upstream", "mid", "r3")}


def test_flag_reasons_become_the_cause_detail(store_path):
    store = flag_store(store_path)
    report = compute(store.index, flagged={("a", "r3"): "bad upstream extract"})
    g = nx.DiGraph(EDGES + [("out", "score")])
    assert {k for k, s in statuses(report).items() if s == "stale"} == {"a"} | nx.descendants(g, "a")
    (cause,) = report.get("a").causes
    assert cause.describe() == "a @ r3 is flagged: bad upstream extract"


def test_flag_outside_every_provenance_changes_nothing(store_path):
    store = flag_store(store_path)
    report = compute(store.index, flagged={("other", "r1"), ("nope", "r9")})
    assert set(statuses(report).values()) == {"fresh"}


# ---------------------------------------------------------------------- the demo store


DEMO_STALE = {"clean/applications", "features", "models/credit_risk", "metrics/evaluation", "scores",
              "reports/score_distribution"}


def test_demo_final_state(demo_path, demo_runs):
    report = Store.open(str(demo_path)).staleness()
    # from the story: R8 brought new raw data, R9 re-ingested identical bytes, R7's drift step failed
    assert statuses(report) == {"raw/applications": "fresh", "raw/bureau": "fresh", "reports/drift": "missing",
                                **{k: "stale" for k in DEMO_STALE}}
    r8 = demo_runs["R8"]
    for key in DEMO_STALE:
        roots = report.get(key).root_causes
        assert {(c.kind, c.asset, c.run_id) for c in roots} <= {("upstream_changed", "raw/applications", r8),
                                                                  ("upstream_changed", "raw/bureau", r8)}
        assert all(c.latest_run_id == demo_runs["R9"] for c in roots)
    assert {c.asset for c in report.get("scores").root_causes} == {"raw/applications", "raw/bureau"}
    assert report.get("clean/applications").causes[0].consumed_run_id == demo_runs["R6"]
    assert report.get("reports/drift").planned_by == (demo_runs["R7"],)


@pytest.mark.parametrize("moment,expected_stale,expected_missing", [
    # R3 failed after ingest+clean: features and everything after it consumed R2's data
    ("R3", {"features", "models/credit_risk", "metrics/evaluation", "scores", "reports/score_distribution"}, set()),
    ("R4", set(), set()),  # R4 re-executed from R3's outputs
    ("R5", set(), set()),
    ("R6", set(), set()),  # identical raw bytes, all rebuilt with v1.1
    ("R7", set(), {"reports/drift"}),  # re-scored from R6; drift failed
    ("R8", DEMO_STALE, {"reports/drift"}),
])
def test_demo_as_of_run(demo_path, demo_runs, moment, expected_stale, expected_missing):
    report = Store.open(str(demo_path)).staleness(as_of=demo_runs[moment])
    st = statuses(report)
    assert {k for k, s in st.items() if s == "stale"} == expected_stale
    assert {k for k, s in st.items() if s == "missing"} == expected_missing
    assert report.as_of_run == demo_runs[moment]
    if moment == "R3":
        assert report.get("raw/applications").run_id == demo_runs["R3"]
        assert report.get("features").run_id == demo_runs["R2"]
        # R3's clean/applications is current and fresh; features@R2 consumed R2's clean and bureau
        assert kinds(report, "features") == [("upstream_changed", "clean/applications"), ("upstream_changed", "raw/bureau")]
        assert {c.run_id for c in report.get("features").causes} == {demo_runs["R3"]}


def test_demo_as_of_iso_time(demo_path, demo_runs):
    store = Store.open(str(demo_path))
    before_r8 = store.staleness(as_of="2026-11-01T00:00:00Z")
    assert statuses(before_r8) == {**statuses(store.staleness(as_of=demo_runs["R7"]))}
    assert before_r8.as_of == datetime(2026, 11, 1, tzinfo=timezone.utc) and before_r8.as_of_run is None
    assert store.staleness(as_of="2026-11-05").get("raw/applications").run_id == demo_runs["R8"]
    # before anything existed there is nothing to report
    assert store.staleness(as_of="2020-01-01").assets == ()


def test_unknown_as_of_is_a_clear_error(demo_path):
    with pytest.raises(ExplorerError, match="neither a run id"):
        Store.open(str(demo_path)).staleness(as_of="no-such-run")


def test_report_helpers_and_dict(demo_path):
    store = Store.open(str(demo_path))
    report = store.staleness()
    d = report.to_dict()
    assert d["store"] == store.url and d["as_of"] is None
    assert [a["asset"] for a in d["assets"]] == sorted(a.asset for a in report.assets)
    assert report.status_of("nope") == "unknown" and report.get("nope") is None
    assert report.counts() == {"fresh": 2, "stale": 6, "missing": 1}
    cause = Cause("upstream_changed", "x", "r", consumed_hash="sha256:1234abcd99", latest_hash="sha256:5678ef0099",
                  consumed_run_id="r0", latest_run_id="r")
    assert cause.describe() == "x changed in run r (sha 1234abcd @ r0 -> 5678ef00 @ r)"


def test_a_cause_shows_dagster_data_versions_recognizably():
    """A Dagster data version is not a sha256: it is shortened at a separator, never sliced
    into a meaningless middle (issue 14 item 10: ``-data-versio``, ``d:eea435bc-6``)."""
    consumed = "dagster-data-version:eea435bc-6f1a-4b2c-9d8e-1234567890ab"
    latest = "dagster-data-version:0f9c33aa-1111-2222-3333-444455556666"
    line = Cause("upstream_changed", "x", "r", consumed_hash=consumed, latest_hash=latest,
                 consumed_run_id="r0", latest_run_id="r").describe()
    shown = line[line.index("(sha ") + 5:].split(" @ ")[0]
    assert shown.startswith("dv:") and consumed.split(":", 1)[1].startswith(shown[3:].rstrip("…"))
    assert "-data-versio" not in line and "d:eea" not in line
