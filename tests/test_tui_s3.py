"""The terminal app on an S3 store: moto's standalone server on 127.0.0.1 through s3fs, with the
endpoint and credentials passed as storage options (as ``-o KEY=VALUE`` on the command line)."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest
from textual.widgets import DataTable

from explorer.store import RunWriter
from explorer.tui.app import ExplorerApp
from explorer.tui.screens.asset import AssetScreen

KEY, SECRET = "AKIATESTKEYTUI000001", "tui-test-secret-0123456789"


@pytest.fixture(scope="module")
def s3_store():
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY,
                 aws_secret_access_key=SECRET).create_bucket(Bucket="lake")
    options = {"endpoint_url": endpoint, "key": KEY, "secret": SECRET}
    url = "s3://lake/pipeline"
    ids = []
    for n in (3, 5):
        with RunWriter(url, job="etl", storage_options=options) as run:
            run.write("raw/orders", pd.DataFrame({"order_id": range(n), "amount": [10.0] * n}))
            run.write("report", {"orders": n}, inputs=["raw/orders"])
        ids.append(run.run_id)
    yield url, options, ids
    server.stop()


def test_browse_an_s3_store(s3_store):
    url, options, ids = s3_store

    async def flow() -> None:
        app = ExplorerApp(url, options)
        async with app.run_test(size=(120, 36)) as pilot:
            for _ in range(3):
                await pilot.pause()
                await app.workers.wait_for_complete()
            table = app.screen.query_one("#runs", DataTable)
            shown = [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]
            assert shown == ids[::-1]
            app.open_asset("raw/orders")
            for _ in range(3):
                await pilot.pause()
                await app.workers.wait_for_complete()
            assert isinstance(app.screen, AssetScreen)
            await pilot.press("2")
            await pilot.pause()
            preview = app.screen.query_one("#preview-table", DataTable)
            assert preview.row_count == 5  # the latest version, read from S3 in a worker

    asyncio.run(flow())


def test_a_missing_bucket_is_a_message_not_a_crash(s3_store):
    _, options, _ = s3_store

    async def flow() -> None:
        app = ExplorerApp("s3://no-such-bucket/store", options)
        async with app.run_test(size=(120, 36)) as pilot:
            for _ in range(3):
                await pilot.pause()
                await app.workers.wait_for_complete()
            assert app.load_error and "no-such-bucket" in app.load_error
            assert "Traceback" not in app.load_error
            assert app.is_running
            title = str(app.screen.query_one("#title").render())
            assert "cannot read the store" in title

    asyncio.run(flow())
