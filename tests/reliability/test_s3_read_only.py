"""Reading never writes, on S3 too: every read command and the terminal app's flows, run against
a copy of the demo store on moto's server, leave every object with the same ETag, size, time
and bytes, and send no PUT, POST or DELETE (nor a copy, which is a PUT).

Write requests are counted twice, independently: on the server (a WSGI wrapper around moto's
app records every request it receives) and on the client (a botocore ``before-send`` hook on
the s3fs client the commands use). A control step that does write (``flag``) shows that the
same checks see a write when there is one.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid

import pytest

from s3_support import RequestCounter, moto_endpoint, s3_fs  # noqa: F401 - fixtures

from .test_read_only import READ_COMMANDS

WRITE_METHODS = {"PUT", "POST", "DELETE", "PATCH"}


class ServerLog:
    """WSGI middleware around moto's app: every request the server receives, as
    (method, path, query, copy source)."""

    def __init__(self, app) -> None:
        self.app = app
        self.requests: list[tuple[str, str, str, str | None]] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                                  environ.get("QUERY_STRING", ""), environ.get("HTTP_X_AMZ_COPY_SOURCE")))
        return self.app(environ, start_response)

    def writes(self) -> list[tuple]:
        with self._lock:
            return [r for r in self.requests if r[0] in WRITE_METHODS or r[3]]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()


@pytest.fixture(scope="module")
def s3_demo(moto_endpoint, demo_path):  # noqa: F811 - moto_endpoint sets the test credentials
    """A copy of the demo store in a bucket of a moto server whose requests are recorded:
    (url, storage options, server log, run ids)."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    log = ServerLog(server._server.app)
    server._server.app = log  # werkzeug's handler reads server.app on every request
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = "ro-" + uuid.uuid4().hex[:10]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    for f in sorted(p for p in demo_path.rglob("*") if p.is_file()):
        s3.put_object(Bucket=bucket, Key="demo/" + f.relative_to(demo_path).as_posix(), Body=f.read_bytes())
    runs = sorted(p.name for p in demo_path.iterdir() if p.is_dir() and not p.name.startswith("_"))
    yield f"s3://{bucket}/demo", {"endpoint_url": endpoint}, log, runs, s3, bucket
    server.stop()


