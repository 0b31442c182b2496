"""Fuzzing the indexer: random and mutated manifests and sidecars never raise anything but
the project's own errors, and writer -> reader round trips hold for random asset graphs."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer import RunWriter, Store
from explorer.errors import ExplorerError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)

_TEMPLATE: dict = {}


def _template() -> tuple[dict, dict]:
    if not _TEMPLATE:
        with tempfile.TemporaryDirectory() as d:
            with RunWriter(d, run_id="r1", job="j", plan={"a": [], "b": ["a"]}) as run:
                run.write("a", pd.DataFrame({"x": [1, 2]}))
                run.write("b", {"k": 1}, inputs=["a"])
            _TEMPLATE["run"] = json.loads(Path(d, "r1/_frontier/run.json").read_text())
            _TEMPLATE["store"] = Path(d, "_frontier_store.json").read_text()
    return json.loads(json.dumps(_TEMPLATE["run"])), _TEMPLATE["store"]


def _mutate(doc, path: list, value):
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value


def _paths(doc, prefix=()):
    yield list(prefix)
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _open_never_crashes(root: Path) -> None:
    try:
        store = Store.open(str(root))
    except ExplorerError:
        return
    # whatever loaded must be queryable
    for key in store.assets():
        store.asset_versions(key)
        store.provenance(key)
        store.impact(key)
    store.asset_graph()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=json_values)
def test_mutated_manifest(data, value):
    doc, marker = _template()
    paths = [p for p in _paths(doc) if p]
    path = data.draw(st.sampled_from(paths))
    _mutate(doc, path, value)
    with tempfile.TemporaryDirectory() as d:
        Path(d, "_frontier_store.json").write_text(marker)
        Path(d, "r1/_frontier").mkdir(parents=True)
        Path(d, "r1/_frontier/run.json").write_text(json.dumps(doc))
        _open_never_crashes(Path(d))


@settings(max_examples=80, deadline=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes_as_manifest_and_sidecar(raw):
    with tempfile.TemporaryDirectory() as d:
        Path(d, "r1/_frontier/versions").mkdir(parents=True)
        Path(d, "r1/_frontier/run.json").write_bytes(raw)
        Path(d, "r2/_frontier/versions").mkdir(parents=True)
        doc, marker = _template()
        doc["run_id"] = "r2"
        doc.pop("consolidated")
        doc.pop("versions")
        Path(d, "r2/_frontier/run.json").write_text(json.dumps(doc))
        Path(d, "r2/_frontier/versions/a.json").write_bytes(raw)
        _open_never_crashes(Path(d))


@st.composite
def dags(draw):
    n = draw(st.integers(1, 7))
    edges = {i: sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else [] for i in range(n)}
    return edges


@settings(max_examples=25, deadline=None)
@given(dag=dags(), seed=st.integers(0, 1000))
def test_round_trip_random_graphs(dag, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as d:
        written = {}
        with RunWriter(d, run_id="r1") as run:
            for node, ups in dag.items():
                df = pd.DataFrame({"v": rng.integers(0, 100, int(rng.integers(0, 20)))})
                written[f"n{node}"] = df
                run.write(f"n{node}", df, inputs=[f"n{u}" for u in ups])
        store = Store.open(d)
        g = store.asset_graph()
        assert set(g.edges) == {(f"n{u}", f"n{n}") for n, ups in dag.items() for u in ups}
        for key, df in written.items():
            back = store.load(key)
            assert back["v"].tolist() == df["v"].tolist()
            assert store.latest(key).table.num_rows == len(df)
