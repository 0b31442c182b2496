"""The run log: every writer registers the runs it creates under ``_frontier_runs/``, and a
checkpoint records a log mark, so that a cold open of a store with both reads the checkpoint and
the registrations after its mark instead of listing the store's root (on S3, 1,000 run prefixes
a page). On S3 (moto's server) the requests are counted; the truth is the set of runs each test
wrote, and a full listing's open of the same store."""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from s3_support import RequestCounter, bucket, moto_endpoint, s3_fs  # noqa: F401 - fixtures

from explorer import RunWriter, Store
from explorer import format as fmt
from explorer.dagster.manifest import consolidate_run, mark_run_status
from explorer.store import checkpoint
from explorer.store.fs import open_fs
from explorer.store.writer import register_run

BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)
OLD = 35  # runs before the checkpoint (more than checkpoint.USE_FROM)


def _run(url, opts, i, finish=True, run_id=None):
    """Run i (a writer's time-sortable id unless given): two versions; returns (id, what it wrote)."""
    run_id = run_id or f"{(BASE + timedelta(hours=i)):%Y%m%dT%H%M%SZ}-r{i:03d}"
    w = RunWriter(url, job="etl", run_id=run_id, storage_options=opts, started_at=BASE + timedelta(hours=i)).start()
    raw = w.write("raw", {"batch": i})
    feats = w.write("features", {"of": i}, inputs=["raw"])
    if finish:
        w.finish()
    return run_id, {(v.asset, v.run_id): v.content_hash for v in (raw, feats)}


def _uuid_id() -> str:
    """A run id as Dagster makes them (the IO manager's prefixes), sorting before every writer's id."""
    return "0" + str(uuid.uuid4())[1:]


def _seen(store: Store) -> dict:
    return {k: v.content_hash for k, v in store.index.versions.items()}


def _root_listed(count: RequestCounter, root_key: str) -> bool:
    """Whether a LIST of the store's root (its run prefixes) was sent."""
    return any(kind == "LIST" and f"prefix={root_key}%2F&" in url.replace("/&", "%2F&") for kind, url in count.log)


def _lists(count: RequestCounter) -> list[str]:
    return [url.split("prefix=")[1].split("&")[0] for kind, url in count.log if kind == "LIST"]


@pytest.fixture
def s3_store(moto_endpoint, bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(tmp_path / "cache"))
    return f"s3://{bucket}/store", {"endpoint_url": moto_endpoint}


def test_writers_register_each_run_once_and_the_marker_says_so(tmp_path):
    url = str(tmp_path / "store")
    ids = [_run(url, {}, i)[0] for i in range(3)]
    ids.append(mark_run_status(url, _uuid_id(), "failed").run_id)  # the failure hook, first for its run
    ids.append(consolidate_run(url, _uuid_id(), "success").run_id)  # finish_run of a run the IO manager never saw
    consolidate_run(url, ids[3], "failed")  # not its first manifest: no second registration
    names = sorted(os.listdir(tmp_path / "store" / fmt.RUN_LOG_DIR))
    assert sorted(fmt.parse_run_log_name(n)[1] for n in names) == sorted(ids)
    assert names == sorted(names, key=lambda n: n.split("--")[0])  # (names sort by registration time)
    marker = json.loads((tmp_path / "store" / fmt.STORE_MARKER).read_text())
    assert marker["run_log"] is True
    assert fmt.RUN_LOG_DIR not in {r.run_id for r in Store.open(url, cache=False).runs}


