"""Fuzzing the data files (not only the manifests): a version's bytes truncated, replaced by
random bytes, or kept with a valid header and a random tail never make ``show``, ``diff``,
``history``, ``trace`` or ``sql`` fail with anything but one line and exit 2 (or answer), and the
library raises only the project's own errors for them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer import RunWriter, Store
from explorer.errors import ExplorerError

RUNS = ("20260101T000000Z-a", "20260102T000000Z-b")


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory) -> tuple[Path, dict[tuple[str, str], str]]:
    """Two runs of a small pipeline in every data format the writer has:
    (root, {(asset, run): data path})."""
    root = tmp_path_factory.mktemp("fuzzdata") / "store"
    paths = {}
    for i, rid in enumerate(RUNS):
        orders = pd.DataFrame({"id": range(1, 9), "amount": [float(x * (i + 1)) for x in range(8)],
                               "region": list("nsewnsew")})
        with RunWriter(str(root), run_id=rid, job="etl") as run:
            for key, value, kw in (
                ("orders", orders, {"keys": ["id"]}),
                ("regions", pd.DataFrame({"region": list("nsew"), "name": ["north", "south", "east", "west"]}),
                 {"format": "csv", "keys": ["region"]}),
                ("config", {"threshold": 0.5 + i, "tags": ["a", "b"]}, {}),
                ("weights", np.arange(12, dtype="float64").reshape(3, 4) * (i + 1), {}),
                ("blob", bytes(range(64)) * (i + 1), {}),
                ("parts", orders, {"format": "directory", "partition_by": ["region"]}),
            ):
                paths[(key, rid)] = run.write(key, value, **kw).data_path
            scores = orders[["id"]].assign(score=[x / 10 for x in range(8)])
            paths[("scores", rid)] = run.write("scores", scores, keys=["id"],
                                               inputs=["orders", "regions", "config", "weights"]).data_path
    return root, paths


def _files(root: Path, data_path: str) -> list[Path]:
    p = root / data_path
    return sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]


damage = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 0.999)),
    st.tuples(st.just("random"), st.binary(max_size=400)),
    st.tuples(st.just("random tail"), st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=200))),
)


def _damaged(original: bytes, how) -> bytes:
    kind, arg = how
    if kind == "truncate":
        return original[: int(len(original) * arg)]
    if kind == "random":
        return arg
    keep, tail = arg
    return original[: max(8, int(len(original) * keep))] + tail  # the magic bytes stay: the reader gets further


def _one_line_error(r) -> bool:
    lines = r.err.splitlines()
    return (r.code == 2 and len([x for x in lines if x.startswith("frontier-explore: error:")]) == 1
            and "internal error" not in r.err and "Traceback" not in r.err + r.out)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), how=damage)
def test_damaged_data_files_give_one_line_errors(fuzz_store, cli, data, how):
    root, paths = fuzz_store
    asset, rid = data.draw(st.sampled_from(sorted(paths)), label="version")
    target = data.draw(st.sampled_from(_files(root, paths[(asset, rid)])), label="file")
    original = target.read_bytes()
    target.write_bytes(_damaged(original, how))
    try:
        commands = [
            ("show", asset, "--run", rid),
            ("show", asset, "--run", rid, "--format", "json"),
            ("diff", asset, RUNS[0], RUNS[1]),
            ("diff", asset, RUNS[0], RUNS[1], "--format", "json"),
            ("history", asset),
            ("trace", "scores", "--run", rid, "--where", "id=3"),
            ("sql", f'select count(*) as n from "{asset}@{rid}"'),
            ("sql", f"select * from {asset} limit 3", "--format", "json"),
        ]
        for args in commands:
            r = cli(args[0], root, *args[1:])
            assert r.code in (0, 1) or _one_line_error(r), (args, r.code, r.err)
            assert "Traceback" not in r.err + r.out, args
        # the library: only the project's own errors
        store = Store.open(str(root))
        for call in (lambda: store.preview(asset, rid), lambda: store.load(asset, rid),
                     lambda: store.diff(asset, RUNS[0], RUNS[1]), lambda: store.history(asset),
                     lambda: store.trace("scores", rid, where={"id": 3}),
                     lambda: store.sql(f'select * from "{asset}@{rid}"')):
            try:
                call()
            except ExplorerError as exc:
                assert "\n" not in str(exc).strip()
    finally:
        target.write_bytes(original)


@pytest.mark.parametrize("asset", ["weights", "config", "regions", "orders"])
@pytest.mark.parametrize("keep", [20, 0.5])
def test_bytes_quoted_from_a_damaged_file_cannot_break_the_error_line(fuzz_store, cli, asset, keep):
    """Part of the file followed by a newline and a terminal escape: the error is still one line,
    with the control characters escaped (the CSV reader quotes the bad line; numpy's header
    parser fails in its tokenizer)."""
    root, paths = fuzz_store
    target = root / paths[(asset, RUNS[1])]
    original = target.read_bytes()
    cut = keep if isinstance(keep, int) else int(len(original) * keep)
    target.write_bytes(original[:cut] + b"\n\x1b[31mRED\x00\r\nsecond line")
    try:
        for args in (("show", asset), ("diff", asset, RUNS[0], RUNS[1]), ("sql", f"select * from {asset}")):
            r = cli(args[0], root, *args[1:])
            assert r.code in (0, 1) or _one_line_error(r), (args, r.err)
            if r.code == 2:
                assert r.err.count("\n") == 1 and "\x1b" not in r.err and "\x00" not in r.err and "\r" not in r.err
    finally:
        target.write_bytes(original)


def test_the_undamaged_store_answers_every_command(fuzz_store, cli):
    """Control: the same commands succeed on the intact store, so errors above come from the damage."""
    root, paths = fuzz_store
    for asset in sorted({a for a, _ in paths}):
        for args in (("show", asset, "--run", RUNS[0]), ("diff", asset, RUNS[0], RUNS[1]), ("history", asset)):
            r = cli(args[0], root, *args[1:])
            assert r.code in (0, 1), (args, r.err)
    assert cli("trace", root, "scores", "--where", "id=3").code == 0
    r = cli("sql", root, f'select count(*) as n from "orders@{RUNS[0]}"', "--format", "json")
    assert r.code == 0 and r.json() == [{"n": 8}]
