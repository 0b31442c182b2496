"""Checkpoints: many finished runs' manifests in one object. On S3 (moto's server) a cold open
reads the newest checkpoint instead of one object per run, and still shows exactly what the
writers wrote: newer runs and runs unfinished when it was made are read from the runs; a
damaged checkpoint is named in a warning and skipped; concurrent writers never damage one."""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from s3_support import RequestCounter, bucket, moto_endpoint, s3_fs  # noqa: F401 - fixtures

from explorer import RunWriter, Store
from explorer.errors import ReadOnlyStore
from explorer.format import CHECKPOINTS_DIR, checkpoint_runs
from explorer.store import checkpoint

BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)
OLD = 40  # runs before the checkpoint (more than checkpoint.USE_FROM)


def _run(url, opts, i, finish=True, **kw):
    """Run i: writes raw (and features built from it); returns what it wrote."""
    run_id = f"{(BASE + timedelta(hours=i)):%Y%m%dT%H%M%SZ}-r{i:03d}"
    w = RunWriter(url, job="etl", run_id=run_id, storage_options=opts, started_at=BASE + timedelta(hours=i), **kw).start()
    raw = w.write("raw", {"batch": i})
    feats = w.write("features", {"of": i}, inputs=["raw"])
    if finish:
        w.finish()
    return run_id, {(v.asset, v.run_id): v.content_hash for v in (raw, feats)}


def _seen(store: Store) -> dict:
    return {k: v.content_hash for k, v in store.index.versions.items()}


@pytest.fixture
def s3_store(moto_endpoint, bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(tmp_path / "cache"))
    return f"s3://{bucket}/store", {"endpoint_url": moto_endpoint}


def test_cold_open_reads_the_checkpoint_then_only_newer_and_unfinished_runs(s3_store, cli):
    url, opts = s3_store
    written: dict = {}
    for i in range(OLD):
        written.update(_run(url, opts, i)[1])
    unfinished_id, part = _run(url, opts, OLD, finish=False)  # still running at checkpoint time
    written.update(part)
    res = cli("checkpoint", url, "-o", f"endpoint_url={opts['endpoint_url']}", "--format", "json")
    assert res.code == 0, res.err
    made = json.loads(res.out)["written"]
    assert made["runs"] == OLD and made["path"].startswith(CHECKPOINTS_DIR + "/")
    RunWriter.join(url, unfinished_id, storage_options=opts).finish()  # finishes after the checkpoint
    newer = []
    for i in range(OLD + 1, OLD + 4):
        run_id, part = _run(url, opts, i)
        newer.append(run_id)
        written.update(part)

    fs = s3_fs(opts["endpoint_url"])
    with RequestCounter(fs) as count:
        store = Store.open(url, opts, cache=False)
        assert _seen(store) == written  # exactly what the writers wrote
        assert {r.run_id: r.status for r in store.runs} == {r: "success" for r in {k[1] for k in written}}
        # the store marker (run_log), the checkpoints listing, one GET of the checkpoint, the run
        # log's listing after its mark (no root listing), then one GET per run it does not
        # hold: the three newer ones and the one unfinished when it was made
        assert dict(count.counts) == {"LIST": 2, "GET": 1 + 1 + len(newer) + 1}

    # a second checkpoint starts from the first: it reads only the runs the first lacks
    with RequestCounter(fs) as count:
        outcome = Store.open(url, opts, cache=False).checkpoint()
        assert outcome.base.name == made["name"]
        assert len(outcome.written.manifests) == OLD + 4
    assert checkpoint_runs(checkpoint.names(fs, url.removeprefix("s3://"))[0]) == OLD + 4
    # and nothing more to add: nothing written
    again = cli("checkpoint", url, "-o", f"endpoint_url={opts['endpoint_url']}")
    assert again.code == 0 and "nothing to add" in again.out
    assert len(checkpoint.names(fs, url.removeprefix("s3://"))) == 2


def test_a_cold_open_through_a_checkpoint_fills_the_local_cache(s3_store):
    url, opts = s3_store
    written: dict = {}
    for i in range(OLD):
        written.update(_run(url, opts, i)[1])
    Store.open(url, opts, cache=False).checkpoint()
    fs = s3_fs(opts["endpoint_url"])
    cold = Store.open(url, opts)  # cache on: the manifests from the checkpoint go to it
    assert _seen(cold) == written
    with RequestCounter(fs) as count:
        warm = Store.open(url, opts)
        assert _seen(warm) == written
        assert dict(count.counts) == {"LIST": 1}  # the root listing only


