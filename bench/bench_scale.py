"""Benchmark: whole ``frontier-explore`` processes on synthetic stores of 1k and 10k runs x 20 assets.

Each measurement is a fresh process, as a user at a prompt or a cron line runs it, timed from
spawn to exit with its peak resident memory (``os.wait4``). The floor is ``python -c pass``,
measured in the same run, interleaved with the commands (the machine is shared: a ratio to
the floor of the same moment means more than a time). Per size (``bench/gen_store.py``: the
project's own manifest format, no data files):

- cold open:  ``Store.open(path)`` with an empty local index cache, every version materialized;
- warm open:  the same again (runs and versions from the cache);
- refresh:    the warm cache opened with one run more in the store than it holds;
- every read command on the store (warm cache, output to /dev/null): ``runs``, ``assets``,
  ``stale`` (and ``--plan``), ``lineage``, ``versions``/``history``/``provenance`` of one asset,
  ``impact`` and ``find --built-from`` of the first run's source (every later run reads the
  run before it, so both reach every run), ``compare`` and ``diff-runs`` of the last two runs,
  ``flags``, ``sql "select count(*) from versions"``, ``export`` as mermaid and OpenLineage,
  and ``--help``; each with its wall time and its CPU seconds;
- peak memory per version: (peak of the cold open - peak of a process that only imports the
  library) / versions.

    PYTHONPATH=. python bench/bench_scale.py                       # 1,000 and 10,000 runs, 3 repeats
    PYTHONPATH=. python bench/bench_scale.py --runs 1000 --repeat 5
    PYTHONPATH=. python bench/bench_scale.py --runs 1000 10000 50000 --repeat 1
    PYTHONPATH=. python bench/bench_scale.py --runs 10000 50000 --interleave provenance impact find

``--interleave NAME ...`` measures only the commands whose names start with those words (``all``: every one), size
against size in rounds (each command at every size, then the next command; ``--repeat``
rounds), so that a change in the machine's load falls on both sizes alike; it reports the
median CPU seconds and peak memory at each size and the growth per 10x runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gen_store import asset_keys, generate  # noqa: E402

ASSETS = 20
OPEN = "import sys; from explorer import Store; s = Store.open(sys.argv[1]); print(len(s.index.versions))"
IMPORT_ONLY = "import explorer.api, explorer.index, explorer.store.read, explorer.store.cache"
EXE = str(Path(sys.executable).with_name("frontier-explore"))


class Sample(NamedTuple):
    wall: float  # seconds from spawn to exit
    peak: int  # peak resident memory, bytes
    cpu: float  # the process's CPU seconds (user + system): the load disturbs it less than the wall time


def measure(argv: list[str], env: dict[str, str]) -> Sample:
    """One process, its output discarded."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # stale exits 1 when something is stale
        raise SystemExit(f"{argv} exited {code}: {proc.stderr.read().decode()[-500:]}")
    proc.stderr.close()
    return Sample(elapsed, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime)


def commands(store: str, runs: int) -> dict[str, list[str]]:
    ids = run_ids(runs)
    first, last = asset_keys(ASSETS)[0], asset_keys(ASSETS)[-1]
    return {
        "runs": [EXE, "runs", store, "--format", "json"],
        "assets": [EXE, "assets", store, "--format", "json"],
        "stale": [EXE, "stale", store, "--format", "json"],
        "stale --plan": [EXE, "stale", store, "--plan", "--format", "json"],
        "lineage": [EXE, "lineage", store, "--format", "json"],
        "versions (one asset)": [EXE, "versions", store, last, "--format", "json"],
        "history (one asset)": [EXE, "history", store, last, "--format", "json"],
        "provenance (latest)": [EXE, "provenance", store, last, "--format", "json"],
        # the first run's source: every later run reads the run before it, so this reaches them all
        "impact (first run's source)": [EXE, "impact", store, first, "--run", ids[0], "--format", "json"],
        "find --built-from (first run)": [EXE, "find", store, last, "--built-from", f"{first}={ids[0]}",
                                          "--format", "json"],
        "compare (2 runs)": [EXE, "compare", store, ids[-2], ids[-1], "--format", "json"],
        "diff-runs": [EXE, "diff-runs", store, ids[-2], ids[-1], "--format", "json"],
        "flags": [EXE, "flags", store, "--format", "json"],
        "sql count(*) versions": [EXE, "sql", store, "select count(*) from versions", "--format", "json"],
        "export mermaid": [EXE, "export", store, "--format", "mermaid"],
        "export openlineage": [EXE, "export", store, "--format", "openlineage"],
        "--help": [EXE, "--help"],
    }


