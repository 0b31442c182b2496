"""Diff results are frozen typed structures read by attribute; their ``to_dict`` is the JSON
the CLI prints (the shapes docs/diff.md documents), checked here against hand-built truth."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from explorer import RunWriter, Store
from explorer.diff import Pair, PathChange, PathValue, ValueChange


def _two(store_path, key, a, b, **kw):
    for i, value in enumerate((a, b)):
        with RunWriter(store_path, job="j", code_version=f"c{i}") as run:
            run.write(key, value, metadata={"note": f"n{i}"}, **kw)
    return Store.open(store_path)


def test_json_diff_entries_are_typed_and_serialise_as_documented(store_path, cli):
    a = {"keep": 1, "gone": [1, 2], "nested": {"x": 1.5}}
    b = {"keep": 1, "new": "y", "nested": {"x": 2.5}}
    d = _two(store_path, "doc", a, b).diff("doc")
    assert d.json.added == (PathValue("new", "y"),)
    assert d.json.removed == (PathValue("gone", [1, 2]),)
    assert d.json.changed == (PathChange("nested.x", 1.5, 2.5),)
    assert d.metadata["metadata.note"] == ValueChange("n0", "n1")
    assert d.metadata["code_version"] == ValueChange("c0", "c1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.json.changed[0].a = 0
    doc = d.to_dict()
    assert doc["json"] == {"added": [{"path": "new", "value": "y"}], "removed": [{"path": "gone", "value": [1, 2]}],
                           "changed": [{"path": "nested.x", "from": 1.5, "to": 2.5}]}
    assert doc["metadata"]["metadata.note"] == {"from": "n0", "to": "n1"}
    out = cli("diff", store_path, "doc", "previous", "latest", "--format", "json")
    assert json.loads(out.out)["json"] == doc["json"]


def test_array_and_opaque_diffs_hold_pairs(store_path):
    store = _two(store_path, "arr", np.zeros((2, 3)), np.ones((3, 2), dtype=np.int32))
    d = store.diff("arr")
    assert d.array.shape == Pair((2, 3), (3, 2)) and d.array.dtype == Pair("float64", "int32")
    assert d.to_dict()["array"]["shape"] == {"a": [2, 3], "b": [3, 2]}
    store = _two(store_path, "blob", b"abc", b"abcd")
    o = store.diff("blob").opaque
    assert o.size == Pair(3, 4) and not o.equal
    assert store.diff("blob").to_dict()["opaque"]["size"] == {"a": 3, "b": 4}
