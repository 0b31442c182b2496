"""The local index cache: reopening gives the same answers as reading the whole store;
unfinished and changed runs are read again; a corrupt cache is rebuilt, never trusted;
nothing is written to the store; credentials never reach the cache."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from explorer import Store
from explorer.store import RunWriter, cache
from explorer.store.read import cached_versions
from s3_support import BASE, RUN_IDS, Clock, bucket, moto_endpoint, write_pipeline  # noqa: F401 - fixtures


def snapshot(store: Store) -> dict:
    """Everything the index knows, as plain data (to compare a cached open with a full read)."""
    idx = store.index
    # versions first: a cached run line is cross-checked against its cached manifest when
    # the versions are first needed (see the "wrong_count" damage below)
    versions = sorted((k, v.to_dict()) for k, v in idx.versions.items())
    return {
        "runs": [r.to_dict() for r in store.runs],
        "versions": versions,
        "latest": {k: v.run_id for k, v in idx.latest_versions().items()},
        "warnings": sorted(store.warnings),
    }


def truth(path: str, options: dict | None = None) -> dict:
    return snapshot(Store.open(path, options, cache=False))


def tree(path: str) -> dict[str, tuple[int, int]]:
    out = {}
    for d, _, files in os.walk(path):
        for f in files:
            st = os.stat(os.path.join(d, f))
            out[os.path.relpath(os.path.join(d, f), path)] = (st.st_mtime_ns, st.st_size)
    return out


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(d))
    return d


@pytest.fixture
def pipeline(tmp_path) -> str:
    path = str(tmp_path / "store")
    write_pipeline(path)
    return path


@pytest.fixture
def s3_pipeline(moto_endpoint, bucket) -> tuple[str, dict]:
    """The pipeline on S3 (moto's server): a store whose cache keeps a log of its manifests."""
    opts = {"endpoint_url": moto_endpoint}
    url = f"s3://{bucket}/store"
    write_pipeline(url, opts)
    return url, opts


def cache_file(cache_dir: Path) -> Path:
    """The store's index file (its log of manifests is ``log_file``)."""
    files = [p for p in cache_dir.iterdir() if p.suffix == ".json"]
    assert len(files) == 1
    return files[0]


def log_file(cache_dir: Path) -> Path:
    return cache_file(cache_dir).with_suffix(".manifests")


def logged_manifests(cache_dir: Path) -> bytes:
    """The manifests in the log, after its first line (which names the log)."""
    header, _, rest = log_file(cache_dir).read_bytes().partition(b"\n")
    assert header.startswith(b"frontier-explore/manifest-log ")
    return rest


def test_reopening_from_the_cache_gives_the_same_index_and_writes_nothing_to_the_store(pipeline, cache_dir):
    before = tree(pipeline)
    cold = Store.open(pipeline)
    assert cache_file(cache_dir).stat().st_size > 0
    warm = Store.open(pipeline)
    assert snapshot(warm) == snapshot(cold) == truth(pipeline)
    assert warm.provenance("scores").to_dict() == cold.provenance("scores").to_dict()
    assert tree(pipeline) == before  # reading (and caching) never writes to the store
    assert not any(str(cache_dir) in p for p in before)


def test_new_runs_and_removed_runs_are_seen_on_reopen(pipeline, cache_dir):
    Store.open(pipeline)
    t = BASE + timedelta(days=9)
    with RunWriter(pipeline, job="late", run_id="20260310T020000Z-late", started_at=t, clock=Clock(t)) as run:
        run.write("report", {"ok": True}, inputs=[("scores", RUN_IDS[3])])
    import shutil

    shutil.rmtree(os.path.join(pipeline, RUN_IDS[2]))  # the failed run is cleaned up
    warm = Store.open(pipeline)
    assert [r.run_id for r in warm.runs] == [RUN_IDS[0], RUN_IDS[1], RUN_IDS[3], "20260310T020000Z-late"]
    assert snapshot(warm) == truth(pipeline)


def test_a_running_run_is_read_again_until_it_finishes(pipeline, cache_dir):
    live = RunWriter(pipeline, job="live", run_id="20260320T000000Z-live").start()
    live.write("partial", {"step": 1})
    first = Store.open(pipeline)
    assert first.run("20260320T000000Z-live").status == "running"
    assert [v.asset for v in first.run_versions("20260320T000000Z-live")] == ["partial"]
    live.write("second", {"step": 2})
    again = Store.open(pipeline)
    assert {v.asset for v in again.run_versions("20260320T000000Z-live")} == {"partial", "second"}
    live.finish("success")
    done = Store.open(pipeline)
    assert done.run("20260320T000000Z-live").status == "success"
    assert snapshot(done) == truth(pipeline)
    # refresh in place sees the same as a reopen
    first.refresh()
    assert snapshot(first) == snapshot(done)


def test_a_finished_run_whose_manifest_changed_on_disk_is_read_again(pipeline, cache_dir):
    Store.open(pipeline)
    manifest = Path(pipeline, RUN_IDS[1], "_frontier", "run.json")
    doc = json.loads(manifest.read_text())
    doc["tags"] = {"reviewed": "yes"}
    manifest.write_text(json.dumps(doc, indent=1))
    warm = Store.open(pipeline)
    assert warm.run(RUN_IDS[1]).tags == {"reviewed": "yes"}
    assert snapshot(warm) == truth(pipeline)


def test_an_unchecked_open_trusts_the_cache_until_checked(pipeline, cache_dir):
    """``check=False`` takes the cached finished runs without a stat each (the app paints them
    first); ``check_cached`` then finds the rewritten run and reads it. The default open checks."""
    Store.open(pipeline)
    manifest = Path(pipeline, RUN_IDS[1], "_frontier", "run.json")
    doc = json.loads(manifest.read_text())
    doc["tags"] = {"reviewed": "yes"}
    manifest.write_text(json.dumps(doc, indent=1))
    unchecked = Store.open(pipeline, check=False)
    assert unchecked.run(RUN_IDS[1]).tags == {}  # as cached
    assert unchecked.check_cached() is True
    assert unchecked.run(RUN_IDS[1]).tags == {"reviewed": "yes"}
    assert snapshot(unchecked) == truth(pipeline)
    assert unchecked.check_cached() is False  # checked once: nothing left to check
    assert Store.open(pipeline).run(RUN_IDS[1]).tags == {"reviewed": "yes"}  # (and the cache saved it)
    again = Store.open(pipeline, check=False)
    assert again.check_cached() is False and again._indexer.last_read == []


INDEX_DAMAGE = ["garbage", "truncated_index", "empty", "other_store", "running_status", "bad_json", "wrong_count"]
LOG_DAMAGE = ["unsafe_path", "truncated_log", "log_replaced", "log_deleted", "location_outside_log"]


@pytest.mark.parametrize(
    "kind, damage",
    [("local", d) for d in INDEX_DAMAGE] + [("s3", d) for d in INDEX_DAMAGE[:2] + LOG_DAMAGE],
)
def test_a_corrupt_cache_is_discarded_and_rebuilt(request, cache_dir, kind, damage):
    """Local stores' caches hold the index only (their manifests are on local disk already);
    remote stores' caches also hold a log of the manifests, so that reopening costs no GETs."""
    pipeline, opts = (request.getfixturevalue("pipeline"), None) if kind == "local" else request.getfixturevalue("s3_pipeline")
    Store.open(pipeline, opts)
    f, log = cache_file(cache_dir), log_file(cache_dir)
    assert log.exists() == (kind == "s3")
    doc = json.loads(f.read_bytes())
    first = doc["runs"][0]
    assert first["run"]["run_id"] == RUN_IDS[0]
    if damage == "garbage":
        f.write_bytes(b"\x00\xffnot a cache at all")
    elif damage == "truncated_index":
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    elif damage == "empty":
        f.write_bytes(b"")
    elif damage == "other_store":
        doc["url"] = "/somewhere/else"
        f.write_text(json.dumps(doc))
    elif damage == "running_status":
        first["run"]["status"] = "running"
        f.write_text(json.dumps(doc))
    elif damage == "unsafe_path":
        # a sidecar in the cached manifest of the first run points outside the store (same length,
        # so that the offsets still hold and only validation can catch it)
        data = log.read_bytes()
        good = f'"{RUN_IDS[0]}/raw/transactions.parquet"'.encode()
        bad = b'"../../../../../../../../etc/passwd'
        bad = bad + b"/" * (len(good) - len(bad) - 1) + b'"'
        assert len(bad) == len(good) and data.count(good) == 1
        log.write_bytes(data.replace(good, bad))  # rewritten in place: the same file
        assert b"etc/passwd" in log.read_bytes()
    elif damage == "bad_json":
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 3] + data[len(data) // 3 + 7 :])
    elif damage == "wrong_count":
        doc["runs"][1]["run"]["asset_count"] += 1
        f.write_text(json.dumps(doc))
    elif damage == "truncated_log":
        with log.open("r+b") as fh:
            fh.truncate(log.stat().st_size - 10)
    elif damage == "log_replaced":
        data = log.read_bytes()
        log.unlink()
        log.write_bytes(data)  # the same bytes, another file: not the log the index points into
    elif damage == "log_deleted":
        log.unlink()
    elif damage == "location_outside_log":
        first["at"] = doc["log"]["size"]
        f.write_text(json.dumps(doc))
    reopened = Store.open(pipeline, opts)
    assert snapshot(reopened) == truth(pipeline, opts)
    assert reopened.version("raw/transactions").data_path == f"{RUN_IDS[0]}/raw/transactions.parquet"
    assert not any("passwd" in w for w in reopened.warnings)
    # the next open rebuilt a cache that is valid again
    Store.open(pipeline, opts)
    healthy, healthy_log = cache.load(cache_file(cache_dir), reopened.url)
    assert sorted(healthy) == sorted(RUN_IDS)
    if kind == "s3":
        assert all(cached_versions(e) for e in healthy.values())
        healthy_log.release()
    else:
        assert healthy_log is None and all(e.source is None for e in healthy.values())


def test_no_cache_neither_reads_nor_writes_the_cache(pipeline, cache_dir, cli):
    assert cli("runs", pipeline, "--no-cache").code == 0
    assert cli("--no-cache", "assets", pipeline).code == 0
    assert not cache_dir.exists()
    Store.open(pipeline)
    f = cache_file(cache_dir)
    f.write_bytes(b"garbage")
    r = cli("runs", pipeline, "--no-cache", "-f", "json")
    assert [x["run_id"] for x in r.json()] == RUN_IDS[::-1]  # newest first
    assert f.read_bytes() == b"garbage"  # untouched
    assert not any(p.suffix == ".manifests" and p.stat().st_mtime_ns > f.stat().st_mtime_ns
                   for p in cache_dir.iterdir())


def test_cache_info_and_clear(pipeline, tmp_path, cache_dir, cli):
    other = str(tmp_path / "other")
    write_pipeline(other)
    assert cli("runs", pipeline).code == 0 and cli("runs", other).code == 0
    info = cli("cache", "info", "-f", "json").json()
    assert info["dir"] == str(cache_dir)
    assert sorted(s["url"] for s in info["stores"]) == sorted([pipeline, other])
    assert all(s["runs"] == len(RUN_IDS) for s in info["stores"])
    text = cli("cache", "info")
    assert str(cache_dir) in text.out
    cleared = cli("cache", "clear")
    assert cleared.code == 0 and "removed 2" in cleared.out
    assert not list(cache_dir.iterdir())  # indexes and their logs
    assert cli("cache", "info", "-f", "json").json()["files"] == 0
    # and everything still works (the cache is rebuilt)
    assert [x["run_id"] for x in cli("runs", pipeline, "-f", "json").json()] == RUN_IDS[::-1]  # newest first


def test_one_cache_file_per_store_and_non_secret_options(tmp_path):
    a = cache.cache_path("s3://bucket/a", {"endpoint_url": "http://x"})
    assert a == cache.cache_path("s3://bucket/a", {"endpoint_url": "http://x", "secret": "s", "key": "k"})
    assert a != cache.cache_path("s3://bucket/b", {"endpoint_url": "http://x"})
    assert a != cache.cache_path("s3://bucket/a", {"endpoint_url": "http://y"})


def test_memory_stores_are_not_cached(cache_dir):
    import fsspec

    url = "memory://cache-test-store"
    write_pipeline(url)
    try:
        store = Store.open(url)
        assert [r.run_id for r in store.runs] == RUN_IDS
        assert not cache_dir.exists()
    finally:
        fsspec.filesystem("memory").rm("/cache-test-store", recursive=True)


def test_the_cache_goes_to_the_user_cache_dir_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("FRONTIER_EXPLORE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    import platformdirs

    assert cache.cache_dir() == Path(platformdirs.user_cache_dir("frontier-explore")) / "index"
    assert str(cache.cache_dir()).startswith(str(tmp_path / "xdg-cache"))


def _late_run(pipeline: str, options: dict | None = None) -> str:
    t = BASE + timedelta(days=9)
    run_id = "20260310T020000Z-late"
    with RunWriter(pipeline, job="late", run_id=run_id, started_at=t, clock=Clock(t), storage_options=options) as run:
        run.write("report", {"ok": True}, inputs=[("scores", RUN_IDS[3])])
    return run_id


def test_refresh_of_a_warm_store_keeps_the_cache_whole(pipeline, cache_dir):
    Store.open(pipeline)
    warm = Store.open(pipeline)  # versions not parsed yet
    _late_run(pipeline)
    warm.refresh()
    assert snapshot(warm) == truth(pipeline)
    warm.refresh()
    again = Store.open(pipeline)
    assert snapshot(again) == truth(pipeline)
    entries, log = cache.load(cache_file(cache_dir), again.url)
    assert len(entries) == len(RUN_IDS) + 1 and log is None


def test_a_local_cache_keeps_no_copy_of_the_manifests(pipeline, cache_dir):
    Store.open(pipeline)
    assert [p.suffix for p in cache_dir.iterdir()] == [".json"]
    manifests = sum(Path(pipeline, r, "_frontier", "run.json").stat().st_size for r in RUN_IDS)
    assert cache_file(cache_dir).stat().st_size < manifests / 2
    warm = Store.open(pipeline)
    assert snapshot(warm) == truth(pipeline)  # the versions were read from the store's manifests


def test_a_refresh_appends_the_new_manifest_to_the_log(s3_pipeline, cache_dir):
    url, opts = s3_pipeline
    store = Store.open(url, opts)
    fs = store.fs
    log = log_file(cache_dir)
    before, inode = logged_manifests(cache_dir), log.stat().st_ino
    assert before == b"".join(fs.cat_file(f"{url}/{r}/_frontier/run.json") for r in RUN_IDS)
    late = _late_run(url, opts)
    store.refresh()
    assert log.stat().st_ino == inode  # the same file, appended to
    assert logged_manifests(cache_dir) == before + fs.cat_file(f"{url}/{late}/_frontier/run.json")
    assert snapshot(Store.open(url, opts)) == truth(url, opts)


def test_the_log_is_compacted_when_most_of_it_is_dead(s3_pipeline, cache_dir, monkeypatch):
    url, opts = s3_pipeline
    monkeypatch.setattr(cache, "COMPACT_MIN_BYTES", 0)
    store = Store.open(url, opts)
    for r in RUN_IDS[:3]:  # most runs are cleaned up from the store
        store.fs.rm(f"{url}/{r}", recursive=True)
    reopened = Store.open(url, opts)
    assert [r.run_id for r in reopened.runs] == RUN_IDS[3:]
    assert logged_manifests(cache_dir) == store.fs.cat_file(f"{url}/{RUN_IDS[3]}/_frontier/run.json")
    assert snapshot(Store.open(url, opts)) == snapshot(reopened) == truth(url, opts)


def test_a_log_replaced_by_another_process_before_versions_are_needed(s3_pipeline, cache_dir):
    url, opts = s3_pipeline
    Store.open(url, opts)
    warm = Store.open(url, opts)  # lazy: its manifests are still in the log
    log = log_file(cache_dir)
    rest = logged_manifests(cache_dir)
    log.unlink()  # another process put a new log in its place (as compacting does: a new token)
    log.write_bytes(b"frontier-explore/manifest-log " + b"0" * 32 + b"\n" + rest.replace(b'"raw/regions"', b'"raw/REGIONS"'))
    assert snapshot(warm) == truth(url, opts)  # read again from the store, not from the new file


def test_progress_reports_runs_read(pipeline, cache_dir, cli):
    calls: list[tuple[int, int]] = []
    Store.open(pipeline, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(RUN_IDS), len(RUN_IDS))
    assert all(total == len(RUN_IDS) and 0 <= done <= total for done, total in calls)
    calls.clear()
    Store.open(pipeline, progress=lambda done, total: calls.append((done, total)))
    assert all(done == total == 0 for done, total in calls)  # warm: nothing to read
    r = cli("runs", pipeline, "--no-cache")  # stderr is not a terminal here: no progress bar
    assert r.code == 0 and r.err == ""


def test_versions_asked_from_two_threads_at_once(pipeline, cache_dir):
    import threading

    Store.open(pipeline)
    warm = Store.open(pipeline)
    results, errors = [], []

    def ask():
        try:
            results.append(sorted(warm.index.versions))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == [sorted(Store.open(pipeline, cache=False).index.versions)] * 4
    assert sorted(p.name for p in cache_dir.iterdir() if p.name.startswith(".")) == []  # no spool left


def test_a_progress_bar_on_a_terminal(pipeline, cache_dir):
    import pty
    import sys

    root = str(Path(__file__).resolve().parents[1])
    pid, fd = pty.fork()
    if pid == 0:  # the CLI with stdout and stderr on a terminal
        try:
            os.environ["PYTHONPATH"] = root
            os.execv(sys.executable, [sys.executable, "-m", "explorer", "runs", pipeline, "-f", "json"])
        finally:
            os._exit(127)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    assert os.WEXITSTATUS(status) == 0
    assert "reading runs" in text and f"/{len(RUN_IDS)}" in text
    assert RUN_IDS[0] in text
