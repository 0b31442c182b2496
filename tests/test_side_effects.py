"""Opening a store has no lasting effect on the caller's process: the garbage collector is
left as it was unless the caller asks for a freeze (the CLI does), and the index keeps its
class (no ``__class__`` swapping) while its versions are read on first use."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from catalogue_support import build_store

CHILD = textwrap.dedent(
    """
    import gc, json, sys
    import explorer.index
    explorer.index.FREEZE_MIN = -1          # every load counts as large
    from explorer import Store
    gc.collect()
    before = gc.get_freeze_count()
    enabled = gc.isenabled()
    store = Store.open(sys.argv[1], cache=True, freeze_gc=sys.argv[2] == "freeze")
    lazy_type = type(store.index).__name__
    keys = store.index.asset_keys()          # the versions are read now
    print(json.dumps({"frozen": gc.get_freeze_count() - before, "enabled": gc.isenabled() == enabled,
                      "types": [lazy_type, type(store.index).__name__], "keys": keys}))
    """
)


def _child(url: str, mode: str, cache_dir) -> dict:
    import json
    import os

    env = {**os.environ, "FRONTIER_EXPLORE_CACHE_DIR": str(cache_dir)}
    out = subprocess.run([sys.executable, "-c", CHILD, url, mode], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def test_a_library_user_gets_no_gc_freeze_and_the_cli_process_does(tmp_path):
    url = str(tmp_path / "store")
    build_store(url, runs=3)
    for mode in ("plain", "freeze"):  # (a cold open and, below, warm opens: the lazy index)
        _child(url, mode, tmp_path / "cache")
    plain = _child(url, "plain", tmp_path / "cache")
    frozen = _child(url, "freeze", tmp_path / "cache")
    assert plain["frozen"] == 0 and plain["enabled"]
    assert frozen["frozen"] > 0 and frozen["enabled"]
    # a warm open from the cache: the index stays the same object of the same class while its
    # versions are parsed on first use, and answers like a plain one
    assert plain["types"] == ["LazyIndex", "LazyIndex"]
    assert {"raw", "features", "model", "scores"} <= set(plain["keys"])  # (catalogue_support: R1 writes these)


def test_the_lazy_index_equals_the_index_read_without_the_cache(tmp_path, monkeypatch):
    from explorer import Store

    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(tmp_path / "cache"))
    url = str(tmp_path / "store")
    build_store(url, runs=3)
    Store.open(url)  # fills the cache
    before = gc.get_freeze_count()
    warm = Store.open(url).index
    cold = Store.open(url, cache=False).index
    assert type(warm).__name__ == "LazyIndex" and type(cold).__name__ == "Index"
    assert warm == cold and cold == warm
    assert repr(warm) == repr(cold)
    assert gc.get_freeze_count() == before
