"""The asset screen's history tab: one numeric statistic of every version, plotted by run
(``n`` shows the next statistic)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from rich.text import Text
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


class HistoryPane(TabPane):
    """The statistics to choose from and the plot of the chosen one."""

    def __init__(self) -> None:
        super().__init__("4 history", id="history")
        self.history: pd.DataFrame | None = None
        self.stat_index = 0
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
            self.query_one("#history-help", Static).update(safe(Text(describe_error(exc), style="red")))
            return
        self.draw()

    def next_stat(self) -> None:
        self.stat_index += 1
        self.draw()

    def draw(self) -> None:
        stats = self.stats()
        help_ = self.query_one("#history-help", Static)
        if not stats:
            help_.update(safe(Text("no numeric statistics recorded for this asset", style="dim")))
            self.query_one("#plot", PlotView).set_series([], [], "")
            return
        stat = stats[self.stat_index % len(stats)]
        help_.update(safe(Text.assemble(("n", "bold"), f" next statistic ({len(stats)}): ",
                                        *[(s + "  ", "bold reverse" if s == stat else "") for s in stats[:12]])))
        df = self.history
        labels = [short_run(r) for r in df["run_id"]]
        values = [None if pd.isna(x) else float(x) for x in df[stat]]
        # spaced by when each run started: a gap of a month looks like one, not like a day
        xs = [t.timestamp() for t in pd.to_datetime(df["started_at"], utc=True)] if "started_at" in df else None
        self.query_one("#plot", PlotView).set_series(labels, values, f"{self.key}: {stat} by run", xs)
