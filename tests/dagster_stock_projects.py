"""Dagster projects in the shapes of Dagster's own examples, for tests/test_dagster_stock_projects.py,
run with Dagster's stock FilesystemIOManager (the default ``io_manager``: files under
``$DAGSTER_HOME/storage``, beside Dagster's compute logs).

- ``hackernews``: the older quickstart_etl style, DataFrames passed through the IO manager and
  metadata attached at run time (``num_records``, a markdown ``preview``);
- ``airlines``: graph-backed assets, a graph with two asset outputs (``us_assets``) and a graph
  with one whose first op's output is internal (``layover_breakdown_2022.filter_for_2022``);
- daily events read by ``yesterday_stats`` through ``TimeWindowPartitionMapping(-1, -1)``
  (``dagster_jobs``), a multi-partitioned asset and a multi-partitioned consumer of it;
- static partitions (``paint`` -> ``paint_mix``) and dynamic ones (``releases_metadata`` ->
  ``release_notes`` per release, ``releases_summary`` of every release, ``latest_release`` of
  the last one).

Module level, so that the multiprocess executor's step processes can import the definitions.
``FRONTIER_TEST_FAIL`` names an op that raises.
"""

from __future__ import annotations

import os
import uuid

import dagster as dg
import pandas as pd

import dagster_jobs as jobs

# ---------------------------------------------------------------------- hackernews (quickstart_etl, older style)


@dg.asset(group_name="hackernews", code_version="hn-ids-v1")
def topstory_ids():
    """With a data version of its own, a UUID of the ids (as an asset may give one)."""
    ids = list(range(9100, 9110))
    return dg.Output(ids, data_version=dg.DataVersion(str(uuid.uuid5(uuid.NAMESPACE_URL, ",".join(map(str, ids))))))


@dg.asset(group_name="hackernews")
def topstories(context, topstory_ids: list) -> pd.DataFrame:
    n = int(os.environ.get("FRONTIER_TEST_STORIES", str(len(topstory_ids))))
    df = pd.DataFrame({"id": topstory_ids[:n], "title": [f"story {i} about pipelines" for i in topstory_ids[:n]]})
    context.add_output_metadata({
        "num_records": len(df),
        "preview": dg.MetadataValue.md("| id | title |\n|---|---|\n" + "\n".join(f"| {r.id} | {r.title} |" for r in df.head(3).itertuples())),
    })
    return df


@dg.asset(group_name="hackernews")
def most_frequent_words(context, topstories: pd.DataFrame) -> dict:
    counts: dict[str, int] = {}
    for title in topstories["title"]:
        for word in title.split():
            counts[word] = counts.get(word, 0) + 1
    top = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
    context.add_output_metadata({"top_words": dg.MetadataValue.json(top), "distinct_words": len(counts)})
    return top


HACKERNEWS = [topstory_ids, topstories, most_frequent_words]

# ---------------------------------------------------------------------- airlines (graph-backed assets)


@dg.asset(group_name="airlines")
def passenger_flights() -> pd.DataFrame:
    return pd.DataFrame({
        "year": [2021, 2022, 2022, 2022],
        "country": ["USA", "USA", "USA", "FR"],
        "num_layovers": [0, 1, 2, 1],
    })


@dg.op
def us_only(passenger_flights: pd.DataFrame) -> pd.DataFrame:
    return passenger_flights[passenger_flights["country"] == "USA"]


@dg.op
def layover_share(flights: pd.DataFrame) -> pd.DataFrame:
    share = flights.groupby("num_layovers").size() / len(flights)
    return share.rename("share").reset_index()


@dg.graph(out={"us_flights": dg.GraphOut(), "us_layover_percentages": dg.GraphOut()})
def us_assets(passenger_flights):
    flights = us_only(passenger_flights)
    return {"us_flights": flights, "us_layover_percentages": layover_share(flights)}


@dg.op
def filter_for_2022(flights: pd.DataFrame) -> pd.DataFrame:
    jobs._maybe_fail("filter_for_2022")
    return flights[flights["year"] == 2022]


@dg.graph
def layover_breakdown_2022(us_flights):
    return layover_share(filter_for_2022(us_flights))


AIRLINES = [passenger_flights, dg.AssetsDefinition.from_graph(us_assets),
            dg.AssetsDefinition.from_graph(layover_breakdown_2022)]

# ---------------------------------------------------------------------- partitions


