"""Real Dagster jobs and assets used by tests/test_dagster_*.py.

Module level so that ``dg.reconstructable`` can find them for re-execution. Where data goes is
set through environment variables (``FRONTIER_TEST_BASE``: the store; ``FRONTIER_TEST_FAIL``:
the name of an op that raises) so that one definition serves every test.
"""

from __future__ import annotations

import os

import dagster as dg
import pandas as pd

from explorer.dagster.io import RunPrefixedIOManager, frontier_hooks

SOURCE = pd.DataFrame({"id": [1, 2, 3, 4], "value": [10.0, 20.0, 30.0, 40.0]})


def _maybe_fail(name: str) -> None:
    if os.environ.get("FRONTIER_TEST_FAIL") == name:
        raise RuntimeError(f"{name} failed on purpose")


# ---------------------------------------------------------------------- diamond: a -> (b, c) -> d


@dg.op(code_version="load-v1")
def load_source() -> pd.DataFrame:
    return SOURCE.copy()


@dg.op(code_version="double-v1")
def double(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(value=df["value"] * 2)


@dg.op
def total(df: pd.DataFrame) -> float:
    return float(df["value"].sum())


@dg.op
def combine(doubled: pd.DataFrame, tot: float):
    out = doubled.assign(share=doubled["value"] / tot)
    return dg.Output(out, metadata={"rows": len(out), "note": "doubled over total"})


@dg.job
def diamond():
    src = load_source()
    combine(double(src), total(src))


# ---------------------------------------------------------------------- dynamic outputs


FAN_OUT = {"north": 1, "south": 2, "east": 3}


@dg.op(out=dg.DynamicOut())
def fan_out():
    for key, n in FAN_OUT.items():
        yield dg.DynamicOutput(SOURCE.head(n).copy(), mapping_key=key)


@dg.op
def count_rows(df: pd.DataFrame) -> int:
    return len(df)


@dg.op
def add_up(counts: list) -> int:
    return sum(counts)


@dg.job
def dynamic():
    add_up(fan_out().map(count_rows).collect())


# ---------------------------------------------------------------------- failure and re-execution


@dg.op
def extract() -> pd.DataFrame:
    return SOURCE.copy()


@dg.op
def transform(df: pd.DataFrame) -> pd.DataFrame:
    _maybe_fail("transform")
    return df.assign(value=df["value"] + 1)


@dg.op
def publish(df: pd.DataFrame) -> dict:
    return {"rows": len(df), "sum": float(df["value"].sum())}


@dg.job(
    resource_defs={"io_manager": RunPrefixedIOManager(base_path=dg.EnvVar("FRONTIER_TEST_BASE"))},
    executor_def=dg.in_process_executor,
    hooks=frontier_hooks(),
)
def flaky():
    publish(transform(extract()))


@dg.job(
    resource_defs={"io_manager": dg.FilesystemIOManager(base_dir=dg.EnvVar("FRONTIER_TEST_BASE"))},
    executor_def=dg.in_process_executor,
)
def flaky_stock():
    publish(transform(extract()))


# ---------------------------------------------------------------------- assets


@dg.asset(key_prefix=["warehouse"], code_version="raw-v1")
def raw() -> pd.DataFrame:
    return SOURCE.copy()


@dg.asset(code_version="features-v1", ins={"raw": dg.AssetIn(key=["warehouse", "raw"])})
def features(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.assign(feature=raw["value"] / 10)


@dg.asset(code_version="model-v1")
def model(features: pd.DataFrame) -> dict:
    return {"weights": float(features["feature"].sum())}


@dg.asset(deps=[features])
def report() -> str:
    return "report built next to the features (not loaded through the IO manager)"


ASSETS = [raw, features, model, report]


# ---------------------------------------------------------------------- partitioned assets

REGIONS = dg.StaticPartitionsDefinition(["emea", "apac"])


@dg.asset(partitions_def=REGIONS)
def sales(context) -> pd.DataFrame:
    region = context.partition_key
    return pd.DataFrame({"region": [region] * 2, "amount": [1.0, 2.0] if region == "emea" else [5.0, 7.0]})


@dg.asset(partitions_def=REGIONS)
def sales_total(sales: pd.DataFrame) -> float:
    return float(sales["amount"].sum())


DAILY = dg.DailyPartitionsDefinition(start_date="2023-01-20", end_date="2023-01-25")
COLORS = dg.StaticPartitionsDefinition(["red", "blue"])
DATE_COLOR = dg.MultiPartitionsDefinition({"date": DAILY, "color": COLORS})
RELEASES = dg.DynamicPartitionsDefinition(name="releases")


@dg.asset(partitions_def=DAILY)
def events(context) -> pd.DataFrame:
    """A day's events; FRONTIER_TEST_EVENTS_BUMP changes the content of every day."""
    day = context.partition_key
    bump = int(os.environ.get("FRONTIER_TEST_EVENTS_BUMP", "0"))
    return pd.DataFrame({"day": [day] * 3, "value": [1 + bump, 2, int(day[-2:])]})


@dg.asset(partitions_def=DAILY,
          ins={"events": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1))})
def yesterday_stats(context, events: pd.DataFrame) -> pd.DataFrame:
    """Built from the day before (as Dagster's docs' ``yesterday_event_stats``)."""
    return pd.DataFrame({"day": [context.partition_key], "total": [int(events["value"].sum())]})


@dg.asset(partitions_def=COLORS)
def paint(context) -> pd.DataFrame:
    return pd.DataFrame({"color": [context.partition_key]})


@dg.asset(partitions_def=DATE_COLOR)
def multi_partitions_asset(context) -> pd.DataFrame:
    keys = context.partition_key.keys_by_dimension
    return pd.DataFrame({"date": [keys["date"]], "color": [keys["color"]]})


@dg.asset(partitions_def=RELEASES)
def releases_metadata(context) -> pd.DataFrame:
    return pd.DataFrame({"release": [context.partition_key]})


@dg.asset(partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
def daily_range(context) -> dict:
    """One run for a range of days: {partition key: value}, as UPathIOManager takes it."""
    return {day: pd.DataFrame({"day": [day]}) for day in context.partition_keys}


PARTITIONED = [events, yesterday_stats, paint, multi_partitions_asset, releases_metadata, daily_range]


# ---------------------------------------------------------------------- switching an existing project over


@dg.io_manager
def switching_io_manager(init_context):
    """Dagster's stock FilesystemIOManager, or RunPrefixedIOManager when FRONTIER_TEST_IO is
    "frontier": a project moving to RunPrefixedIOManager between a run and its re-execution."""
    base = os.environ["FRONTIER_TEST_BASE"]
    if os.environ.get("FRONTIER_TEST_IO") == "frontier":
        return RunPrefixedIOManager(base_path=base)
    return dg.FilesystemIOManager(base_dir=base).create_io_manager(init_context)


@dg.job(resource_defs={"io_manager": switching_io_manager}, executor_def=dg.in_process_executor)
def switching():
    publish(transform(extract()))
