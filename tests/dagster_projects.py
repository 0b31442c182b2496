"""Dagster projects in the shapes of Dagster's own examples and docs (written here, not copied),
used by tests/test_dagster_projects.py.

- ``quickstart``: the current quickstart_etl style: assets that write their data themselves
  (``FRONTIER_TEST_OUTSIDE``, a folder outside the store) and return ``MaterializeResult``,
  chained with ``deps=``; one returns ``None``;
- ``orders`` with asset checks: one passes, one fails with severity ERROR, one fails as WARN;
- an observable source asset (``source_file``, its data version the content of a file) and
  ``asset1`` depending on it;
- ``multi_asset`` with ``internal_asset_deps`` (``c <- a``, ``d <- b``) and an ``AssetSpec``
  with ``deps``;
- ``AssetIn`` with a key prefix;
- a graph-backed asset whose internal ops hand values through the IO manager.

Module level so that the multiprocess executor's processes find the jobs (``reconstructable``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pandas as pd

from explorer.dagster.io import RunPrefixedIOManager, frontier_hooks


def _outside() -> Path:
    return Path(os.environ["FRONTIER_TEST_OUTSIDE"])


def _maybe_fail(name: str) -> None:
    if os.environ.get("FRONTIER_TEST_FAIL") == name:
        raise RuntimeError(f"{name} failed on purpose")


# ---------------------------------------------------------------------- quickstart_etl, current style


@dg.asset(group_name="hackernews", code_version="ids-v1")
def topstory_ids() -> dg.MaterializeResult:
    ids = list(range(100, 100 + int(os.environ.get("FRONTIER_TEST_STORIES", "5"))))
    (_outside() / "topstory_ids.json").write_text(json.dumps(ids))
    return dg.MaterializeResult(metadata={"num_ids": len(ids)})


@dg.asset(group_name="hackernews", deps=[topstory_ids])
def topstories() -> dg.MaterializeResult:
    ids = json.loads((_outside() / "topstory_ids.json").read_text())
    df = pd.DataFrame({"id": ids, "title": [f"story {i} about data" for i in ids]})
    df.to_csv(_outside() / "topstories.csv", index=False)
    return dg.MaterializeResult(metadata={"num_records": len(df), "preview": dg.MetadataValue.md("| id |\n|---|\n" + "\n".join(f"| {i} |" for i in df["id"].head(2)))})


@dg.asset(group_name="hackernews", deps=[topstories])
def most_frequent_words(context) -> None:
    _maybe_fail("most_frequent_words")
    df = pd.read_csv(_outside() / "topstories.csv")
    words = pd.Series(" ".join(df["title"]).split()).value_counts().head(3)
    (_outside() / "words.json").write_text(words.to_json())
    context.add_output_metadata({"top_word": str(words.index[0])})


# ---------------------------------------------------------------------- asset checks


@dg.asset(code_version="orders-v1")
def orders() -> pd.DataFrame:
    return pd.DataFrame({"order_id": [1, 2, 3, None], "amount": [5.0, 7.5, -1.0, 3.0]})


@dg.asset_check(asset=orders, description="every order has an id")
def orders_id_has_no_nulls(orders: pd.DataFrame) -> dg.AssetCheckResult:
    nulls = int(orders["order_id"].isna().sum())
    return dg.AssetCheckResult(passed=nulls == 0, metadata={"null_ids": nulls})


@dg.asset_check(asset=orders, description="there are orders")
def orders_not_empty(orders: pd.DataFrame) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=len(orders) > 0, metadata={"rows": len(orders)})


@dg.asset_check(asset=orders)
def orders_amounts_positive(orders: pd.DataFrame) -> dg.AssetCheckResult:
    negative = int((orders["amount"] < 0).sum())
    return dg.AssetCheckResult(passed=negative == 0, severity=dg.AssetCheckSeverity.WARN,
                               description="amounts are positive", metadata={"negative": negative})


# ---------------------------------------------------------------------- an observable source


@dg.observable_source_asset
def source_file() -> dg.DataVersion:
    return dg.DataVersion((_outside() / "source.txt").read_text().strip())


@dg.asset(deps=[source_file], code_version="asset1-v1")
def asset1() -> pd.DataFrame:
    return pd.DataFrame({"line": (_outside() / "source.txt").read_text().split()})


# ---------------------------------------------------------------------- multi_asset, AssetSpec.deps, AssetIn prefixes


@dg.asset
def a() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2]})


@dg.asset
def b() -> pd.DataFrame:
    return pd.DataFrame({"b": [3, 4]})


@dg.multi_asset(
    outs={"c": dg.AssetOut(), "d": dg.AssetOut()},
    internal_asset_deps={"c": {dg.AssetKey("a")}, "d": {dg.AssetKey("b")}},
)
def c_and_d(a: pd.DataFrame, b: pd.DataFrame):
    yield dg.Output(a.assign(c=a["a"] * 10), output_name="c")
    yield dg.Output(b.assign(d=b["b"] * 10), output_name="d")


@dg.multi_asset(specs=[dg.AssetSpec("e", deps=["c"]), dg.AssetSpec("f", deps=["d"])])
def e_and_f():
    yield dg.MaterializeResult(asset_key="e", metadata={"from": "c"})
    yield dg.MaterializeResult(asset_key="f", metadata={"from": "d"})


@dg.asset(key_prefix=["lake"])
def landing() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3]})


@dg.asset(ins={"landing": dg.AssetIn(key_prefix=["lake"])})
def cleaned(landing: pd.DataFrame) -> pd.DataFrame:
    return landing[landing["id"] > 1]


# ---------------------------------------------------------------------- a graph-backed asset


@dg.op
def filter_big(cleaned: pd.DataFrame) -> pd.DataFrame:
    return cleaned[cleaned["id"] > 2]


@dg.op
def count_them(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"rows": [len(df)]})


@dg.graph_asset
def big_count(cleaned: pd.DataFrame) -> pd.DataFrame:
    return count_them(filter_big(cleaned))


MAIN = [topstory_ids, topstories, most_frequent_words, orders, asset1, a, b, c_and_d, e_and_f, landing, cleaned, big_count]
CHECKS = [orders_id_has_no_nulls, orders_not_empty, orders_amounts_positive]
SOURCES = [source_file]

everything = dg.define_asset_job("everything", selection=dg.AssetSelection.assets(*MAIN), hooks=frontier_hooks())
# the quickstart assets and a, c and d (b is read from its latest materialization)
quickstart = dg.define_asset_job("quickstart", selection=dg.AssetSelection.groups("hackernews") | dg.AssetSelection.assets("a", "c", "d"),
                                 hooks=frontier_hooks())
observe_sources = dg.define_asset_job("observe_sources", selection=dg.AssetSelection.assets("source_file"))
# without the hooks: until the run is finished in the store, only the instance knows what the
# IO manager did not see (the hackernews assets' MaterializeResult and None, orders' checks)
unhooked = dg.define_asset_job("unhooked", selection=dg.AssetSelection.groups("hackernews") | dg.AssetSelection.assets("orders", "a"))


def definitions(base: str) -> dg.Definitions:
    return dg.Definitions(assets=[*MAIN, *SOURCES], asset_checks=CHECKS, jobs=[everything, quickstart, observe_sources, unhooked],
                          resources={"io_manager": RunPrefixedIOManager(base_path=base)})


def project_definitions() -> dg.Definitions:
    """The definitions with the store of ``FRONTIER_TEST_BASE`` (what the multiprocess
    executor's step processes load, by file: see ``reconstructable``)."""
    return definitions(os.environ["FRONTIER_TEST_BASE"])


def reconstructable(job_name: str):
    """A job the multiprocess executor can rebuild in each step's process (from this file)."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    return ReconstructableRepository.for_file(__file__, "project_definitions").get_reconstructable_job(job_name)
