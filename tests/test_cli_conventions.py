"""Command-line conventions: typos are named as typos, global options work on either side of
the command, and the top-level help tells how to open the app."""

from __future__ import annotations

import json

import pytest

from explorer.cli import main
from s3_support import bucket, moto_endpoint  # noqa: F401 - fixtures


def test_a_mistyped_command_before_a_store_suggests_the_command(cli, demo_path):
    res = cli("stal", demo_path)
    assert res.code == 2
    assert "no command 'stal'" in res.err and "did you mean stale" in res.err
    assert "unrecognized arguments" not in res.err and res.err.count("\n") == 1


def test_hidden_helper_commands_are_not_listed(cli, tmp_path):
    res = cli(str(tmp_path / "nowhere"))
    assert res.code == 2 and "no store at" in res.err and "__complete" not in res.err


def test_quiet_is_accepted_after_the_command(cli, tmp_path, demo_path):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(demo_path, store)
    (store / "not-a-run").mkdir()  # a folder that is no run: a warning on stderr
    (store / "not-a-run" / "x.txt").write_text("x")
    loud = cli("runs", store, "--format", "json")
    before = cli("-q", "runs", store, "--format", "json")
    after = cli("runs", store, "--format", "json", "-q")
    assert loud.code == before.code == after.code == 0
    assert json.loads(before.out) == json.loads(after.out) == json.loads(loud.out)
    assert before.err == after.err == ""
    assert loud.err != ""


def test_top_level_help_says_how_to_open_the_app(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "STORE" in out and "--watch" in out and "demo store" in out


def _demo_ids(demo_path):
    return sorted(p.name for p in demo_path.iterdir() if p.is_dir() and not p.name.startswith("_"))


def test_a_run_by_its_label_or_a_unique_prefix(cli, demo_path):
    ids = _demo_ids(demo_path)
    r6 = next(r for r in ids if r.endswith("-r6"))
    full = cli("show", demo_path, "features", "--run", r6, "--format", "json")
    for ref in ("r6", r6[:10], r6[:15]):
        res = cli("show", demo_path, "features", "--run", ref, "--format", "json")
        assert res.code == 0, res.err
        assert res.out == full.out
    assert cli("provenance", demo_path, "scores", "--run", "r6", "--format", "json").out == \
        cli("provenance", demo_path, "scores", "--run", r6, "--format", "json").out


def test_an_ambiguous_prefix_names_the_runs_it_matches(cli, demo_path):
    ids = _demo_ids(demo_path)
    prefix = "202609"
    matching = [r for r in ids if r.startswith(prefix)]
    assert len(matching) > 1
    res = cli("show", demo_path, "features", "--run", prefix)
    assert res.code == 2 and "ambiguous" in res.err and matching[0] in res.err


def test_did_you_mean_for_assets_and_runs(cli, demo_path):
    res = cli("show", demo_path, "scorse")
    assert res.code == 2 and "unknown asset 'scorse'" in res.err and "did you mean 'scores'" in res.err
    res = cli("show", demo_path, "features", "--run", "r66")
    assert res.code == 2 and "unknown run 'r66'" in res.err and "'r6'" in res.err


def test_s3_errors_name_the_store_as_the_user_wrote_it(moto_endpoint, bucket, cli):
    """``cannot list store demo/store`` dropped the ``s3://``: the message must give back the URL."""
    opts = ["-o", f"endpoint_url={moto_endpoint}"]
    missing = cli("runs", f"s3://{bucket}/no/such/prefix", *opts)
    assert missing.code == 2 and f"s3://{bucket}/no/such/prefix" in missing.err, missing.err
    no_bucket = cli("runs", "s3://fe-no-such-bucket-here/store", *opts)
    assert no_bucket.code == 2 and "s3://fe-no-such-bucket-here/store" in no_bucket.err, no_bucket.err
    assert "Traceback" not in missing.err + no_bucket.err


def test_a_command_names_itself_in_its_usage(capsys):
    """``frontier-explore runs`` without STORE: usage names the command, not the top-level usage text."""
    with pytest.raises(SystemExit) as exit_:
        main(["runs"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.splitlines()[0].startswith("usage: frontier-explore runs ")
    assert err.strip().splitlines()[-1].startswith("frontier-explore runs: error:")


@pytest.mark.parametrize("args", [
    ["show", "{store}", "features", "--rows", "200"],  # a rich table
    ["history", "{store}", "raw/applications", "--format", "json"],  # JSON, written at once
    ["runs", "{store}", "--format", "tsv"],
])
def test_a_reader_that_stops_early_is_not_an_error(demo_path, tmp_path, args):
    """``frontier-explore ... | head -1``: the command ends with 0 and says nothing on stderr
    (a shell with ``pipefail`` would take rich's exit 1 for a failure), through a real pipe
    closed after the first bytes, in a process of its own."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    store = str(demo_path)
    if args[0] == "runs":  # enough output to fill the pipe: a store with many runs
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
        from gen_store import generate

        store = str(tmp_path / "big")
        generate(store, 400, 4)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent), COLUMNS="80",
               FRONTIER_EXPLORE_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.Popen([sys.executable, "-m", "explorer", *[a.format(store=store) for a in args]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout.read(20)
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    assert proc.stderr.read() == b""


@pytest.mark.parametrize("args", [("runs",), ("assets",), ("versions", "features"), ("flags",), ("stale",),
                                  ("stale", "--plan"), ("history", "features"), ("show", "features"), ("lineage",)])
@pytest.mark.parametrize("columns", ["80", "200"])
def test_piped_output_has_no_trailing_spaces(cli, demo_path, monkeypatch, args, columns):
    """Written to a pipe or a file, no line ends in spaces (rich pads centred titles and short
    cells to the table's width), so ``grep``, ``diff`` and ``sed`` see the text, not padding.
    The text is otherwise the same: its words, in order."""
    monkeypatch.setenv("COLUMNS", columns)
    res = cli(args[0], demo_path, *args[1:])
    assert res.code in (0, 1), res.err
    lines = res.out.splitlines()
    assert len(lines) > 3 and not [line for line in lines if line.endswith(" ")]
    assert any(line.lstrip() != line for line in lines)  # centring and indents (leading spaces) stay
