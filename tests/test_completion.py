"""Shell completion: the scripts, and the candidates they are given, checked against what is on
disk (the demo store's sidecars) and against the parser's own commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest


def _demo_assets(demo: Path) -> set[str]:
    """Asset keys as the sidecar files name them: <run>/_frontier/versions/<quoted key>.json."""
    return {unquote(p.relative_to(run / "_frontier" / "versions").as_posix()[: -len(".json")])
            for run in demo.iterdir() if run.is_dir() and not run.name.startswith("_")
            for p in (run / "_frontier" / "versions").rglob("*.json")}


def _demo_runs(demo: Path) -> list[str]:
    return sorted((p.name for p in demo.iterdir() if p.is_dir() and not p.name.startswith("_")), reverse=True)


def test_commands_are_offered_from_the_parser(cli):
    res = cli("__complete", "")
    assert res.code == 0
    offered = res.out.split()
    for command in ("runs", "assets", "stale", "diff", "trace", "sql", "completion", "demo"):
        assert command in offered
    assert "__complete" not in offered and "__files__" in offered  # the app takes a STORE path
    assert cli("__complete", "sta").out.split() == ["stale", "__files__"]  # or a store folder named sta...


def test_assets_and_runs_of_the_store_on_the_line(cli, demo_path):
    assets = cli("__complete", "show", str(demo_path), "").out.split()
    assert set(assets) == _demo_assets(demo_path)
    assert cli("__complete", "provenance", str(demo_path), "models/").out.split() == sorted(
        a for a in _demo_assets(demo_path) if a.startswith("models/"))
    runs = cli("__complete", "diff", str(demo_path), "scores", "").out.split()
    assert runs == ["latest", "previous", *_demo_runs(demo_path)]
    assert cli("__complete", "flag", str(demo_path), "features", "").out.split() == _demo_runs(demo_path)
    as_of = cli("__complete", "stale", str(demo_path), "--as-of", "2026092").out.split()
    assert as_of == [r for r in _demo_runs(demo_path) if r.startswith("2026092")]


def test_options_and_their_choices(cli, demo_path):
    opts = cli("__complete", "stale", str(demo_path), "--").out.split()
    assert {"--format", "--as-of", "--max-age", "--fail-on", "--storage-option"} <= set(opts)
    assert cli("__complete", "stale", str(demo_path), "--format", "").out.split() == ["table", "json", "markdown"]
    assert cli("__complete", "cache", "").out.split() == ["clear", "info"]


def test_a_missing_store_completes_nothing_and_prints_no_error(cli, tmp_path):
    res = cli("__complete", "show", str(tmp_path / "nowhere"), "")
    assert res.code == 0 and res.out == "" and res.err == ""


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_script_completes_in_bash(demo_path, tmp_path):
    exe = Path(sys.executable).with_name("frontier-explore")
    assert exe.exists()
    script = subprocess.run([str(exe), "completion", "bash"], capture_output=True, text=True, check=True).stdout
    probe = (script + f'\nCOMP_WORDS=(frontier-explore show {demo_path} feat); COMP_CWORD=3; _frontier_explore; '
             'printf "%s\\n" "${COMPREPLY[@]}"\n')
    env = {**os.environ, "PATH": f"{exe.parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", probe], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=60)
    assert out.stdout.split() == sorted(a for a in _demo_assets(demo_path) if a.startswith("feat"))


def test_scripts_for_each_shell(cli):
    for shell, marker in (("bash", "complete -o filenames -F"), ("zsh", "compdef"), ("fish", "complete -c")):
        res = cli("completion", shell)
        assert res.code == 0 and marker in res.out and "frontier-explore __complete" in res.out


def test_completing_names_never_writes_to_the_store(cli, demo_path, tmp_path):
    import shutil

    from reliability.test_read_only import snapshot

    store = tmp_path / "store"
    shutil.copytree(demo_path, store)
    before = snapshot(store)
    for words in (("show", store, ""), ("diff", store, "scores", ""), ("stale", store, "--as-of", "")):
        assert cli("__complete", *words).out
    assert snapshot(store) == before
