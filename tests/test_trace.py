"""trace: a decision followed back to the exact source rows. Truth is computed here with
pandas on the data files themselves, never taken from the trace's own output."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer import Store
from explorer.store import RunWriter
from explorer.trace import NoMatchingRows, TraceError

# --------------------------------------------------------------------------- helpers


def records(df: pd.DataFrame) -> list[dict]:
    """Rows as JSON would carry them (timestamps as ISO strings in UTC with its offset, as
    docs/catalogue.md defines for every JSON output)."""
    out = []
    for row in df.to_dict("records"):
        clean = {}
        for k, v in row.items():
            if isinstance(v, pd.Timestamp):
                v = v.tz_convert("UTC").isoformat() if v.tzinfo else v.isoformat()
            elif isinstance(v, np.generic):
                v = v.item()
            clean[k] = v
        out.append(clean)
    return out


def by(rows: list[dict], *cols: str) -> list[dict]:
    return sorted(rows, key=lambda r: tuple(r[c] for c in cols))


def step(result: dict, asset: str) -> dict:
    found = [s for s in result["steps"] if s["asset"] == asset]
    assert len(found) == 1, f"{asset} appears {len(found)} times in {[s['asset'] for s in result['steps']]}"
    return found[0]


def sidecar(root: Path, run_id: str, key: str) -> dict:
    return json.loads((root / run_id / "_frontier" / "versions" / (key.replace("/", "%2F") + ".json")).read_text())


# --------------------------------------------------------------------------- demo store: cross-run provenance


def test_demo_decision_traced_to_the_versions_it_was_built_from(cli, demo_path, demo_runs):
    r6, r7 = demo_runs["R6"], demo_runs["R7"]
    scores_r7 = pd.read_parquet(demo_path / r7 / "scores.parquet")
    app_id = int(scores_r7.loc[scores_r7["decision"] == "decline", "application_id"].iloc[3])

    res = cli("trace", demo_path, "scores", "--where", f"application_id={app_id}", "--format", "json")
    assert res.code == 0, res.err
    out = res.json()

    # the decision: the latest scores are R7's
    assert out["root"]["asset"] == "scores" and out["root"]["run_id"] == r7
    assert out["root"]["rows"] == records(scores_r7[scores_r7["application_id"] == app_id])
    assert out["root"]["rows"][0]["decision"] == "decline"

    # R7 read features and the model from R6: every upstream step is R6's version
    assert {(s["asset"], s["run_id"]) for s in out["steps"]} == {
        ("features", r6), ("models/credit_risk", r6), ("clean/applications", r6),
        ("raw/applications", r6), ("raw/bureau", r6),
    }
    # raw/applications has newer versions (R8, R9) that the trace must not use
    latest_raw = sorted(p.name for p in demo_path.iterdir() if (p / "raw" / "applications.parquet").exists())[-1]
    assert latest_raw != r6

    feats = pd.read_parquet(demo_path / r6 / "features.parquet")
    s = step(out, "features")
    assert s["kind"] == "table" and s["traceable"] and s["matched_on"] == ["application_id"]
    assert s["match_kind"] == "declared"
    assert s["rows"] == records(feats[feats["application_id"] == app_id])
    assert s["content_hash"] == sidecar(demo_path, r6, "features")["content_hash"]

    raw = pd.read_parquet(demo_path / r6 / "raw" / "applications.parquet")
    assert step(out, "raw/applications")["rows"] == records(raw[raw["application_id"] == app_id])
    clean = pd.read_parquet(demo_path / r6 / "clean" / "applications.parquet")
    assert step(out, "clean/applications")["rows"] == records(clean[clean["application_id"] == app_id])
    bureau = pd.read_csv(demo_path / r6 / "raw" / "bureau.csv")  # CSV, streamed by the trace
    assert step(out, "raw/bureau")["rows"] == records(bureau[bureau["application_id"] == app_id])

    model = step(out, "models/credit_risk")
    assert model["kind"] == "object" and model["rows"] == [] and not model["traceable"]
    assert model["facts"]["content"] == json.loads((demo_path / r6 / "models" / "credit_risk.json").read_text())
    assert model["facts"]["code_version"] == "v1.1"
    assert model["facts"]["metadata"] == sidecar(demo_path, r6, "models/credit_risk")["metadata"]


def test_demo_older_run_traces_through_its_own_inputs(demo_path, demo_runs):
    """R4 re-executed R3 from failure: its features read R3's clean/applications and raw/bureau."""
    r3, r4 = demo_runs["R3"], demo_runs["R4"]
    feats_r4 = pd.read_parquet(demo_path / r4 / "features.parquet")
    app_id = int(feats_r4["application_id"].iloc[-1])
    result = Store.open(str(demo_path)).trace("scores", run=r4, where={"application_id": app_id}).to_dict()
    assert result["root"]["run_id"] == r4
    assert step(result, "features")["run_id"] == r4
    assert step(result, "clean/applications")["run_id"] == r3
    assert step(result, "raw/applications")["run_id"] == r3
    raw_r3 = pd.read_parquet(demo_path / r3 / "raw" / "applications.parquet")
    assert step(result, "raw/applications")["rows"] == records(raw_r3[raw_r3["application_id"] == app_id])


