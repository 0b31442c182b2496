"""The asset screen's history tab: one numeric statistic of every version, plotted over time
(``n`` shows the next statistic). The statistics are the sidecars' (row count, size, column
means, numeric metadata) and, for a JSON asset, every number inside it (``value.auc``): those
are read from the versions' data in a worker, and offered first."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from textual import work
from textual.app import ComposeResult
from textual.widgets import Static, TabPane

from ...errors import describe_error
from ...text import safe
from ...widgets.lineage_graph import short_run
from ...widgets.plot import PlotView

if TYPE_CHECKING:
    from ....api import Store

META_COLUMNS = {"run_id", "started_at", "status", "hash"}


def history_frame(store: "Store", key: str) -> pd.DataFrame:
    """Row count, size, column means and numeric metadata of every version (``store.history``)."""
    versions = store.asset_versions(key)
    stats = (["num_rows"] if any(v.table for v in versions) else []) + ["size_bytes"]
    for v in versions:
        for c in v.table.columns if v.table else ():
            if c.mean is not None and f"{c.name}.mean" not in stats:
                stats.append(f"{c.name}.mean")
        for k, val in v.metadata.items():
            if isinstance(val, (int, float)) and not isinstance(val, bool) and f"metadata.{k}" not in stats:
                stats.append(f"metadata.{k}")
    return store.history(key, stats)


def json_value_stats(store: "Store", key: str) -> list[str]:
    """``value.PATH`` for every number inside any JSON version of ``key`` (each version read once)."""
    from ....history import json_paths

    paths: list[str] = []
    for v in store.asset_versions(key):
        if v.data_format == "json":
            for p in json_paths(store.load(key, v.run_id, allow_tainted=True)):
                if p not in paths:
                    paths.append(p)
    return [f"value.{p}" for p in paths[:MAX_JSON_PATHS]]


MAX_JSON_PATHS = 60  # numbers inside one JSON asset offered as series


class HistoryPane(TabPane):
    """The statistics to choose from and the plot of the chosen one."""

    def __init__(self) -> None:
        super().__init__("4 history", id="history")
        self.history: pd.DataFrame | None = None
        self.stat: str | None = None  # the statistic shown (kept when the frame is redrawn)
        self.chosen = False  # True once ``n`` chose a statistic
        self.key = ""

    def compose(self) -> ComposeResult:
        yield Static(id="history-help", classes="hint")
        yield PlotView(id="plot")

    def stats(self) -> list[str]:
        df = self.history
        if df is None:
            return []
        out = []
        for c in df.columns:
            if c in META_COLUMNS:
                continue
            if pd.api.types.is_numeric_dtype(df[c]) and df[c].notna().any():
                out.append(c)
        return out

    def show(self, store: "Store", key: str) -> None:
        self.key = key
        try:
            self.history = history_frame(store, key)
        except Exception as exc:  # noqa: BLE001
            self.history = None
            self.query_one("#history-help", Static).update(safe(describe_error(exc), style="red"))
            return
        self.draw()
        if any(v.data_format == "json" for v in store.asset_versions(key)):
            self.read_json_values(store, key)

    @work(thread=True, exclusive=True, group="history-json")
    def read_json_values(self, store: "Store", key: str) -> None:
        """Add the numbers inside the JSON versions to the statistics (reads every version)."""
        try:
            values = json_value_stats(store, key)
            frame = store.history(key, values) if values else None
        except Exception as exc:  # noqa: BLE001 - an unreadable version: the sidecar statistics stay
            self.app.call_from_thread(self.notify, describe_error(exc), title=f"history of {key}", severity="warning")
            return
        if frame is not None:
            self.app.call_from_thread(self._add_values, key, frame, values)

    def _add_values(self, key: str, frame: pd.DataFrame, values: list[str]) -> None:
        if not self.is_attached or key != self.key or self.history is None:
            return
        rest = [c for c in self.history.columns if c not in frame.columns]
        self.history = pd.concat([frame, self.history[rest]], axis=1)
        if not self.chosen:
            self.stat = None  # nothing chosen yet: the first number inside the JSON
        self.draw()

    def next_stat(self) -> None:
        self.chosen = True
        stats = self.stats()
        if stats:
            at = stats.index(self.stat) if self.stat in stats else 0
            self.stat = stats[(at + 1) % len(stats)]
        self.draw()

    def draw(self) -> None:
        stats = self.stats()
        help_ = self.query_one("#history-help", Static)
        if not stats:
            help_.update(safe("no numeric statistics recorded for this asset", style="dim"))
            self.query_one("#plot", PlotView).set_series([], [], "")
            return
        stat = self.stat if self.stat in stats else stats[0]
        self.stat = stat
        at = stats.index(stat)
        room = 2 * max(40, self.size.width or 80) - 40  # the names around the one shown, in two lines
        first = max(0, at - 2)
        window: list[str] = []
        for s in stats[first:]:
            if window and sum(len(w) + 2 for w in window) + len(s) > room:
                break
            window.append(s)
        more = first + len(window) < len(stats)
        help_.update(safe(("n", "bold"), f" next statistic ({at + 1} of {len(stats)}): ",
                          "… " if first else "",
                          *[(s + "  ", "bold reverse" if s == stat else "") for s in window],
                          "…" if more else ""))
        df = self.history
        labels = [short_run(r) for r in df["run_id"]]
        values = [None if pd.isna(x) else float(x) for x in df[stat]]
        # spaced by when each run started: a gap of a month looks like one, not like a day
        xs = [t.timestamp() for t in pd.to_datetime(df["started_at"], utc=True)] if "started_at" in df else None
        self.query_one("#plot", PlotView).set_series(labels, values, f"{self.key}: {stat} over time", xs)