@dg.asset(partitions_def=jobs.DATE_COLOR)
def multi_partition_summary(context, multi_partitions_asset: pd.DataFrame) -> pd.DataFrame:
    """Each (date, color) partition from the same partition of ``multi_partitions_asset``."""
    return multi_partitions_asset.assign(rows=len(multi_partitions_asset))


@dg.asset(partitions_def=jobs.COLORS)
def paint_mix(context, paint: pd.DataFrame) -> pd.DataFrame:
    """A static partition from the same partition of ``paint``."""
    return paint.assign(mixed=f"{context.partition_key} and white")


@dg.asset(partitions_def=jobs.RELEASES)
def release_notes(context, releases_metadata: pd.DataFrame) -> pd.DataFrame:
    """A dynamic partition from the same release (as ``assets_dynamic_partitions``' per-release assets)."""
    return releases_metadata.assign(notes=f"notes of {context.partition_key}")


@dg.asset
def releases_summary(releases_metadata: dict) -> pd.DataFrame:
    """Every release at once (an unpartitioned asset reads all partitions: {partition: value})."""
    return pd.DataFrame({"release": sorted(releases_metadata)})


@dg.asset(ins={"releases_metadata": dg.AssetIn(partition_mapping=dg.LastPartitionMapping())})
def latest_release(releases_metadata: pd.DataFrame) -> pd.DataFrame:
    """The last release only."""
    return releases_metadata


PARTITIONED = [jobs.events, jobs.yesterday_stats, jobs.multi_partitions_asset, multi_partition_summary,
               jobs.paint, paint_mix, jobs.releases_metadata, release_notes, releases_summary, latest_release]

# ---------------------------------------------------------------------- the project

# forkserver: the step processes fork from one process that imported Dagster and this module once
MULTIPROCESS = dg.multiprocess_executor.configured(
    {"max_concurrent": 2, "start_method": {"forkserver": {"preload_modules": ["dagster", "dagster_stock_projects"]}}})

ASSETS = HACKERNEWS + AIRLINES
airline_job = dg.define_asset_job("airline_job", selection=dg.AssetSelection.assets(*AIRLINES), executor_def=MULTIPROCESS)
airline_job_in_process = dg.define_asset_job("airline_job_in_process", selection=dg.AssetSelection.assets(*AIRLINES),
                                             executor_def=dg.in_process_executor)
defs = dg.Definitions(assets=ASSETS + PARTITIONED, jobs=[airline_job, airline_job_in_process])


def get_airline_job():
    return defs.resolve_job_def("airline_job")


def get_airline_job_in_process():
    return defs.resolve_job_def("airline_job_in_process")


# ---------------------------------------------------------------------- the event-log shapes on a stock store

# tests/dagster_projects.py's definitions (quickstart_etl's current style with MaterializeResult,
# -> None and deps=, asset checks, an observable source, multi_asset, a graph asset) with Dagster's
# stock FilesystemIOManager in place of RunPrefixedIOManager, and jobs without frontier hooks
import dagster_projects as events_project  # noqa: E402

STOCK_MAIN = events_project.MAIN
stock_everything = dg.define_asset_job("stock_everything", selection=dg.AssetSelection.assets(*STOCK_MAIN),
                                       executor_def=dg.in_process_executor)
stock_quickstart = dg.define_asset_job("stock_quickstart", selection=dg.AssetSelection.groups("hackernews"),
                                       executor_def=dg.in_process_executor)
stock_observe = dg.define_asset_job("stock_observe", selection=dg.AssetSelection.assets("source_file"),
                                    executor_def=dg.in_process_executor)
stock_events_defs = dg.Definitions(
    assets=[*STOCK_MAIN, *events_project.SOURCES], asset_checks=events_project.CHECKS,
    jobs=[stock_everything, stock_quickstart, stock_observe],
    resources={"io_manager": dg.FilesystemIOManager()},  # under $DAGSTER_HOME/storage
)


# ---------------------------------------------------------------------- a UPathIOManager of one's own


class ParquetIOManager(dg.UPathIOManager):
    """A UPathIOManager subclass as projects write them (Dagster's docs' pattern): DataFrames as
    ``<base>/<asset path>[/<partition>].parquet``, op outputs as ``<run>/<step>/<output>.parquet``."""

    extension = ".parquet"

    def dump_to_path(self, context, obj: pd.DataFrame, path) -> None:
        with path.open("wb") as f:
            obj.to_parquet(f)

    def load_from_path(self, context, path) -> pd.DataFrame:
        with path.open("rb") as f:
            return pd.read_parquet(f)