# --------------------------------------------------------------------------- cross-run: latest differs


def _clock(start: datetime):
    t = [start]

    def tick():
        t[0] += timedelta(seconds=1)
        return t[0]

    return tick


def test_input_from_an_earlier_run_is_read_from_that_run_not_the_latest(store_path):
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    raw_a = pd.DataFrame({"customer_id": [1, 2, 3], "income": [100, 200, 300]})
    raw_b = pd.DataFrame({"customer_id": [1, 2, 3], "income": [111, 222, 333]})  # corrected later
    with RunWriter(store_path, run_id="a", started_at=t0, clock=_clock(t0)) as run:
        run.write("raw", raw_a, keys=["customer_id"])
        run.write("features", raw_a.assign(f=raw_a["income"] / 10), inputs=["raw"], keys=["customer_id"])
    with RunWriter(store_path, run_id="b", started_at=t0 + timedelta(days=1), clock=_clock(t0 + timedelta(days=1))) as run:
        run.write("raw", raw_b, keys=["customer_id"])
        run.write("features", raw_b.assign(f=raw_b["income"] / 10), inputs=["raw"], keys=["customer_id"])
    with RunWriter(store_path, run_id="c", started_at=t0 + timedelta(days=2), clock=_clock(t0 + timedelta(days=2))) as run:
        run.write("scores", pd.DataFrame({"customer_id": [1, 2, 3], "score": [0.1, 0.2, 0.3]}),
                  inputs=[("features", "a")], keys=["customer_id"])

    result = Store.open(store_path).trace("scores", where={"customer_id": "2"}).to_dict()
    root = Path(store_path)
    assert [(s["asset"], s["run_id"]) for s in result["steps"]] == [("features", "a"), ("raw", "a")]
    raw_file = pd.read_parquet(root / "a" / "raw.parquet")
    assert step(result, "raw")["rows"] == records(raw_file[raw_file["customer_id"] == 2])
    assert step(result, "raw")["rows"][0]["income"] == 200  # R-a's value, not the latest 222


# --------------------------------------------------------------------------- row identity


@pytest.fixture
def keyed_store(store_path) -> str:
    """decisions(account_id, customer_id, region, decision) built from
    accounts (declared key account_id; its region is spelled differently) and
    profiles (no declared keys; shares only customer_id)."""
    accounts = pd.DataFrame({
        "account_id": [10, 11, 12, 13],
        "customer_id": [1, 1, 2, 3],
        "region": ["NORTH", "NORTH", "SOUTH", "EAST"],
    })
    profiles = pd.DataFrame({"customer_id": [1, 2, 3, 1], "segment": ["a", "b", "c", "a2"]})
    rates = pd.DataFrame({"currency": ["EUR", "USD"], "rate": [1.0, 1.1]})
    decisions = pd.DataFrame({
        "account_id": [10, 11, 12, 13],
        "customer_id": [1, 1, 2, 3],
        "region": ["north", "north", "south", "east"],
        "decision": ["approve", "decline", "approve", "review"],
    })
    with RunWriter(store_path, run_id="r1") as run:
        run.write("accounts", accounts, keys=["account_id"])
        run.write("profiles", profiles)
        run.write("rates", rates)
        run.write("decisions", decisions, inputs=["accounts", "profiles", "rates"])
    return store_path


