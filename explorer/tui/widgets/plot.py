"""A line plot drawn with plotext 5.x into a string, shown in a ``Static``."""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.widgets import Static


def plot_text(xs_labels: Sequence[str], ys: Sequence[float | None], title: str, width: int, height: int,
              xs: Sequence[float] | None = None) -> Text:
    """Render a series to text with plotext's ``build()`` (no terminal output). ``xs``: where each
    point sits (seconds since the epoch: points spaced by time); by default evenly."""
    import plotext as plt

    at = list(xs) if xs is not None else list(range(len(ys)))
    points = [(at[i], y) for i, y in enumerate(ys) if y is not None]
    if not points or width < 20 or height < 6:
        return Text(f"{title}: nothing to plot", style="dim")
    plt.clear_figure()
    plt.limit_size(False, False)  # size to the widget, not to the (headless) terminal
    plt.plotsize(width, height)
    plt.theme("clear")
    xs = [p[0] for p in points]
    plt.plot(xs, [float(p[1]) for p in points], marker="braille")
    plt.scatter(xs, [float(p[1]) for p in points], marker="●")
    step = max(1, len(xs_labels) // max(1, width // 14))
    ticks = list(range(0, len(xs_labels), step))
    plt.xticks([at[i] for i in ticks], [xs_labels[i] for i in ticks])
    plt.title(title)
    out = plt.build()
    plt.clear_figure()
    return Text.from_ansi(out)


class PlotView(Static):
    """Redraws its plot to fit whenever it is resized."""

    DEFAULT_CSS = "PlotView { height: 1fr; width: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.labels: list[str] = []
        self.values: list[float | None] = []
        self.xs: list[float] | None = None
        self.title = ""

    def set_series(self, labels: list[str], values: list[float | None], title: str,
                   xs: list[float] | None = None) -> None:
        self.labels, self.values, self.title, self.xs = labels, values, title, xs
        self.redraw()

    def redraw(self) -> None:
        w, h = self.size.width, self.size.height
        if w and h:
            self.update(plot_text(self.labels, self.values, self.title, w, h, self.xs))

    def on_resize(self) -> None:
        self.redraw()
