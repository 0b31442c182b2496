"""The S3 endpoint going away: before opening, in the middle of indexing, and after. The user
gets one line naming the store (exit 2 on the command line) or the runs that were read with
one warning; the library raises only the project's own errors; and refreshing once the
endpoint answers again reads what was missed.

The endpoint is moto's real server: it is stopped and started again on the same port (moto
keeps its buckets in the process, so the store is still there when it comes back).
Retries and timeouts are kept small so that a refused connection fails fast.
"""

from __future__ import annotations

import os
import socket

import pandas as pd
import pytest

from explorer.errors import ExplorerError, StoreUnavailable
from explorer import Store
from explorer.store import RunWriter
from s3_support import moto_endpoint  # noqa: F401 - fixture: test credentials in the environment

FAST = {"retries": {"max_attempts": 1}, "connect_timeout": 1, "read_timeout": 1}


class Endpoint:
    """A moto server on a fixed port that can go away and come back."""

    def __init__(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server._server.server_close()  # release the port: connections are refused now
            self.server = None


@pytest.fixture
def endpoint(moto_endpoint):  # noqa: F811
    import logging

    quiet = logging.getLogger("werkzeug")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the server's request log would mix with the CLI's stderr
    saved = os.environ.get("AWS_MAX_ATTEMPTS")
    os.environ["AWS_MAX_ATTEMPTS"] = "1"  # for clients made from command-line options (no config_kwargs there)
    ep = Endpoint()
    ep.start()
    yield ep
    ep.stop()
    quiet.setLevel(level)
    if saved is None:
        os.environ.pop("AWS_MAX_ATTEMPTS", None)
    else:
        os.environ["AWS_MAX_ATTEMPTS"] = saved


def _store(ep: Endpoint, name: str, finished: int = 3, running: bool = True) -> tuple[str, dict, list[str]]:
    import boto3

    boto3.client("s3", endpoint_url=ep.url, region_name="us-east-1").create_bucket(Bucket=name)
    url, opts = f"s3://{name}/store", {"endpoint_url": ep.url, "config_kwargs": FAST}
    ids = []
    for i in range(finished):
        rid = f"2026010{i + 1}T000000Z-r{i}"
        with RunWriter(url, job="etl", storage_options=opts, run_id=rid) as run:
            run.write("orders", pd.DataFrame({"order_id": range(i + 2)}))
        ids.append(rid)
    if running:
        live = RunWriter(url, job="live", storage_options=opts, run_id="20260201T000000Z-live").start()
        live.write("partial", {"step": 1})
        ids.append("20260201T000000Z-live")
    return url, opts, ids


def _one_line(err: str) -> bool:
    return err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err


def test_endpoint_down_before_opening(endpoint, cli):
    url, opts, ids = _store(endpoint, "outage-before")
    endpoint.stop()
    with pytest.raises(StoreUnavailable) as info:
        Store.open(url, opts)
    assert "cannot reach store s3://outage-before/store" in str(info.value)
    assert "Could not connect" in str(info.value) and "\n" not in str(info.value)
    r = cli("runs", url, "-o", f"endpoint_url={endpoint.url}")
    assert r.code == 2 and _one_line(r.err), r.err
    assert "cannot reach store s3://outage-before/store" in r.err
    endpoint.start()
    assert [x.run_id for x in Store.open(url, opts).runs] == ids
    r = cli("runs", url, "-o", f"endpoint_url={endpoint.url}", "-f", "json")
    assert r.code == 0 and [x["run_id"] for x in r.json()] == ids[::-1]  # newest first


def test_endpoint_goes_away_after_the_listing_with_nothing_cached(endpoint):
    url, opts, ids = _store(endpoint, "outage-cold")
    calls = []

    def stop_after_listing(done: int, total: int) -> None:
        calls.append((done, total))
        if done == 0:  # the run prefixes were listed; no manifest read yet
            endpoint.stop()

    with pytest.raises(StoreUnavailable, match="cannot reach store s3://outage-cold/store"):
        Store.open(url, opts, progress=stop_after_listing, cache=False)
    assert calls[0] == (0, len(ids))  # the outage hit between the listing and the reads
    endpoint.start()
    assert [x.run_id for x in Store.open(url, opts, cache=False).runs] == ids


def test_endpoint_goes_away_mid_index_gives_partial_results_and_refresh_recovers(endpoint):
    url, opts, ids = _store(endpoint, "outage-warm")
    first = Store.open(url, opts)  # fills the local index cache with the finished runs
    assert [r.run_id for r in first.runs] == ids
    new = []
    for i in range(2):
        rid = f"2026030{i + 1}T000000Z-late{i}"
        with RunWriter(url, job="late", storage_options=opts, run_id=rid) as run:
            run.write("report", {"n": i}, inputs=[("orders", ids[0])])
        new.append(rid)
    finished = [r for r in ids if "live" not in r]

    def stop_after_listing(done: int, total: int) -> None:
        if done == 0:
            endpoint.stop()

    store = Store.open(url, opts, progress=stop_after_listing)
    # what the cache held is there; the running run and the new ones could not be read
    assert [r.run_id for r in store.runs] == finished
    assert store.assets() == ["orders"]
    lost = [w for w in store.warnings if "endpoint stopped answering" in w]
    assert len(lost) == 1 and "3 run(s) not read" in lost[0] and "refresh to retry" in lost[0]
    assert "s3://outage-warm/store" in lost[0]
    # while it is down: refreshing and reading data are one clear error, the index stays usable
    with pytest.raises(StoreUnavailable, match="s3://outage-warm/store"):
        store.refresh()
    with pytest.raises(StoreUnavailable, match="s3://outage-warm/store"):
        store.load("orders")
    with pytest.raises(StoreUnavailable):
        store.preview("orders")
    assert [r.run_id for r in store.runs] == finished
    assert store.provenance("orders").root.run_id == finished[-1]
    # back: a refresh reads what was missed
    endpoint.start()
    store.refresh()
    assert sorted(r.run_id for r in store.runs) == sorted(ids + new)
    assert not [w for w in store.warnings if "endpoint stopped answering" in w]
    assert store.load("report") == {"n": 1}
    assert list(store.load("orders")["order_id"]) == list(range(len(finished) + 1))


def test_commands_while_the_endpoint_is_down_are_one_line(endpoint, cli):
    url, opts, ids = _store(endpoint, "outage-cli", running=False)
    o = ["-o", f"endpoint_url={endpoint.url}"]
    assert cli("runs", url, *o).code == 0  # warm cache: the next commands need only a listing
    endpoint.stop()
    for args in (("runs",), ("assets",), ("show", "orders"), ("lineage",), ("stale",), ("verify",),
                 ("history", "orders"), ("sql", "select count(*) from orders")):
        r = cli(args[0], url, *args[1:], *o)
        assert r.code == 2 and _one_line(r.err), (args, r.err)
        assert "cannot reach store s3://outage-cli/store" in r.err, (args, r.err)


def test_the_library_raises_only_its_own_errors_while_the_endpoint_is_down(endpoint):
    url, opts, ids = _store(endpoint, "outage-lib", running=False)
    store = Store.open(url, opts)
    endpoint.stop()
    calls = [
        lambda: store.load("orders"), lambda: store.preview("orders"), lambda: store.read_table("orders"),
        lambda: store.refresh(), lambda: store.flags(), lambda: store.staleness(),
        lambda: store.diff("orders", ids[0], ids[1]), lambda: store.history("orders"),
        lambda: store.sql("select count(*) from orders"), lambda: Store.open(url, opts),
    ]
    raised = {}
    for i, call in enumerate(calls):
        try:
            call()
        except ExplorerError as exc:  # anything else fails the test with its traceback
            assert "\n" not in str(exc) and "Traceback" not in str(exc), str(exc)
            raised[i] = type(exc).__name__
    # whatever needs the endpoint says it cannot reach the store
    assert all(raised.get(i) == "StoreUnavailable" for i in (0, 1, 2, 3, 9)), raised


def test_the_app_reports_the_outage_keeps_running_and_recovers_on_refresh(endpoint):
    import asyncio

    from textual.widgets import DataTable

    from explorer.tui.app import ExplorerApp
    from explorer.tui.screens.runs import RunsScreen

    url, opts, ids = _store(endpoint, "outage-tui", running=False)

    def shown(app) -> list[str]:
        table = app.screen.query_one("#runs", DataTable)
        return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]

    async def settle(app, pilot) -> None:
        for _ in range(3):
            await pilot.pause()
            await app.workers.wait_for_complete()
        await pilot.pause()

    async def flow() -> None:
        app = ExplorerApp(url, opts)
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(app, pilot)
            assert shown(app) == ids[::-1]
            endpoint.stop()
            await pilot.press("r")
            await settle(app, pilot)
            assert app.is_running and isinstance(app.screen, RunsScreen)
            assert app.load_error and app.load_error.startswith("cannot reach store s3://outage-tui/store")
            assert shown(app) == ids[::-1]  # what was read stays on screen
            endpoint.start()
            with RunWriter(url, job="late", storage_options=opts, run_id="20260401T000000Z-late") as run:
                run.write("orders", pd.DataFrame({"order_id": [1]}))
            await pilot.press("r")
            await settle(app, pilot)
            assert app.load_error is None
            assert shown(app) == ["20260401T000000Z-late"] + ids[::-1]

    asyncio.run(flow())


def test_endpoint_goes_away_between_the_manifests_and_a_running_runs_sidecars(endpoint):
    """The finished runs' manifests were read; the running run needs its sidecars listed and
    read, and the endpoint is gone by then: the finished runs, one warning, and the running run
    comes back on refresh."""
    url, opts, ids = _store(endpoint, "outage-sidecars")
    finished, live = ids[:-1], ids[-1]

    def stop_after_manifests(done: int, total: int) -> None:
        if done == total:
            endpoint.stop()

    store = Store.open(url, opts, progress=stop_after_manifests, cache=False)
    assert [r.run_id for r in store.runs] == finished
    lost = [w for w in store.warnings if "endpoint stopped answering" in w]
    assert len(lost) == 1 and "1 run(s) not read" in lost[0] and live in lost[0]
    endpoint.start()
    store.refresh()
    assert [r.run_id for r in store.runs] == ids
    assert store.run(live).status == "running"
    assert store.version("partial").run_id == live
    assert store.load("partial") == {"step": 1}