def test_declared_keys_are_used_over_other_same_named_columns(cli, keyed_store):
    res = cli("trace", keyed_store, "decisions", "--where", "account_id=11", "--format", "json")
    assert res.code == 0, res.err
    out = res.json()
    acc = step(out, "accounts")
    # account_id is declared; region is shared by name but differs in case: not used
    assert acc["matched_on"] == ["account_id"] and acc["match_kind"] == "declared"
    accounts = pd.read_parquet(Path(keyed_store) / "r1" / "accounts.parquet")
    assert acc["rows"] == records(accounts[accounts["account_id"] == 11])


def test_same_named_columns_when_nothing_is_declared(cli, keyed_store):
    out = cli("trace", keyed_store, "decisions", "--where", "account_id=11", "--format", "json").json()
    prof = step(out, "profiles")
    assert prof["matched_on"] == ["customer_id"] and prof["match_kind"] == "same_name"
    profiles = pd.read_parquet(Path(keyed_store) / "r1" / "profiles.parquet")
    assert by(prof["rows"], "segment") == by(records(profiles[profiles["customer_id"] == 1]), "segment")
    assert len(prof["rows"]) == 2  # customer 1 has two profile rows


def test_downstream_declared_key_restricts_a_same_name_match(store_path):
    """The upstream declares nothing; the downstream declared customer_id: only it is matched,
    not the other shared column whose values differ."""
    up = pd.DataFrame({"customer_id": [1, 2], "note": ["x", "y"]})
    with RunWriter(store_path, run_id="r1") as run:
        run.write("up", up)
        run.write("down", pd.DataFrame({"customer_id": [1, 2], "note": ["changed", "changed"]}),
                  inputs=["up"], keys=["customer_id"])
    result = Store.open(store_path).trace("down", where={"customer_id": 2}).to_dict()
    s = step(result, "up")
    assert s["matched_on"] == ["customer_id"] and s["match_kind"] == "same_name"
    assert s["rows"] == records(up[up["customer_id"] == 2])


def test_untraceable_step_is_kept_with_its_facts(cli, keyed_store):
    out = cli("trace", keyed_store, "decisions", "--where", "account_id=12", "--format", "json").json()
    rates = step(out, "rates")
    assert rates["kind"] == "table" and rates["traceable"] is False
    assert rates["rows"] == [] and rates["matched_on"] == [] and rates["match_kind"] is None
    assert "not traceable by row" in rates["note"]
    meta = sidecar(Path(keyed_store), "r1", "rates")
    assert rates["content_hash"] == meta["content_hash"]
    assert rates["facts"]["num_rows"] == 2 and rates["run_id"] == "r1"

    table = cli("trace", keyed_store, "decisions", "--where", "account_id=12")
    assert table.code == 0
    assert "rates" in table.out and "not traceable by row" in table.out


def test_multi_column_keys_match_exact_combinations(store_path):
    grid = pd.DataFrame({"a": [1, 1, 2, 2], "b": [1, 2, 1, 2], "v": ["11", "12", "21", "22"]})
    down = pd.DataFrame({"a": [1, 2, 3], "b": [2, 1, 3], "grp": ["g", "g", "h"]})
    with RunWriter(store_path, run_id="r1") as run:
        run.write("grid", grid, keys=["a", "b"])
        run.write("down", down, inputs=["grid"])
    result = Store.open(store_path).trace("down", where={"grp": "g"}).to_dict()
    s = step(result, "grid")
    assert s["matched_on"] == ["a", "b"] and s["match_kind"] == "declared"
    wanted = grid.merge(down[down["grp"] == "g"][["a", "b"]], on=["a", "b"])
    # per-column filters alone would also return (1,1) and (2,2)
    assert by(s["rows"], "a", "b") == by(records(wanted), "a", "b")
    assert {r["v"] for r in s["rows"]} == {"12", "21"}


