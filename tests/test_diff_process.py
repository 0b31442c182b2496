"""What a diff process costs beyond its queries: sample rows converted without pandas (the
same values pyarrow gives), and wide tables' statistics read once."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from explorer import RunWriter, Store
from explorer.diff.table import plain_rows

ZONES = ["UTC", "US/Eastern", "Asia/Tokyo", "Europe/London", "Etc/GMT+5", "Australia/Lord_Howe"]
MICROS = [0, None, 1_700_000_000_123_456, -2_524_000_000_000_000, 1_711_846_800_000_000, 1_730_592_000_000_000]


@pytest.mark.parametrize("unit,per", [("s", 1_000_000), ("ms", 1000), ("us", 1)])
def test_plain_rows_are_pyarrows_own_values(unit, per):
    """Across zones (DST edges included), units and nulls: equal to ``to_pylist``, the same zone objects."""
    cols = {tz: pa.array([None if v is None else v // per for v in MICROS], pa.timestamp(unit, tz=tz)) for tz in ZONES}
    cols["naive"] = pa.array([None if v is None else v // per for v in MICROS], pa.timestamp(unit))
    cols["n"] = pa.array([1, None, 3, 4, 5, 6])
    cols["s"] = pa.array(["a", "b", None, "d", "e", "f"])
    table = pa.table(cols)
    mine, theirs = plain_rows(table), table.to_pylist()
    assert mine == theirs
    for a, b in zip(mine, theirs):
        for k in ZONES:
            if a[k] is not None:
                assert a[k].tzinfo == b[k].tzinfo and a[k].utcoffset() == b[k].utcoffset()


def test_plain_rows_edge_cases():
    far = pa.table({"t": pa.array([253_402_300_799], pa.timestamp("s", tz="Asia/Tokyo"))})
    with pytest.raises(OverflowError):  # beyond datetime's range in that zone: as pyarrow says it
        far.to_pylist()
    with pytest.raises(OverflowError):
        plain_rows(far)
    fixed = pa.table({"t": pa.array([0], pa.timestamp("us", tz="+05:30"))})
    assert plain_rows(fixed) == fixed.to_pylist()
    empty = pa.table({"t": pa.array([], pa.timestamp("us", tz="UTC")), "x": pa.array([], pa.int64())})
    assert plain_rows(empty) == []


def test_a_diff_process_with_zoned_timestamps_never_imports_pandas(tmp_path):
    url = str(tmp_path / "s")
    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
    stamps = [t0 + timedelta(hours=h) for h in range(5)]
    a = pa.table({"id": [1, 2, 3, 4, 5], "at": pa.array(stamps, pa.timestamp("us", tz="UTC")), "v": [1, 2, 3, 4, 5]})
    b = pa.table({"id": [1, 2, 3, 4, 6], "at": pa.array(stamps[:3] + [stamps[3] + timedelta(minutes=1), stamps[4]],
                                                         pa.timestamp("us", tz="UTC")), "v": [1, 2, 3, 4, 6]})
    for i, t in enumerate((a, b), 1):
        with RunWriter(url, job="j", run_id=f"r{i}", started_at=t0 + timedelta(days=i)) as run:
            run.write("t", t)
    code = ("import sys, json; from explorer.cli import main; "
            f"rc = main(['diff', {url!r}, 't', 'r1', 'r2', '--key', 'id', '--format', 'json']); "
            "print(json.dumps({'pandas': 'pandas' in sys.modules, 'rc': rc}), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    facts = json.loads(done.stderr.strip().splitlines()[-1])
    assert facts == {"pandas": False, "rc": 0}
    out = json.loads(done.stdout)
    # the same answer in process (where pandas may be loaded), and the shown instants are the written ones
    assert out == json.loads(json.dumps(Store.open(url).diff("t", "r1", "r2", keys=["id"]).to_dict(), default=str))
    samples = out["samples"]
    assert [r["changes"]["at"] for r in samples["changed"] if "at" in r["changes"]] == [
        {"from": stamps[3].isoformat(), "to": (stamps[3] + timedelta(minutes=1)).isoformat()}]
    assert [r["at"] for r in samples["added"]] == [stamps[4].isoformat()]
    assert [r["at"] for r in samples["removed"]] == [stamps[4].isoformat()]


def test_wide_diff_statistics_are_each_columns_own(tmp_path):
    """A 300-column diff: every column's A and B statistics are the sidecar's for that column."""
    url = str(tmp_path / "s")
    cols = {"id": list(range(20))}
    cols.update({f"c{i}": [i * 100 + r for r in range(20)] for i in range(300)})
    a = pa.table(cols)
    b = a.set_column(5, "c4", pa.array([v + 1 for v in cols["c4"]]))
    for i, t in enumerate((a, b), 1):
        with RunWriter(url, job="j", run_id=f"r{i}") as run:
            run.write("t", t)
    store = Store.open(url)
    d = store.diff("t", "r1", "r2", keys=["id"]).table
    assert d.columns_changed == {"c4": 20}
    for run_id, side in (("r1", "a"), ("r2", "b")):
        info = {c.name: c for c in store.version("t", run_id).table.columns}
        for name, pair in d.stats.items():
            facts = getattr(pair, side)
            assert (facts.min, facts.max, facts.null_count) == (info[name].min, info[name].max, info[name].null_count)
    assert d.stats["c4"].b.min == cols["c4"][0] + 1 and d.stats["c7"].a.max == 719


RECORD_QUERIES = [
    "SELECT true AS b, 1::TINYINT AS i1, 18446744073709551615::UBIGINT AS u, 1.1::FLOAT AS f, 'nan'::DOUBLE AS n, "
    "-0.0::DOUBLE AS z, 'x' AS s, 'a\\x00'::BLOB AS bl, 1.50::DECIMAL(10,2) AS d, DATE '2024-02-29' AS dt, "
    "TIME '23:59:59.999999' AS tm, TIMESTAMP '2024-01-01 01:02:03.456789' AS ts, TIMESTAMP_S '2024-01-01 00:00:01' AS tss, "
    "TIMESTAMP_MS '2024-01-01 00:00:01.123' AS tms, TIMESTAMPTZ '1901-01-01 00:00:00.5+00' AS tz",
    "SELECT NULL::DOUBLE AS n, NULL::TIMESTAMPTZ AS tz, NULL::DECIMAL(38,10) AS d, NULL::VARCHAR AS s",
    "SELECT INTERVAL 1 MONTH AS iv, MAP {1: 2} AS m, 1::HUGEINT AS h, '00000000-0000-0000-0000-000000000001'::UUID AS u, "
    "TIMESTAMP_NS '2024-01-01 00:00:00.123456789' AS ns, [1, 2] AS l, {'x': 1} AS st",
    "SELECT * FROM range(3) t(i)",
]


@pytest.mark.parametrize("query", RECORD_QUERIES)
def test_sample_rows_fetched_by_duckdb_are_pyarrows_values(tmp_path, query):
    """The diff's sample rows, fetched by DuckDB itself where it can: the same objects (type, value,
    zone) as pyarrow's conversion of the same result, for every type; the others through Arrow."""
    from explorer.diff.table import Session

    url = str(tmp_path / "s")
    with RunWriter(url, job="j", run_id="r1") as run:
        run.write("t", pa.table({"id": [1]}))
    store = Store.open(url)
    with Session(store, [store.version("t", "r1")]) as s:
        mine, theirs = s.records(query, "t"), plain_rows(s.arrow(query, "t"))
    assert repr(mine) == repr(theirs)  # (repr: NaN is not equal to itself; types and zones shown)


@pytest.mark.parametrize("value", ["'infinity'::TIMESTAMP", "'-infinity'::DATE", "'infinity'::TIMESTAMPTZ",
                                   "TIMESTAMP '20000-01-01'", "TIMESTAMP_MS '-0100-01-01'"])
def test_sample_rows_beyond_datetimes_range_fail_as_before(tmp_path, value):
    """DuckDB fetches an infinity as the largest datetime and a far date as text; pyarrow raises:
    such rows go through Arrow, as they did, and are not shown as a date they are not."""
    from explorer.diff.table import Session

    url = str(tmp_path / "s")
    with RunWriter(url, job="j", run_id="r1") as run:
        run.write("t", pa.table({"id": [1]}))
    store = Store.open(url)
    with Session(store, [store.version("t", "r1")]) as s, pytest.raises(OverflowError):
        s.records(f"SELECT 1 AS i, {value} AS t", "t")
