"""A line plot drawn with plotext 5.x into a string, shown in a ``Static``."""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.widgets import Static

from ...humanize import counted


def plot_text(xs_labels: Sequence[str], ys: Sequence[float | None], title: str, width: int, height: int,
              xs: Sequence[float] | None = None) -> Text:
    """Render a series to text with plotext's ``build()`` (no terminal output). ``xs``: where each
    point sits (seconds since the epoch: points spaced by time); by default evenly."""
    import plotext as plt

    from ..text import safe, shown_text

    at = list(xs) if xs is not None else list(range(len(ys)))
    points = [(at[i], y) for i, y in enumerate(ys) if y is not None]
    if not points or width < 20 or height < 6:
        return safe(f"{title}: nothing to plot", style="dim")
    plt.clear_figure()
    plt.limit_size(False, False)  # size to the widget, not to the (headless) terminal
    plt.plotsize(width, height)
    plt.theme("clear")
    xs = [p[0] for p in points]
    plt.plot(xs, [float(p[1]) for p in points], marker="braille")
    plt.scatter(xs, [float(p[1]) for p in points], marker="●")
    step = max(1, len(xs_labels) // max(1, width // 14))
    ticks = list(range(0, len(xs_labels), step))
    plt.xticks([at[i] for i in ticks], [shown_text(xs_labels[i]) for i in ticks])
    plt.title(shown_text(title))  # (plotext's output is read back as ANSI: store text made visible first)
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


# --------------------------------------------------------------------------- histograms

HISTOGRAM_BINS = 20


class Histogram:
    """The bins of a numeric array: ``edges`` (len(counts) + 1, as ``numpy.histogram`` gives
    them) and ``counts`` over its finite values, with the values left out named: NaN, +inf, -inf."""

    def __init__(self, values, bins: int = HISTOGRAM_BINS) -> None:
        import numpy as np

        a = np.asarray(values).ravel()
        if a.dtype.kind == "b":
            a = a.astype(np.int8)
        floats = a.dtype.kind == "f"
        finite = a[np.isfinite(a)] if floats else a
        self.size = int(a.size)
        self.nan = int(np.isnan(a).sum()) if floats else 0
        self.posinf = int(np.isposinf(a).sum()) if floats else 0
        self.neginf = int(np.isneginf(a).sum()) if floats else 0
        if finite.size:
            distinct = np.unique(finite).size
            counts, edges = np.histogram(finite, bins=max(1, min(bins, distinct)))
        else:
            counts, edges = np.zeros(0, dtype=np.int64), np.zeros(0)
        self.counts = [int(c) for c in counts]
        self.edges = [float(e) for e in edges]

    def summary(self) -> str:
        """``1,000 values: 20 bins of 0.31 from -3.2 to 3.1 · not drawn: NaN 2, +inf 1``"""
        left = [f"{name} {n:,}" for name, n in (("NaN", self.nan), ("+inf", self.posinf), ("-inf", self.neginf)) if n]
        if self.counts:
            head = (f"{counted(self.size, 'value')}: {counted(len(self.counts), 'bin')} of "
                    f"{self.edges[1] - self.edges[0]:,.4g} from {self.edges[0]:,.4g} to {self.edges[-1]:,.4g}")
        else:
            head = f"{counted(self.size, 'value')}, none finite"
        return head + (" · not drawn: " + ", ".join(left) if left else "")


def histogram_text(hist: Histogram, title: str, width: int, height: int) -> Text:
    """The bins as bars drawn with plotext ``build()``, labelled by their centres."""
    import plotext as plt

    from ..text import safe, shown_text

    if not hist.counts or width < 20 or height < 6:
        return safe(f"{title}: nothing to draw", style="dim")
    centres = [(a + b) / 2 for a, b in zip(hist.edges, hist.edges[1:])]
    at = list(range(len(centres)))  # bins are equally wide: evenly spaced bars, labelled by their centres
    plt.clear_figure()
    plt.limit_size(False, False)
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.bar(at, hist.counts, width=0.8)
    step = max(1, len(centres) // max(1, width // 10))
    ticks = at[::step]
    plt.xticks(ticks, [f"{centres[i]:.3g}" for i in ticks])
    plt.title(shown_text(title))
    out = plt.build()
    plt.clear_figure()
    return Text.from_ansi(out)


class HistogramView(Static):
    """A ``Histogram`` redrawn to fit whenever it is resized; focusable, so the keys of the pane
    holding it work."""

    DEFAULT_CSS = "HistogramView { height: 1fr; width: 1fr; }"
    can_focus = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.hist: Histogram | None = None
        self.title = ""

    def set_histogram(self, hist: Histogram, title: str) -> None:
        self.hist, self.title = hist, title
        self.redraw()

    def redraw(self) -> None:
        w, h = self.size.width, self.size.height
        if self.hist is not None and w and h:
            self.update(histogram_text(self.hist, self.title, w, h))

    def on_resize(self) -> None:
        self.redraw()