def run_ids(runs: int) -> list[str]:
    """The ids gen_store.py gives runs 0 .. runs-1 (one an hour from 2025-01-01, numbered)."""
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    return [f"{(t0 + timedelta(hours=i)):%Y%m%dT%H%M%SZ}-{i:06d}" for i in range(runs)]


def bench_size(runs: int, repeat: int, work: Path) -> dict:
    store = store_for(runs, work)
    cache = work / f"cache-{runs}"
    env = {**os.environ, "FRONTIER_EXPLORE_CACHE_DIR": str(cache), "COLUMNS": "200"}
    floor, cold, warm, imports = [], [], [], []
    for _ in range(repeat):
        shutil.rmtree(cache, ignore_errors=True)
        floor.append(measure([sys.executable, "-c", "pass"], env))
        cold.append(measure([sys.executable, "-c", OPEN, str(store)], env))
        warm.append(measure([sys.executable, "-c", OPEN, str(store)], env))
        imports.append(measure([sys.executable, "-c", IMPORT_ONLY], env))
    timed: dict[str, list[Sample]] = {name: [] for name in commands(str(store), runs)}
    for _ in range(repeat):  # warm cache from here on
        for name, argv in commands(str(store), runs).items():
            floor.append(measure([sys.executable, "-c", "pass"], env))
            timed[name].append(measure(argv, env))
    # refresh: one run more than the warm cache holds (written, opened, removed again)
    refresh = []
    for _ in range(repeat):
        measure([sys.executable, "-c", OPEN, str(store)], env)  # the cache holds every run
        [new_id] = generate(str(store), 1, ASSETS, start=runs)
        floor.append(measure([sys.executable, "-c", "pass"], env))
        refresh.append(measure([sys.executable, "-c", OPEN, str(store)], env))
        shutil.rmtree(store / new_id)
    base = statistics.median(x.wall for x in floor)
    floor_peak = statistics.median(x.peak for x in floor)
    versions = runs * ASSETS
    peak_cold = statistics.median(x.peak for x in cold)
    peak_import = statistics.median(x.peak for x in imports)
    rows = {"cold open": cold, "warm open": warm, "refresh (1 new run)": refresh, **timed}
    return {
        "runs": runs, "versions": versions, "repeat": repeat, "floor_s": base, "floor_peak_bytes": floor_peak,
        "bytes_per_version": (peak_cold - peak_import) / versions,
        "peak_cold_bytes": peak_cold,
        "floor_cpu_s": statistics.median(x.cpu for x in floor),
        "rows": {name: {"median_s": statistics.median(x.wall for x in ms), "ratio": statistics.median(x.wall for x in ms) / base,
                        "cpu_s": statistics.median(x.cpu for x in ms), "peak_bytes": max(x.peak for x in ms)}
                 for name, ms in rows.items()},
    }