def bucket_snapshot(s3, bucket: str) -> dict[str, tuple[str, int, str, str]]:
    """Every object of the bucket, read with boto3 (not the code under test):
    key -> (ETag, size, last modified, sha256 of the body)."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            out[obj["Key"]] = (obj["ETag"], obj["Size"], obj["LastModified"].isoformat(), hashlib.sha256(body).hexdigest())
    return out


def _settle(app, pilot):
    async def go():
        for _ in range(3):
            await pilot.pause()
            await app.workers.wait_for_complete()
        await pilot.pause()

    return go()


async def _tui_flows(url: str, options: dict, fs) -> list[str]:
    """Open the app, a run, the graph, an asset (facts, preview, versions, history, provenance),
    a diff of two versions and the staleness panel. Returns the screens seen, in order."""
    from textual.widgets import DataTable

    from explorer.tui.app import ExplorerApp
    from explorer.tui.screens.asset import AssetScreen
    from explorer.tui.screens.diff import DiffScreen
    from explorer.tui.screens.graph import GraphScreen
    from explorer.tui.screens.run import RunScreen
    from explorer.tui.screens.runs import RunsScreen

    seen: list[str] = []
    app = ExplorerApp(url, options)
    async with app.run_test(size=(120, 36)) as pilot:
        await _settle(app, pilot)
        assert app.load_error is None, app.load_error
        assert app.store is not None and app.store.fs is fs  # the counted client
        assert isinstance(app.screen, RunsScreen) and app.screen.query_one("#runs", DataTable).row_count == 9
        seen.append("runs")
        await pilot.press("down", "down", "enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, RunScreen)
        seen.append("run")
        await pilot.press("escape")
        await _settle(app, pilot)
        await pilot.press("L")
        await _settle(app, pilot)
        assert isinstance(app.screen, GraphScreen)
        seen.append("graph")
        await pilot.press("escape")
        await _settle(app, pilot)
        app.open_asset("scores")
        await _settle(app, pilot)
        assert isinstance(app.screen, AssetScreen)
        seen.append("asset")
        for tab in ("2", "4", "5", "3"):  # preview, history plot, provenance, versions
            await pilot.press(tab)
            await _settle(app, pilot)
        assert app.screen.query_one("#preview-table", DataTable).row_count > 0  # read from S3
        await pilot.press("space", "down", "space", "D")
        await _settle(app, pilot)
        assert isinstance(app.screen, DiffScreen)
        seen.append("diff")
        await pilot.press("escape")
        await _settle(app, pilot)
        await pilot.press("escape")
        await _settle(app, pilot)
        await pilot.press("s")
        await _settle(app, pilot)
        assert app.screen.query_one("#stale", DataTable).row_count > 0
        seen.append("staleness")
        await pilot.press("r")  # a refresh: one more listing
        await _settle(app, pilot)
    return seen


def test_every_read_command_and_the_app_leave_an_s3_store_unchanged(cli, s3_demo, demo_path):
    url, options, log, runs, s3, bucket = s3_demo
    o = ["-o", f"endpoint_url={options['endpoint_url']}"]
    before = bucket_snapshot(s3, bucket)
    files = sum(1 for p in demo_path.rglob("*") if p.is_file())  # every file of the demo was uploaded
    assert len(before) == files and any(k.endswith(".parquet") for k in before)
    fs = s3_fs(options["endpoint_url"])  # the client the commands share (fsspec caches instances)
    log.reset()
    ran = set()
    with RequestCounter(fs) as client:
        for command, variants in READ_COMMANDS.items():
            for args in variants:
                r = cli(command, url, *args, *o)
                assert r.code in (0, 1), (command, args, r.err)
                assert "Traceback" not in r.err
                ran.add(command)
        r = cli("assets", url, *o, "--verify", "--format", "json")
        assert r.code == 0 and {row["integrity"]["status"] for row in r.json()} == {"ok"}
        seen = asyncio.run(_tui_flows(url, options, fs))
    assert ran == set(READ_COMMANDS)
    print(f"requests sent by the client: {dict(client.counts)}; received by the server: {len(log.requests)}")
    assert seen == ["runs", "run", "graph", "asset", "diff", "staleness"]
    # the commands did talk to the server: they read the manifests and the data
    reads = [r for r in log.requests if r[0] == "GET"]
    assert client.counts["GET"] > 50 and len(reads) >= client.counts["GET"] + client.counts["LIST"]
    assert any(p.endswith("scores.parquet") for _, p, _, _ in reads)
    # and nothing else
    assert log.writes() == []
    assert {k: n for k, n in client.counts.items() if k in WRITE_METHODS} == {}
    assert bucket_snapshot(s3, bucket) == before


def test_the_checks_see_a_write_when_there_is_one(cli, s3_demo):
    """Control: ``flag`` appends a flag object; the same three checks see it."""
    url, options, log, runs, s3, bucket = s3_demo
    o = ["-o", f"endpoint_url={options['endpoint_url']}"]
    before = bucket_snapshot(s3, bucket)
    fs = s3_fs(options["endpoint_url"])
    with_scores = max(r for r in runs if f"demo/{r}/scores.parquet" in before)
    log.reset()
    with RequestCounter(fs) as client:
        r = cli("flag", url, *o, "scores", with_scores, "--reason", "control step of the read-only test")
        assert r.code == 0, r.err
    after = bucket_snapshot(s3, bucket)
    added = set(after) - set(before)
    assert len(added) == 1 and all(after[k] == before[k] for k in before)
    assert [w[0] for w in log.writes()] == ["PUT"]
    assert client.counts["PUT"] == 1
    # put the bucket back as it was for other tests of this module
    s3.delete_object(Bucket=bucket, Key=added.pop())
    assert bucket_snapshot(s3, bucket) == before