def test_a_damaged_checkpoint_is_named_and_skipped(s3_store):
    url, opts = s3_store
    written: dict = {}
    for i in range(OLD):
        written.update(_run(url, opts, i)[1])
    good = Store.open(url, opts, cache=False).checkpoint().written
    fs = s3_fs(opts["endpoint_url"])
    root = url.removeprefix("s3://")
    raw = fs.cat_file(f"{root}/{CHECKPOINTS_DIR}/{good.name}")
    # newer-looking names: a truncated copy, flipped bytes (gzip's CRC), a lie about its sizes
    header, _, body = gzip.decompress(raw).partition(b"\n")
    doc = json.loads(header)
    doc["runs"][0][1] += 5
    lie = gzip.compress(json.dumps(doc).encode() + b"\n" + body)
    flipped = bytearray(raw)
    flipped[len(flipped) // 2] ^= 0xFF
    for n, damaged in enumerate((raw[: len(raw) // 2], bytes(flipped), lie)):
        fs.pipe_file(f"{root}/{CHECKPOINTS_DIR}/{OLD + 10 + n:010d}-20300101T000000Z-0000000{n}.json.gz", damaged)
    with RequestCounter(fs) as count:
        store = Store.open(url, opts, cache=False)
        assert _seen(store) == written
        # the marker, three damaged ones, then the good one; the checkpoints' and the log's listings
        assert dict(count.counts) == {"LIST": 2, "GET": 5}
    named = [w for w in store.warnings if "checkpoint skipped" in w]
    assert len(named) == 3 and all(CHECKPOINTS_DIR in w and "\n" not in w for w in named)


def test_concurrent_checkpoints_are_both_whole(s3_store, monkeypatch):
    """Two writers that both listed the store before either wrote (the race itself: a writer
    that lists after the other wrote finds nothing new and rightly writes nothing)."""
    url, opts = s3_store
    written: dict = {}
    for i in range(OLD):
        written.update(_run(url, opts, i)[1])
    both_listed = threading.Barrier(2, timeout=60)
    put = checkpoint.create_exclusive

    def put_when_both_decided(*args, **kwargs):
        both_listed.wait()
        return put(*args, **kwargs)

    monkeypatch.setattr(checkpoint, "create_exclusive", put_when_both_decided)
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: Store.open(url, opts, cache=False).checkpoint(), range(2)))
    names = {o.written.name for o in outcomes}
    fs = s3_fs(opts["endpoint_url"])
    root = url.removeprefix("s3://")
    assert set(checkpoint.names(fs, root)) == names and len(names) == 2
    for name in names:  # each validates and holds every run
        assert len(checkpoint.decode(fs.cat_file(f"{root}/{CHECKPOINTS_DIR}/{name}"), name).manifests) == OLD
    assert _seen(Store.open(url, opts, cache=False)) == written


def test_writers_checkpoint_every_n_runs(tmp_path):
    url = str(tmp_path / "store")
    for i in range(25):
        _run(url, {}, i, checkpoint_every=10)
    found = sorted(checkpoint_runs(p.name) for p in (tmp_path / "store" / CHECKPOINTS_DIR).iterdir())
    assert found == [10, 20]
    with pytest.raises(Exception, match="checkpoint_every"):
        RunWriter(url, checkpoint_every=0)


def test_checkpoint_is_an_explicit_write(cli, demo_path, tmp_path):
    res = cli("checkpoint", demo_path)  # the bundled demo is read-only
    assert res.code == 2 and "read-only" in res.err and "Traceback" not in res.err
    copy = tmp_path / "demo"
    shutil.copytree(demo_path, copy)
    with pytest.raises(ReadOnlyStore):
        Store.open(str(copy), read_only=True).checkpoint()
    assert not (copy / CHECKPOINTS_DIR).exists()  # neither refusal nor any read wrote one
    res = cli("checkpoint", copy)
    assert res.code == 0 and "wrote " + CHECKPOINTS_DIR in res.out


def test_any_flipped_byte_is_a_named_damage_never_a_crash():
    """A byte flipped anywhere in a checkpoint (a bad disk, a hostile writer) is reported as
    damage naming the checkpoint, whatever the deflate stream then says (a CRC error, an
    invalid code, a distance too far back), or decodes to the same manifests."""
    import random

    from explorer.errors import FormatError

    rng = random.Random(5)
    manifests = {f"2026010{i}T000000Z-r{i}": json.dumps({"n": i, "pad": rng.randbytes(300).hex()}).encode()
                 for i in range(8)}
    raw = checkpoint.encode(manifests, BASE)
    kinds = set()
    for at in range(len(raw)):
        damaged = bytearray(raw)
        damaged[at] ^= 0xFF
        try:
            got = checkpoint.decode(bytes(damaged), "0000000008-20260101T000000Z-00000000.json.gz")
        except FormatError as exc:
            assert str(exc).startswith(f"{CHECKPOINTS_DIR}/") and "\n" not in str(exc)
            kinds.add(str(exc).split("(")[-1].split(":")[0])
        else:
            assert got.manifests == manifests  # (a flip in the gzip header's unused fields)
    assert "error" in kinds  # zlib.error met and named (the test is not vacuous)