def test_cold_open_through_checkpoint_and_log_lists_no_root(s3_store):
    url, opts = s3_store
    written: dict = {}
    for i in range(OLD):
        written.update(_run(url, opts, i)[1])
    unfinished_id, part = _run(url, opts, OLD, finish=False)  # running when the checkpoint is made
    written.update(part)
    made = Store.open(url, opts, cache=False).checkpoint().written
    assert made.log_mark is not None and made.pending == (unfinished_id,)
    RunWriter.join(url, unfinished_id, storage_options=opts).finish()  # finished after the checkpoint
    newer = []
    for i in range(OLD + 1, OLD + 4):
        run_id, part = _run(url, opts, i)
        newer.append(run_id)
        written.update(part)
    dagster_like, part = _run(url, opts, OLD + 4, run_id=_uuid_id())  # sorts before every run of the checkpoint
    newer.append(dagster_like)
    written.update(part)
    assert dagster_like < min(made.manifests)

    fs = s3_fs(opts["endpoint_url"])
    root_key = url.removeprefix("s3://").split("/", 1)[1]
    for cache in (False, True):  # build_index's path and the Indexer's with an empty cache
        with RequestCounter(fs) as count:
            store = Store.open(url, opts, cache=cache)
            assert _seen(store) == written
            assert {r.run_id: r.status for r in store.runs} == {r: "success" for r in {k[1] for k in written}}
        # the marker, the checkpoints' listing, the checkpoint, the log after its mark, then one
        # GET per run it does not hold (the newer ones, and the one unfinished in it): no root listing
        assert dict(count.counts) == {"GET": 1 + 1 + len(newer) + 1, "LIST": 2}, count.log
        assert not _root_listed(count, root_key)
        assert sorted(_lists(count)) == sorted([f"{root_key}%2F{fmt.CHECKPOINTS_DIR}%2F",
                                                f"{root_key}%2F{fmt.RUN_LOG_DIR}%2F"])
    full = Store.open(url, opts, cache=False, full_listing=True)
    assert _seen(full) == written
    with RequestCounter(fs) as count:  # a warm open lists the root (it tells which runs left)
        assert _seen(Store.open(url, opts)) == written
        assert dict(count.counts) == {"LIST": 1}


def test_a_store_without_run_log_in_its_marker_lists_its_root(s3_store):
    url, opts = s3_store
    written: dict = {}
    for i in range(OLD):
        written.update(_run(url, opts, i)[1])
    fs, root = open_fs(url, opts)
    old_marker = {"format": fmt.STORE_KIND, "format_version": fmt.BASE_VERSION}  # as older versions wrote it
    fs.pipe_file(f"{root}/{fmt.STORE_MARKER}", json.dumps(old_marker).encode())
    made = Store.open(url, opts, cache=False).checkpoint().written
    assert made.log_mark is None  # no promise about the log: no mark
    newer, part = _run(url, opts, OLD + 1, run_id=_uuid_id())
    written.update(part)
    with RequestCounter(s3_fs(opts["endpoint_url"])) as count:
        store = Store.open(url, opts, cache=False)
        assert _seen(store) == written
    assert _root_listed(count, root.split("/", 1)[1])
    # the marker (no run_log: the root is listed), the root, the checkpoints' listing, the
    # checkpoint, the newer run
    assert dict(count.counts) == {"GET": 3, "LIST": 2}


def test_a_registration_by_a_clock_behind_within_the_margin_is_found(tmp_path):
    url = str(tmp_path / "store")
    fs, root = open_fs(url)
    for i in range(OLD):
        _run(url, {}, i)
    started = datetime.now(timezone.utc)
    made = checkpoint.write(fs, root).written
    late, _ = _run(url, {}, OLD + 1, run_id=_uuid_id())
    very_late, _ = _run(url, {}, OLD + 2, run_id=_uuid_id())
    log = tmp_path / "store" / fmt.RUN_LOG_DIR
    for name in os.listdir(log):
        if fmt.parse_run_log_name(name)[1] in (late, very_late):
            os.remove(log / name)  # as machines whose clocks are behind would have named them:
    register_run(fs, root, late, datetime.now(timezone.utc) - fmt.RUN_LOG_MARGIN + timedelta(minutes=1))
    register_run(fs, root, very_late, started - fmt.RUN_LOG_MARGIN - timedelta(minutes=1))  # beyond the margin
    assert fmt.run_log_name(late, datetime.now(timezone.utc) - fmt.RUN_LOG_MARGIN) > made.log_mark
    for cache in (False, True):
        found = {r.run_id for r in Store.open(url, cache=cache).runs}
        assert late in found and len(found) == OLD + 1
        assert very_late not in found  # the limit the margin sets, documented
    assert {r.run_id for r in Store.open(url, cache=False, full_listing=True).runs} == found | {very_late}


