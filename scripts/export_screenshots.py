"""Write SVG screenshots of every screen of the terminal app on the demo store to screenshots/.

    python scripts/export_screenshots.py [--out screenshots] [--size 120x36]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorer.demo import DEMO_STORE  # noqa: E402
from explorer.tui.app import ExplorerApp  # noqa: E402

SIZE = (120, 36)  # the README's pictures

# name -> (asset to open first, as KEY or KEY@RUN, or None; keys to press)
SHOTS: dict[str, tuple[str | None, list[str]]] = {
    "runs": (None, []),
    "runs-filter": (None, ["slash", *"ingest"]),
    "run": (None, ["down", "down", "enter"]),
    "lineage": (None, ["L", "right", "right"]),
    "lineage-upstream": (None, ["L", "right", "right", "u"]),  # features: its whole upstream on screen
    "lineage-grouped": (None, ["L", "g"]),
    "asset": ("features", []),
    "asset-preview": ("features", ["2"]),
    "asset-versions": ("scores", ["3", "space", "down", "space"]),
    "asset-history": ("scores", ["4"]),
    "asset-provenance": ("scores", ["5"]),
    "asset-impact": ("raw/applications@20261020T020000Z-r6", ["6"]),
    "diff": ("scores", ["3", "space", "down", "space", "D"]),
    "staleness": (None, ["s"]),
    "help": (None, ["question_mark"]),
}


async def settle(app, pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def shoot(name: str, asset: str | None, keys: list[str], out: Path, size: tuple[int, int]) -> Path:
    app = ExplorerApp(str(DEMO_STORE), label="demo_store")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        if asset:
            key, _, run = asset.partition("@")
            app.open_asset(key, run or None)
            await settle(app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)
        app.title = f"frontier-explore: {name}"
        return Path(app.save_screenshot(filename=f"{name}.svg", path=str(out)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(ROOT / "screenshots"))
    ap.add_argument("--size", default="x".join(map(str, SIZE)))
    ap.add_argument("names", nargs="*", help=f"only these ({', '.join(SHOTS)})")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    w, h = (int(x) for x in args.size.split("x"))
    for name, (asset, keys) in SHOTS.items():
        if args.names and name not in args.names:
            continue
        path = asyncio.run(shoot(name, asset, keys, out, (w, h)))
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
