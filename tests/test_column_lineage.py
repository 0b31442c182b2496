"""Column lineage: declared (Dagster's ``dagster/column_lineage`` entry, given to the writer)
and certain pass-throughs, joined version to version, up and down; the CLI, OpenLineage's
``columnLineage`` facet, and refusals of lineage that names what is not there."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from explorer import RunWriter, Store, export
from explorer.errors import WriteError


def edges(result) -> set[tuple]:
    return {(e.asset, e.run_id, e.column, e.source_asset, e.source_run_id, e.source_column, e.kind) for e in result.edges}


@pytest.fixture
def chain(tmp_path):
    """r1: raw -> clean (income_k from income; id, age passed through) -> features (ratio from
    income_k and age); r2: a new raw only, with other incomes."""
    url = str(tmp_path / "store")
    raw = pd.DataFrame({"id": [1, 2, 3], "income": [10.0, 20.0, 30.0], "age": [30, 40, 50]})
    clean = raw.assign(income_k=raw.income / 1000).drop(columns=["income"])
    feats = clean.assign(ratio=clean.income_k / clean.age)
    with RunWriter(url, run_id="r1") as run:
        run.write("raw", raw)
        run.write("clean", clean, inputs=["raw"], column_lineage={"income_k": [("raw", "income")]})
        run.write("features", feats, inputs=["clean"], column_lineage={"ratio": ["clean.income_k", "clean.age"]})
    with RunWriter(url, run_id="r2") as run:
        run.write("raw", raw.assign(income=[11.0, 21.0, 31.0]))
    return url


def test_upstream_follows_the_versions_each_run_consumed(chain):
    store = Store.open(chain)
    got = edges(store.column_lineage("features", "ratio"))
    assert got == {
        ("features", "r1", "ratio", "clean", "r1", "income_k", "declared"),
        ("features", "r1", "ratio", "clean", "r1", "age", "declared"),
        ("clean", "r1", "income_k", "raw", "r1", "income", "declared"),  # r1's raw, not the newer r2
        ("clean", "r1", "age", "raw", "r1", "age", "inferred"),  # passed through: same statistics
    }
    assert store.column_lineage("features", "ratio").sources() == {("raw", "income"), ("raw", "age")}


def test_downstream_from_a_source_column(chain):
    store = Store.open(chain)
    got = edges(store.column_lineage("raw", "income", run="r1", direction="downstream"))
    assert got == {
        ("clean", "r1", "income_k", "raw", "r1", "income", "declared"),
        ("features", "r1", "ratio", "clean", "r1", "income_k", "declared"),
        ("features", "r1", "income_k", "clean", "r1", "income_k", "inferred"),
    }
    assert edges(store.column_lineage("raw", "income", direction="downstream")) == set()  # r2's raw: nothing built from it


def test_pass_through_is_inferred_only_when_certain(tmp_path):
    url = str(tmp_path / "store")
    a = pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0]})
    with RunWriter(url, run_id="r1") as run:
        run.write("a", a)
        run.write("b", a.assign(y=[5, 6]))  # id and x like a's
        run.write("from_both", a, inputs=["a", "b"])  # id and x could come from either: no edge
        run.write("changed", a.assign(x=[1.0, 3.0]), inputs=["a"])  # x differs: only id passes through
    store = Store.open(url)
    assert edges(store.column_lineage("from_both", "x")) == set()
    assert edges(store.column_lineage("changed", "x")) == set()
    assert edges(store.column_lineage("changed", "id")) == {("changed", "r1", "id", "a", "r1", "id", "inferred")}


def test_the_writer_refuses_lineage_naming_what_is_not_there(tmp_path):
    url = str(tmp_path / "store")
    df = pd.DataFrame({"c": [1]})
    with RunWriter(url, run_id="r1") as run:
        run.write("a", df)
        for bad, says in (({"nope": [("a", "c")]}, "does not have"), ({"c": [("b", "c")]}, "not among its inputs"),
                          ({"c": ["no-dot"]}, "not an (asset, column) pair"), ({"c": "a.c"}, "must be a list")):
            with pytest.raises(WriteError, match=r"\(|not|must") as err:
                run.write("b", df, inputs=["a"], column_lineage=bad)
            assert says in str(err.value) and "\n" not in str(err.value)
        run.write("b", df, inputs=["a"], column_lineage={"c": [{"asset_key": "a", "column_name": "c"}]})
    v = Store.open(url).version("b")
    assert v.metadata["dagster/column_lineage"] == {"deps_by_column": {"c": [{"asset_key": "a", "column_name": "c"}]}}


def test_cli_column_lineage(cli, chain):
    res = cli("lineage", chain, "features", "--column", "ratio", "--format", "json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["direction"] == "upstream" and len(doc["edges"]) == 4
    table = cli("lineage", chain, "features", "--column", "ratio")
    assert "clean.income_k" in table.out and "raw.income" in table.out and "declared" in table.out
    for argv, says in ((["features", "--column", "nope"], "no column 'nope'"), (["--column", "ratio"], "needs an ASSET")):
        bad = cli("lineage", chain, *argv)
        assert bad.code == 2 and says in bad.err and len(bad.err.strip().splitlines()) == 1


def test_hostile_column_names_print_as_written(cli, tmp_path):
    url = str(tmp_path / "store")
    odd = "[bold red]c[/]\x1b[31m"
    df = pd.DataFrame({odd: [1]})
    with RunWriter(url, run_id="r1") as run:
        run.write("a", df)
        run.write("b", df, inputs=["a"])
    res = cli("lineage", url, "b", "--column", odd)
    assert res.code == 0 and "\x1b" not in res.out and "[bold red]c[/]" in res.out


def test_openlineage_carries_the_column_lineage(chain):
    store = Store.open(chain)
    events = export.openlineage_events(store)
    outputs = {o["name"].rsplit("/", 1)[-1]: o for e in events for o in e.get("outputs", []) if o["facets"]}
    facet = outputs["features.parquet"]["facets"]["columnLineage"]
    clean = next(o for name, o in outputs.items() if name.startswith("clean"))
    ratio = facet["fields"]["ratio"]["inputFields"]
    assert {(f["name"], f["field"]) for f in ratio} == {(clean["name"], "income_k"), (clean["name"], "age")}
    assert all(f["namespace"] == clean["namespace"] for f in ratio)
    passed = facet["fields"]["income_k"]["inputFields"]
    assert passed[0]["transformations"][0]["subtype"] == "IDENTITY"