def test_a_damaged_log_entry_is_named_and_the_root_listed(s3_store, cli):
    url, opts = s3_store
    ids = {_run(url, opts, i)[0] for i in range(OLD)}
    Store.open(url, opts, cache=False).checkpoint()
    ids.add(_run(url, opts, OLD + 1, run_id=_uuid_id())[0])
    fs, root = open_fs(url, opts)
    fs.pipe_file(f"{root}/{fmt.RUN_LOG_DIR}/zz-not-a-registration\x1b[31m", b"")
    fs.pipe_file(f"{root}/{fmt.RUN_LOG_DIR}/29990101T000000000000Z--_reserved", b"")
    with RequestCounter(s3_fs(opts["endpoint_url"])) as count:
        store = Store.open(url, opts, cache=False)
        assert {r.run_id for r in store.runs} == ids
    # the marker, the checkpoints' listing, the checkpoint, the log, the root; the newer run
    # (the checkpoint already read is used: not read twice)
    assert dict(count.counts) == {"GET": 3, "LIST": 3}
    named = [w for w in store.warnings if fmt.RUN_LOG_DIR in w]
    assert len(named) == 1 and "2 entries" in named[0] and "zz-not-a-registration" in named[0]
    assert "\x1b" not in named[0] and "root is listed" in named[0]
    res = cli("runs", url, "-o", f"endpoint_url={opts['endpoint_url']}", "--no-cache", "-f", "json")
    assert res.code == 0 and "Traceback" not in res.err and fmt.RUN_LOG_DIR in res.err
    assert {r["run_id"] for r in json.loads(res.out)} == ids


def test_a_run_that_cannot_be_registered_is_still_written_and_found(tmp_path, caplog):
    url = str(tmp_path / "store")
    fs, root = open_fs(url)
    ids = {_run(url, {}, i)[0] for i in range(OLD)}
    checkpoint.write(fs, root)
    log = tmp_path / "store" / fmt.RUN_LOG_DIR
    for name in os.listdir(log):
        os.remove(log / name)
    log.rmdir()
    log.write_bytes(b"")  # a file where the log's folder should be: no registration can be written
    unlogged, _ = _run(url, {}, OLD + 1, run_id=_uuid_id())
    ids.add(unlogged)
    assert "could not be registered" in caplog.text
    assert json.loads((tmp_path / "store" / fmt.STORE_MARKER).read_text())["run_log"] is False
    for cache in (False, True):
        assert {r.run_id for r in Store.open(url, cache=cache).runs} == ids  # the root is listed again


def test_runs_written_while_checkpoints_are_written_are_all_found(s3_store):
    """Two writers create runs (Dagster-like ids, in any order) while checkpoints are written
    with no clock margin at all (one machine): the race between a listing and a registration
    itself. Every run is found by a later cold open through the newest checkpoint."""
    url, opts = s3_store
    ids = {_run(url, opts, i)[0] for i in range(OLD)}
    fs, root = open_fs(url, opts)
    checkpoint.write(fs, root, margin=timedelta(0))
    created: list[str] = []
    stop = threading.Event()

    def writer(k: int) -> None:
        for i in range(6):
            created.append(_run(url, opts, 100 + 10 * k + i, run_id=_uuid_id(), finish=i % 3 != 2)[0])

    def checkpoints() -> None:
        while not stop.is_set():
            checkpoint.write(*open_fs(url, opts), margin=timedelta(0))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    ck = threading.Thread(target=checkpoints)
    ck.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    ck.join()
    ids.update(created)
    newest = checkpoint.newest(fs, root, [])
    assert newest.log_mark is not None
    for cache in (False, True):
        store = Store.open(url, opts, cache=cache)
        assert {r.run_id for r in store.runs} == ids
        assert store.warnings == []
    assert {r.run_id for r in Store.open(url, opts, cache=False, full_listing=True).runs} == ids


def test_a_run_deleted_after_the_checkpoint_shows_until_the_root_is_listed(tmp_path, cli):
    import shutil

    url = str(tmp_path / "store")
    ids = [_run(url, {}, i)[0] for i in range(OLD)]
    Store.open(url, cache=False).checkpoint()
    shutil.rmtree(tmp_path / "store" / ids[0])  # deleted: the checkpoint still holds it
    through_log = cli("runs", url, "--no-cache", "-f", "json")
    assert through_log.code == 0 and ids[0] in {r["run_id"] for r in json.loads(through_log.out)}
    listed = cli("runs", url, "--no-cache", "--list-root", "-f", "json")
    assert listed.code == 0 and {r["run_id"] for r in json.loads(listed.out)} == set(ids[1:])
    store = Store.open(url)  # a cold open with the cache, then a refresh: it lists the root
    assert ids[0] in {r.run_id for r in store.runs}
    assert ids[0] not in {r.run_id for r in store.refresh().runs}