def store_for(runs: int, work: Path) -> Path:
    """The generated store of ``runs`` runs in ``work`` (made when absent)."""
    store = work / f"store-{runs}"
    if not (store / "_frontier_store.json").exists():
        t0 = time.perf_counter()
        # in its own process: this one stays small (a child's peak memory counts its parent's
        # pages until it execs)
        subprocess.run([sys.executable, str(HERE / "gen_store.py"), str(store), "--runs", str(runs),
                        "--assets", str(ASSETS)], check=True, stdout=subprocess.DEVNULL)
        print(f"  generated {runs} runs x {ASSETS} assets in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return store


def interleave(sizes: list[int], words: list[str], repeat: int, work: Path) -> str:
    """The commands named by ``words``, every size in turn within each round (warm caches)."""
    envs, argvs = {}, {}
    for runs in sizes:
        store = store_for(runs, work)
        envs[runs] = {**os.environ, "FRONTIER_EXPLORE_CACHE_DIR": str(work / f"cache-{runs}"), "COLUMNS": "200"}
        measure([sys.executable, "-c", OPEN, str(store)], envs[runs])  # the cache holds every run
        argvs[runs] = {n: a for n, a in commands(str(store), runs).items() if "all" in words or n.split()[0] in words}
    names = list(argvs[sizes[0]])
    got: dict[tuple[str, int], list[Sample]] = {(n, r): [] for n in names for r in sizes}
    for i in range(repeat):
        for name in names:
            for runs in sizes:
                got[name, runs].append(measure(argvs[runs][name], envs[runs]))
        print(f"  round {i + 1} of {repeat} done", file=sys.stderr)
    lines = ["| command | " + " | ".join(f"{r:,} runs: CPU s, peak MiB" for r in sizes) + " | ratio | per 10x runs |",
             "|---|" + "---:|" * (len(sizes) + 2)]
    for name in names:
        cpu = [statistics.median(x.cpu for x in got[name, r]) for r in sizes]
        peak = [max(x.peak for x in got[name, r]) / 2**20 for r in sizes]
        ratio = cpu[-1] / max(1e-9, cpu[0])
        per10 = ratio ** (1 / math.log10(sizes[-1] / sizes[0]))
        lines.append(f"| {name} | " + " | ".join(f"{c:.2f}, {p:,.0f}" for c, p in zip(cpu, peak))
                     + f" | {ratio:.2f} | x{per10:.1f} |")
    return "\n".join(lines)


def report(results: list[dict]) -> str:
    sizes = [r["runs"] for r in results]
    head = "| command | " + " | ".join(f"{n:,} runs: s (x floor)" for n in sizes) + " | peak MiB at " + f"{sizes[-1]:,} |"
    lines = [head, "|---|" + "---:|" * (len(sizes) + 1)]
    lines.append("| floor: `python -c pass` | " + " | ".join(f"{r['floor_s']:.3f} (1)" for r in results)
                 + f" | {results[-1]['floor_peak_bytes'] / 2**20:.0f} |")
    for name in results[0]["rows"]:
        cells = [f"{r['rows'][name]['median_s']:.2f} ({r['rows'][name]['ratio']:.0f}), {r['rows'][name]['cpu_s']:.2f} CPU"
                 for r in results]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {results[-1]['rows'][name]['peak_bytes'] / 2**20:.0f} |")
    if len(results) > 1:
        lines.append("")
        lines.append("growth of the median time per 10x runs: " + ", ".join(
            f"{name} x{(results[-1]['rows'][name]['median_s'] / results[0]['rows'][name]['median_s']) ** (1 / max(1e-9, math.log10(sizes[-1] / sizes[0]))):.1f}"
            for name in results[0]["rows"]))
        lines.append("growth of the median CPU time per 10x runs: " + ", ".join(
            f"{name} x{(results[-1]['rows'][name]['cpu_s'] / max(1e-9, results[0]['rows'][name]['cpu_s'])) ** (1 / max(1e-9, math.log10(sizes[-1] / sizes[0]))):.1f}"
            for name in results[0]["rows"]))
    lines.append("")
    lines.append("peak memory per version (cold open): " + ", ".join(
        f"{r['runs']:,} runs {r['bytes_per_version'] / 1024:.2f} KiB" for r in results))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", default=None, help="folder for the stores and caches (default: a temporary one)")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    ap.add_argument("--interleave", nargs="+", default=None, metavar="NAME",
                    help="only these commands (first word of their name), the sizes interleaved")
    a = ap.parse_args()
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    if a.interleave:
        print(interleave(a.runs, a.interleave, a.repeat, work))
        return
    results = []
    for runs in a.runs:
        print(f"{runs} runs x {ASSETS} assets ...", file=sys.stderr)
        results.append(bench_size(runs, a.repeat, work))
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))
    print(report(results))


if __name__ == "__main__":
    main()