# --------------------------------------------------------------------------- one-to-many, multi-hop


class _Boom:
    def __reduce__(self):
        return (_record_unpickle, ())


UNPICKLED: list[int] = []


def _record_unpickle():
    UNPICKLED.append(1)
    return "unpickled"


@pytest.fixture
def events_store(store_path) -> str:
    rng = np.random.default_rng(3)
    n = 6000
    raw_events = pd.DataFrame({
        "event_id": np.arange(n),
        "customer_id": rng.integers(1, 200, n),
        "amount": np.round(rng.gamma(2.0, 30.0, n), 2),
        "at": pd.date_range("2026-01-01", periods=n, freq="17min", tz="UTC"),
    })
    customers = pd.DataFrame({"customer_id": np.arange(1, 200), "name": [f"c{i}" for i in range(1, 200)]})
    summary = raw_events.groupby("customer_id", as_index=False).agg(total=("amount", "sum"), events=("event_id", "count"))
    loans = pd.DataFrame({"loan_id": np.arange(5000, 5000 + 199), "customer_id": np.arange(1, 200)})
    decisions = loans.merge(summary, on="customer_id")[["loan_id", "total"]]
    decisions["decision"] = np.where(decisions["total"] > 1800, "decline", "approve")
    with RunWriter(store_path, run_id="r1") as run:
        run.write("raw/events", raw_events, format="csv")  # no declared keys; CSV
        run.write("customers", customers, keys=["customer_id"])
        run.write("summary", summary, inputs=["raw/events", "customers"], keys=["customer_id"])
        run.write("loans", loans, inputs=["summary"], keys=["loan_id"])
        run.write("weights", np.arange(12, dtype=np.float32).reshape(3, 4))
        run.write("opaque", _Boom(), format="pickle")
        run.write("decisions", decisions, inputs=["loans", "weights", "opaque"], keys=["loan_id"])
    return store_path


def test_one_to_many_step_returns_every_event_of_the_customer(cli, events_store):
    root = Path(events_store)
    loans = pd.read_parquet(root / "r1" / "loans.parquet")
    loan_id = 5041
    customer = int(loans.loc[loans["loan_id"] == loan_id, "customer_id"].iloc[0])

    res = cli("trace", events_store, "decisions", "--where", f"loan_id={loan_id}", "--format", "json")
    assert res.code == 0, res.err
    out = res.json()
    # decisions(loan_id) -> loans(loan_id, customer_id) -> summary(customer_id) -> raw/events, customers
    assert step(out, "loans")["rows"] == records(loans[loans["loan_id"] == loan_id])
    summary = pd.read_parquet(root / "r1" / "summary.parquet")
    assert step(out, "summary")["rows"] == records(summary[summary["customer_id"] == customer])

    ev = step(out, "raw/events")
    assert ev["matched_on"] == ["customer_id"] and ev["match_kind"] == "same_name"
    events = pd.read_csv(root / "r1" / "raw" / "events.csv")
    expected = events[events["customer_id"] == customer]
    assert len(expected) > 10  # one customer, many events
    assert sorted(r["event_id"] for r in ev["rows"]) == sorted(expected["event_id"].tolist())
    assert sorted(r["amount"] for r in ev["rows"]) == sorted(expected["amount"].tolist())

    cust = step(out, "customers")
    assert cust["match_kind"] == "declared" and [r["name"] for r in cust["rows"]] == [f"c{customer}"]


def test_objects_show_facts_and_pickles_are_never_unpickled(cli, events_store):
    UNPICKLED.clear()
    out = cli("trace", events_store, "decisions", "--where", "loan_id=5003", "--format", "json").json()
    weights = step(out, "weights")
    assert weights["kind"] == "object" and weights["facts"]["array"] == {"shape": [3, 4], "dtype": "float32"}
    opaque = step(out, "opaque")
    assert opaque["kind"] == "object" and opaque["facts"]["format"] == "pickle"
    assert "not unpickled" in opaque["note"]
    assert UNPICKLED == []


