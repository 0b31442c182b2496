"""``history``: one asset across runs, with statistics from the sidecars (and a terminal plot)."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import datetime
from typing import Any

from ..models import iso
from ..visible import visible
from ..humanize import counted
from .common import add_format_arg, add_partition_arg, add_store_args, open_store, print_document, print_json, short_time, table, print_table


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, datetime):
        return iso(value)
    return value


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def _spaced_ticks(x: list[float], labels: list[str], gap: float) -> list[tuple[float, str]]:
    """The tick labels that do not overlap: each at least ``gap`` after the previous one."""
    out: list[tuple[float, str]] = []
    for xv, label in zip(x, labels):
        if not out or xv - out[-1][0] >= gap:
            out.append((xv, label))
    return out


def _number(value: Any) -> float | None:
    """A statistic as a number to plot (text that reads as one too), else None."""
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return None if math.isnan(number) else number
    return None


def plot(rows: list[dict[str, Any]], columns: list[str], title: str, width: int = 100, height: int = 16,
         color: bool = False) -> str:
    """The numeric statistics over the versions, drawn with plotext 5.x (one chart per statistic)."""
    import plotext as plt

    stats = [c for c in columns[4:] if any(_number(r[c]) is not None for r in rows)]
    if not stats:
        return "(no numeric statistic to plot)\n"
    # x is time: days since the first version, so versions a month apart are drawn a month apart
    times = [r["started_at"] for r in rows]
    x = [(t - times[0]).total_seconds() / 86400 for t in times]
    labels = [(iso(t) or "")[:10] for t in times]
    span = max(x[-1] - x[0], 1.0) if x else 1.0
    shown = _spaced_ticks(x, labels, span / max(width // 12, 1))
    charts = []
    for stat in stats:
        ys = [_number(r[stat]) for r in rows]
        points = [(xv, yv) for xv, yv in zip(x, ys) if yv is not None]
        plt.clear_figure()
        plt.plot([p[0] for p in points], [p[1] for p in points], marker="dot")
        plt.scatter([p[0] for p in points], [p[1] for p in points], marker="o")
        plt.title(visible(f"{title}: {stat}"))  # the only store text in the chart
        plt.xticks([p[0] for p in shown], [p[1] for p in shown])
        plt.xlim(x[0] - span * 0.03, x[-1] + span * 0.03)
        plt.plotsize(width, height)
        text = plt.build()
        charts.append(text if color else plt.uncolorize(text))
    plt.clear_figure()
    return "\n".join(charts) + "\n"


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow(["" if (v := _cell(r[c])) is None else v for c in columns])
    return out.getvalue()


def cmd_history(args: argparse.Namespace) -> int:
    store = open_store(args)
    asset, stats = args.asset, list(args.stat)
    if asset not in store.assets() and ":" in asset:  # ASSET:PATH, a value inside a JSON asset
        asset, _, path = asset.rpartition(":")
        stats = [f"value.{path}"] + stats
    args.asset = asset
    from ..history import history_records

    # the records, not a DataFrame: no pandas to import (0.3 s), and each statistic as stored
    found, columns = history_records(store, asset, stats or None)
    records = [{c: _cell(r[c]) for c in columns} for r in found]
    if args.format == "json":
        print_json(records)
    elif args.format == "csv":
        print_document(_csv(found, columns), "csv")
    else:
        rows = []
        for r in records:
            rows.append([r["run_id"], short_time(r["started_at"]), r["status"], r["hash"]] + [_fmt(r[c]) for c in columns[4:]])
        print_table(table(f"{args.asset}: {counted(len(records), 'version')}", ["run", "started", "status", "hash"] + columns[4:], rows,
                          drop=("started", "hash", *reversed(columns[4:]))), args)
    if args.plot:  # with json or csv the chart goes to stderr, keeping stdout machine-readable
        stream = sys.stdout if args.format == "table" else sys.stderr
        stream.write(plot(found, columns, args.asset, color=stream.isatty()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history",
        help="one asset across runs: statistics from the sidecars, optionally plotted",
        description=(
            "One row per version of ASSET, oldest first, served from the sidecars without reading data. "
            "Statistics: num_rows, size_bytes, COLUMN.mean|min|max|null_count|distinct, metadata.KEY."
        ),
    )
    add_store_args(p)
    p.add_argument("asset", metavar="ASSET")
    add_partition_arg(p)
    p.add_argument("--stat", "-s", action="append", default=[], metavar="STAT",
                   help="a statistic to show (repeatable): num_rows, size_bytes, COLUMN.mean|min|max|null_count|distinct, "
                        "metadata.KEY, value.PATH (inside a JSON asset; ASSET:PATH says the same); default num_rows and size_bytes")
    p.add_argument("--plot", action="store_true", help="draw the numeric statistics over the versions in the terminal (to stderr with --format json/csv)")
    add_format_arg(p, ("table", "json", "csv", "tsv"))
    p.set_defaults(func=cmd_history)
