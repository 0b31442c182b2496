"""With several configured stores and none named, the app asks which one to open."""

from __future__ import annotations

import asyncio
import shutil

from textual.widgets import DataTable, OptionList

from explorer.tui.app import ExplorerApp
from explorer.tui.screens.picker import StorePicker
from explorer.tui.screens.runs import RunsScreen


def test_picking_a_store_opens_it(tmp_path, demo_path):
    other = tmp_path / "other"
    shutil.copytree(demo_path, other)
    # keep only the two oldest runs in the second store, so the two stores differ
    runs = sorted(p.name for p in other.iterdir() if p.is_dir() and not p.name.startswith("_"))
    for r in runs[2:]:
        shutil.rmtree(other / r)
    choices = [
        ("@prod", f"@prod  {demo_path}", str(demo_path), {}),
        ("@staging", f"@staging  {other}", str(other), {}),
    ]

    async def flow():
        app = ExplorerApp("unused", choices=choices, open_options={"cache": False})
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, StorePicker)
            options = app.screen.query_one(OptionList)
            assert [options.get_option_at_index(i).id for i in range(options.option_count)] == ["@prod", "@staging"]
            await pilot.press("j", "enter")
            for _ in range(100):
                await pilot.pause(0.05)
                if app.store is not None and isinstance(app.screen, RunsScreen):
                    table = app.screen.query_one(DataTable)
                    if table.row_count:
                        break
            assert app.url == str(other) and app.sub_title == "@staging"
            assert app.screen.query_one(DataTable).row_count == 2

    asyncio.run(flow())


def test_a_broken_store_picked_asks_again_and_the_palette_switches_stores(tmp_path, demo_path):
    missing = tmp_path / "nowhere"  # does not exist: cannot be read
    choices = [
        ("@gone", f"@gone  {missing}", str(missing), {}),
        ("@demo", f"@demo  {demo_path}", str(demo_path), {}),
    ]
    runs = {p.name for p in demo_path.iterdir() if (p / "_frontier" / "run.json").exists()}

    async def wait_for(pilot, ok):
        for _ in range(200):
            await pilot.pause(0.05)
            if ok():
                return True
        return False

    async def flow():
        from textual.command import CommandPalette

        app = ExplorerApp("unused", choices=choices, open_options={"cache": False})
        async with app.run_test(size=(80, 24)) as pilot:
            assert await wait_for(pilot, lambda: isinstance(app.screen, StorePicker))
            await pilot.press("enter")  # @gone
            # it cannot be read: the error is said and the picker comes back (no dead end)
            assert await wait_for(pilot, lambda: app.load_error is not None and isinstance(app.screen, StorePicker))
            assert app.store is None
            await pilot.press("j", "enter")  # @demo
            assert await wait_for(pilot, lambda: app.store is not None and isinstance(app.screen, RunsScreen)
                                  and app.screen.query_one(DataTable).row_count == len(runs))
            # the palette lists the configured stores: switching to @gone fails and asks again
            await pilot.press("colon")
            assert await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
            await pilot.press(*"store @gone")
            await pilot.pause(0.5)
            await pilot.press("enter")
            assert await wait_for(pilot, lambda: isinstance(app.screen, StorePicker))
            assert app.store is None and app.url == str(missing)

    asyncio.run(flow())