def test_where_on_a_timestamp_and_or_of_repeated_values(store_path):
    at = pd.date_range("2026-03-03", periods=5, freq="h", tz="UTC")
    df = pd.DataFrame({"id": [1, 2, 3, 4, 5], "at": at, "x": [0.5, 1.5, 2.5, 3.5, 4.5]})
    with RunWriter(store_path, run_id="r1") as run:
        run.write("t", df)
    store = Store.open(store_path)
    r = store.trace("t", where={"at": "2026-03-03T02:00:00Z"}).to_dict()
    assert r["root"]["rows"] == records(df[df["at"] == at[2]])
    r = store.trace("t", where={"id": ["1", "4"], "x": "3.5"}).to_dict()
    assert r["root"]["rows"] == records(df[df["id"].isin([1, 4]) & (df["x"] == 3.5)])


# --------------------------------------------------------------------------- errors and formats


def test_value_that_matches_nothing_exits_2_with_one_line(cli, demo_path):
    res = cli("trace", demo_path, "scores", "--where", "application_id=1")
    assert res.code == 2
    assert res.out == ""
    assert res.err.strip().count("\n") == 0
    assert "no row of scores" in res.err and "application_id=1" in res.err
    with pytest.raises(NoMatchingRows):
        Store.open(str(demo_path)).trace("scores", where={"application_id": 1})


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--where", "nope=1"], "has no column 'nope'"),
        (["--where", "application_id=abc"], "cannot read 'abc'"),
        (["--where", "application_id"], "COLUMN=VALUE"),
        (["--run", "no-such-run", "--where", "application_id=100005"], "unknown run"),
    ],
)
def test_bad_requests_exit_2(cli, demo_path, argv, message):
    res = cli("trace", demo_path, "scores", *argv)
    assert res.code == 2
    assert message in res.err and "Traceback" not in res.err


def test_root_must_be_a_table(demo_path):
    with pytest.raises(TraceError, match="not a table"):
        Store.open(str(demo_path)).trace("models/credit_risk", where={"x": 1})


def test_markdown_report(cli, demo_path, demo_runs):
    r6 = demo_runs["R6"]
    res = cli("trace", demo_path, "scores", "--where", "application_id=100005", "--format", "markdown")
    assert res.code == 0, res.err
    md = res.out
    assert md.startswith("# Trace of scores where application_id=100005")
    feats = pd.read_parquet(demo_path / r6 / "features.parquet")
    row = feats[feats["application_id"] == 100005].iloc[0]
    header = "| " + " | ".join(feats.columns) + " |"
    assert header in md
    assert f"| 100005 | {row['debt_to_income']} |" in md
    assert md.count("\n## ") == 1 + 5  # the decision and five upstream versions
    assert f"## 2. features (run {r6})" in md or f"## 1. features (run {r6})" in md
    assert "```json" in md  # the model's content


# --------------------------------------------------------------------------- reads only what it needs


