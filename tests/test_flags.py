"""Flags: append-only round trip, taint propagation, concurrent flaggers, CLI."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from catalogue_support import R1, R2, R3, R4, R5, lineage_store, moto_endpoint, writable_store  # noqa: F401

from explorer import Store
from explorer.errors import ExplorerError, UnknownRun
from explorer.format import FLAGS_DIR
from explorer.store import flags as flagmod
from explorer.store.fs import open_fs


def flag_files(store_path: str) -> list[Path]:
    folder = Path(store_path) / FLAGS_DIR
    return sorted(folder.glob("*.json")) if folder.exists() else []


def test_flag_unflag_round_trip_is_append_only(writable_store, monkeypatch):
    monkeypatch.setenv("FRONTIER_EXPLORE_AUTHOR", "ana")
    store = Store.open(writable_store)
    assert store.flagged() == set()
    store.flag("features", R2, reason="duplicated rows")
    assert store.flagged() == {("features", R2)}

    # a fresh reader sees exactly what was written
    fs, root = open_fs(writable_store)
    (flag,) = flagmod.read_flags(fs, root)
    assert (flag.action, flag.asset, flag.run_id, flag.author, flag.reason) == (
        "flag", "features", R2, "ana", "duplicated rows")
    files = flag_files(writable_store)
    assert len(files) == 1
    doc = json.loads(files[0].read_text())
    assert doc["reason"] == "duplicated rows" and doc["author"] == "ana"

    monkeypatch.setenv("FRONTIER_EXPLORE_AUTHOR", "ben")
    store.unflag("features", R2, reason="false alarm")
    assert store.flagged() == set()
    assert Store.open(writable_store).flagged() == set()
    after = flag_files(writable_store)
    assert len(after) == 2 and files[0] in after  # the flag is still there: a retraction was added
    assert json.loads(files[0].read_text()) == doc  # untouched
    history = flagmod.read_flags(fs, root)
    assert [(f.action, f.author, f.reason) for f in history] == [
        ("flag", "ana", "duplicated rows"), ("unflag", "ben", "false alarm")]

    store.flag("features", R2, reason="it was real after all")
    assert Store.open(writable_store).flagged() == {("features", R2)}
    assert len(flag_files(writable_store)) == 3


def test_a_store_opened_read_only_refuses_flags_also_after_refresh(writable_store):
    from explorer.errors import ReadOnlyStore

    store = Store.open(writable_store, cache=False, read_only="served read-only")
    for attempt in (lambda: store.flag("features", R2, reason="x"), lambda: store.refresh().flag("features", R2, reason="x")):
        with pytest.raises(ReadOnlyStore, match="served read-only"):
            attempt()
    with pytest.raises(ReadOnlyStore, match="opened read-only"):
        Store.open(writable_store, cache=False, read_only=True).unflag("features", R2, reason="x")
    assert flag_files(writable_store) == []
    Store.open(writable_store, cache=False).flag("features", R2, reason="x")  # the store itself stays writable
    assert len(flag_files(writable_store)) == 1


def test_author_falls_back_to_login_name(monkeypatch):
    monkeypatch.delenv("FRONTIER_EXPLORE_AUTHOR", raising=False)
    monkeypatch.setenv("USER", "carol")
    assert flagmod.default_author() == "carol"
    monkeypatch.delenv("USER")
    monkeypatch.setenv("LOGNAME", "dave")
    assert flagmod.default_author() == "dave"


def test_taint_propagates_to_everything_built_from_a_flagged_version(writable_store):
    store = Store.open(writable_store)
    store.flag("raw", R2, reason="bad extract")
    # hand-built from the story: raw@R2 -> parts@R2, features@R2 -> model@R3 -> scores@R3, scores@R4
    expected = {("raw", R2), ("parts", R2), ("features", R2), ("model", R3), ("scores", R3), ("scores", R4)}
    assert set(store.tainted()) == expected
    assert all(src == frozenset({("raw", R2)}) for src in store.tainted().values())
    assert store.flagged() == {("raw", R2)}  # only the flag itself, for the staleness module


def test_assets_shows_tainted(cli, writable_store):
    store = Store.open(writable_store)
    store.flag("features", R2, reason="bad")
    res = cli("assets", writable_store, "--format", "json")
    assert res.code == 0, res.err
    tainted = {r["asset"]: r["tainted"] for r in res.json()}
    # latest versions: raw@R5, bureau@R1, features@R4, model@R3 (tainted), scores@R4 (tainted)
    assert tainted == {"raw": False, "bureau": False, "features": False, "model": True, "scores": True, "parts": False}
    res = cli("assets", writable_store)
    assert res.code == 0 and "tainted" in res.out


def test_flags_are_not_read_when_opening(writable_store):
    """Opening costs no flag reads: a broken flag object is reported only once flags are asked for."""
    folder = Path(writable_store) / FLAGS_DIR
    folder.mkdir()
    (folder / "20260101T000000000000Z-broken.json").write_text("{not json")
    store = Store.open(writable_store)
    assert not any(FLAGS_DIR in w for w in store.warnings)
    assert store.flagged() == set()
    assert any(FLAGS_DIR in w for w in store.warnings)


def test_flag_cli(cli, writable_store, monkeypatch):
    monkeypatch.setenv("FRONTIER_EXPLORE_AUTHOR", "erin")
    res = cli("flag", writable_store, "model", R3, "--reason", "trained on bad data")
    assert res.code == 0, res.err
    assert "flagged model" in res.out and "2 versions built from it" in res.out  # scores@R3, scores@R4
    res = cli("flags", writable_store, "--format", "json")
    assert [(f["asset"], f["run_id"], f["author"]) for f in res.json()] == [("model", R3, "erin")]
    res = cli("unflag", writable_store, "model", R3, "--reason", "ok", "--format", "json")
    assert res.code == 0 and res.json()["action"] == "unflag"
    assert cli("flags", writable_store, "--format", "json").json() == []
    assert len(cli("flags", writable_store, "--all", "--format", "json").json()) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["flag", "{s}", "model", R2, "--reason", "x"], "holds no version"),
        (["flag", "{s}", "nope", R1, "--reason", "x"], "unknown asset"),
        (["flag", "{s}", "model", R1, "--reason", "  "], "needs a reason"),
        (["unflag", "{s}", "model", R1, "--reason", "x"], "not flagged"),
    ],
)
def test_flag_cli_errors(cli, writable_store, argv, message):
    res = cli(*[a.format(s=writable_store) for a in argv])
    assert res.code == 2 and message in res.err and "Traceback" not in res.err
    assert flag_files(writable_store) == []


def test_flag_needs_a_reason_argument(cli, writable_store):
    with pytest.raises(SystemExit) as exc:
        cli("flag", writable_store, "model", R1)
    assert exc.value.code == 2


def test_store_flag_validates_the_version(writable_store):
    store = Store.open(writable_store)
    with pytest.raises(UnknownRun):
        store.flag("model", R5, reason="x")
    with pytest.raises(ExplorerError):
        store.unflag("raw", R1, reason="x")


def _flag_many(args) -> int:
    path, worker, n = args
    os.environ["FRONTIER_EXPLORE_AUTHOR"] = f"worker{worker}"
    fs, root = open_fs(path)
    for i in range(n):
        asset, run = [("raw", R1), ("raw", R2), ("features", R1), ("model", R3)][i % 4]
        flagmod.write_flag(fs, root, asset, run, f"w{worker}-{i}")
    return n


def test_concurrent_flaggers_lose_nothing(writable_store):
    workers, per = 4, 12
    # fork is fast; but never fork a process running other threads (a moto server): forkserver
    ctx = multiprocessing.get_context("fork" if threading.active_count() == 1 else "forkserver")
    with ctx.Pool(workers) as pool:
        written = pool.map(_flag_many, [(writable_store, w, per) for w in range(workers)])
    # and threads in this process at the same time as nothing else: same folder, same second
    with ThreadPoolExecutor(4) as ex:
        written += list(ex.map(_flag_many, [(writable_store, 10 + w, per) for w in range(4)]))
    total = sum(written)
    fs, root = open_fs(writable_store)
    flags = flagmod.read_flags(fs, root)
    assert len(flags) == total == len(flag_files(writable_store))
    assert len({f.id for f in flags}) == total
    assert sorted(f.reason for f in flags) == sorted(f"w{w}-{i}" for w in [*range(4), *range(10, 14)] for i in range(per))
    assert Store.open(writable_store).flagged() == {("raw", R1), ("raw", R2), ("features", R1), ("model", R3)}
    assert not list((Path(writable_store) / FLAGS_DIR).glob("*.tmp"))


def test_flags_on_s3_from_several_threads(moto_endpoint):
    """Flags on S3 through s3fs: threads flagging at once lose nothing; another reader sees them."""
    from catalogue_support import build_store, make_bucket, s3_options

    make_bucket(moto_endpoint, "catalogue-flags")
    url, opts = "s3://catalogue-flags/store", s3_options(moto_endpoint)
    build_store(url, opts, runs=2)
    store = Store.open(url, opts)
    assert store.flagged() == set()  # listing a folder that does not exist yet

    def flag(i: int):
        s = Store.open(url, opts)
        return s.flag("raw" if i % 2 else "features", R1 if i < 3 else R2, reason=f"t{i}", author=f"a{i}")

    with ThreadPoolExecutor(6) as ex:
        written = list(ex.map(flag, range(6)))
    fs, root = open_fs(url, opts)
    flags = flagmod.read_flags(fs, root)
    assert sorted(f.id for f in flags) == sorted(f.id for f in written)
    reader = Store.open(url, opts)
    assert reader.flagged() == {("raw", R1), ("features", R1), ("raw", R2), ("features", R2)}
    assert ("scores", R1) in reader.tainted()  # scores@R1 <- features@R1
    reader.unflag("raw", R2, reason="ok")
    assert Store.open(url, opts).flagged() == {("raw", R1), ("features", R1), ("features", R2)}