def _bytes_read() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io to count bytes read")
def test_trace_reads_a_small_part_of_a_large_clustered_upstream(store_path):
    rng = np.random.default_rng(5)
    n = 700_000  # six row groups of 128 Ki rows
    events = pd.DataFrame({
        "application_id": np.sort(rng.integers(0, 70_000, n)),
        "amount": rng.random(n),
        "noise": rng.integers(0, 2**62, n),
    })
    ids = np.unique(events["application_id"])
    with RunWriter(store_path, run_id="r1") as run:
        run.write("events", events)
        run.write("scores", pd.DataFrame({"application_id": ids, "s": ids % 7}), inputs=["events"])
    size = (Path(store_path) / "r1" / "events.parquet").stat().st_size
    store = Store.open(store_path)
    target = int(ids[len(ids) // 3])

    before = _bytes_read()
    result = store.trace("scores", where={"application_id": target})
    read = _bytes_read() - before

    expected = events[events["application_id"] == target]
    assert sorted(r["noise"] for r in result.step("events").rows) == sorted(expected["noise"].tolist())
    assert pq_row_groups(Path(store_path) / "r1" / "events.parquet") >= 5
    assert read < size / 3, f"read {read} bytes of a {size}-byte upstream file"

    # many entities at once (more than Arrow's isin pruning handles alone): still a small part
    many = [int(i) for i in ids[40_000:40_080]]
    before = _bytes_read()
    result = store.trace("scores", where={"application_id": many})
    read = _bytes_read() - before
    expected = events[events["application_id"].isin(many)]
    assert sorted(r["noise"] for r in result.step("events").rows) == sorted(expected["noise"].tolist())
    assert read < size / 3, f"read {read} bytes of a {size}-byte upstream file for 80 entities"


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io to count bytes read")
def test_unclustered_upstream_reads_the_key_column_and_only_row_groups_with_a_match(store_path):
    """Statistics cannot exclude anything when keys are shuffled: the trace reads the key
    column everywhere but the wide columns only where the entity is."""
    rng = np.random.default_rng(8)
    n = 700_000
    events = pd.DataFrame({
        "application_id": rng.permutation(n),
        "a": rng.integers(0, 2**62, n), "b": rng.integers(0, 2**62, n), "c": rng.integers(0, 2**62, n),
    })
    with RunWriter(store_path, run_id="r1") as run:
        run.write("events", events)
        run.write("scores", pd.DataFrame({"application_id": [5, 6, 7], "s": [1, 2, 3]}), inputs=["events"])
    size = (Path(store_path) / "r1" / "events.parquet").stat().st_size
    store = Store.open(store_path)
    before = _bytes_read()
    result = store.trace("scores", where={"application_id": 6})
    read = _bytes_read() - before
    assert result.step("events").rows == tuple(records(events[events["application_id"] == 6]))
    assert read < size / 2, f"read {read} bytes of a {size}-byte upstream file"


def pq_row_groups(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_row_groups


# --------------------------------------------------------------------------- S3 (moto's server, real s3fs)


@pytest.fixture
def s3_store(capsys):
    import socket

    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                     region_name="us-east-1").create_bucket(Bucket="audit")
        options = {"endpoint_url": endpoint, "key": "test", "secret": "test",
                   "client_kwargs": {"region_name": "us-east-1"}}
        capsys.readouterr()  # the server's start-up banner is not the CLI's output
        yield "s3://audit/store", options, endpoint
    finally:
        server.stop()


def test_trace_on_s3(cli, s3_store):
    url, options, endpoint = s3_store
    raw_old = pd.DataFrame({"customer_id": [1, 2, 2, 3], "amount": [5, 6, 7, 8]})
    raw_new = pd.DataFrame({"customer_id": [1, 2, 3], "amount": [50, 60, 80]})
    with RunWriter(url, storage_options=options, run_id="r1") as run:
        run.write("raw", raw_old, format="csv")
        run.write("scores", pd.DataFrame({"customer_id": [1, 2, 3], "s": [0.1, 0.2, 0.3]}), inputs=["raw"])
    with RunWriter(url, storage_options=options, run_id="r2") as run:
        run.write("raw", raw_new, format="csv")
    res = cli("trace", url, "-o", f"endpoint_url={endpoint}", "-o", "key=test", "-o", "secret=test",
              "scores", "--where", "customer_id=2", "--format", "json")
    assert res.code == 0, res.err
    s = step(res.json(), "raw")
    assert s["run_id"] == "r1" and s["match_kind"] == "same_name"
    assert by(s["rows"], "amount") == records(raw_old[raw_old["customer_id"] == 2])


# --------------------------------------------------------------------------- order


def test_steps_come_after_every_version_that_read_them_in_a_stable_order(demo_path):
    import os
    import subprocess
    import sys

    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        proc = subprocess.run(
            [sys.executable, "-m", "explorer", "trace", str(demo_path), "scores", "--where", "application_id=100007",
             "--format", "json"], capture_output=True, text=True, env=env, check=True)
        outs.append(json.loads(proc.stdout))
    assert outs[0] == outs[1]  # string hashing differs between the two processes

    out = outs[0]
    order = [(out["root"]["asset"], out["root"]["run_id"])] + [(s["asset"], s["run_id"]) for s in out["steps"]]
    for i, (asset, run_id) in enumerate(order):
        # who read this version, according to the sidecars themselves
        readers = [
            (a, r) for a, r in order
            if any(inp["asset"] == asset and inp["run_id"] == run_id for inp in sidecar(demo_path, r, a)["inputs"])
        ]
        assert all(order.index(x) < i for x in readers), (asset, readers)
        if i:
            assert sorted((c["asset"], c["run_id"]) for c in out["steps"][i - 1]["consumers"]) == sorted(readers)


def test_consumed_version_no_longer_in_the_store_and_unreadable_data_are_reported(store_path):
    import shutil

    with RunWriter(store_path, run_id="a") as run:
        run.write("raw", pd.DataFrame({"k": [1, 2]}))
    with RunWriter(store_path, run_id="b") as run:
        run.write("clean", pd.DataFrame({"k": [1, 2], "v": [3, 4]}), keys=["k"])
        run.write("out", pd.DataFrame({"k": [1, 2]}), inputs=[("raw", "a"), "clean"])
    shutil.rmtree(Path(store_path) / "a")  # run a was deleted by retention
    (Path(store_path) / "b" / "clean.parquet").unlink()  # and a data file lost
    result = Store.open(store_path).trace("out", where={"k": 1}).to_dict()
    raw = step(result, "raw")
    assert raw["kind"] == "missing" and raw["run_id"] == "a" and raw["rows"] == []
    assert "no longer in the store" in raw["note"]
    clean = step(result, "clean")
    assert clean["kind"] == "table" and not clean["traceable"] and "missing" in clean["note"]


def test_a_row_from_a_preview_traces_as_is_including_nulls(store_path):
    """A caller (the TUI) hands over a previewed row's own values: numpy ints, pandas
    Timestamps, NaN for missing values."""
    df = pd.DataFrame({"id": [1, 2, 3], "at": pd.date_range("2026-01-01", periods=3, freq="h", tz="UTC"),
                       "x": [1.5, None, 2.5], "s": ["a", None, "c"]})
    with RunWriter(store_path, run_id="r1") as run:
        run.write("t", df)
    store = Store.open(store_path)
    row = store.preview("t").iloc[1].to_dict()
    result = store.trace("t", where=row)
    assert result.root.rows == ({"id": 2, "at": "2026-01-01T01:00:00+00:00", "x": None, "s": None},)
    assert store.trace("t", where={"s": None}).root.rows[0]["id"] == 2


# --------------------------------------------------------------------------- property


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    owners=st.lists(st.integers(0, 6), min_size=1, max_size=12),  # account i belongs to customer owners[i]
    events=st.lists(st.tuples(st.integers(0, 8), st.integers(-50, 50)), max_size=40),  # (customer, amount)
    pick=st.lists(st.integers(0, 11), min_size=1, max_size=3),
)
def test_property_rows_found_at_each_step_are_exactly_the_pandas_joins(tmp_path_factory, owners, events, pick):
    path = str(tmp_path_factory.mktemp("prop") / "store")
    accounts = pd.DataFrame({"acct": np.arange(len(owners), dtype=np.int64), "cust": np.array(owners, dtype=np.int64)})
    ev = pd.DataFrame({"cust": np.array([c for c, _ in events], dtype=np.int64),
                       "amount": np.array([a for _, a in events], dtype=np.int64)})
    ev["event_id"] = np.arange(len(ev), dtype=np.int64)
    decisions = accounts[["acct"]].assign(d=accounts["acct"] % 2)
    with RunWriter(path, run_id="r1") as run:
        run.write("events", ev)
        run.write("accounts", accounts, inputs=["events"], keys=["acct"])
        run.write("decisions", decisions, inputs=["accounts"], keys=["acct"])
    chosen = sorted({p % len(owners) for p in pick})
    result = Store.open(path).trace("decisions", where={"acct": chosen}).to_dict()

    acc_truth = accounts[accounts["acct"].isin(chosen)]
    ev_truth = ev.merge(acc_truth[["cust"]].drop_duplicates(), on="cust")
    assert by(step(result, "accounts")["rows"], "acct") == by(records(acc_truth), "acct")
    assert by(step(result, "events")["rows"], "event_id") == by(records(ev_truth), "event_id")
