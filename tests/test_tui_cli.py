"""``frontier-explore`` with no command opens the app; subcommands and --help still work."""

from __future__ import annotations

import pytest

import explorer.cli as cli_mod
import explorer.tui.app as tui_app
from explorer.cli import main
from explorer.demo import DEMO_STORE


@pytest.fixture
def opened(monkeypatch):
    """Record what the CLI would open instead of taking over the terminal."""
    class Calls(list):
        pass

    calls = Calls()

    def fake_run_app(url, storage_options=None, watch=None, label=None, open_options=None, choices=None):
        calls.append({"url": url, "options": storage_options, "watch": watch, "label": label})
        extra.append({"open_options": open_options, "choices": choices})
        return 0

    extra: list = []
    calls.extra = extra

    monkeypatch.setattr(tui_app, "run_app", fake_run_app)
    monkeypatch.setattr(cli_mod, "has_terminal", lambda: True)  # the fake app stands in for the terminal
    return calls


def test_no_argument_opens_the_demo_store(opened):
    assert main([]) == 0
    assert opened == [{"url": str(DEMO_STORE), "options": {}, "watch": None, "label": "demo store"}]


def test_a_store_argument_opens_that_store_with_options(opened, tmp_path):
    assert main([str(tmp_path), "-o", "anon=true", "--storage-option", "endpoint_url=http://127.0.0.1:9", "--watch", "5"]) == 0
    assert opened == [{
        "url": str(tmp_path),
        "options": {"anon": True, "endpoint_url": "http://127.0.0.1:9"},
        "watch": 5.0,
        "label": str(tmp_path),
    }]


def test_subcommands_are_not_mistaken_for_a_store(opened, cli, demo_path):
    res = cli("runs", demo_path, "--format", "json")
    assert res.code == 0 and opened == []
    assert len(res.json()) == len([p for p in demo_path.iterdir() if p.is_dir() and not p.name.startswith("_")])


def test_help_still_prints_the_commands(opened, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "runs" in out and "terminal app" in out
    assert opened == []


def test_bad_app_options_exit_2_without_a_traceback(opened, capsys):
    assert main(["somewhere", "-o", "novalue"]) == 2
    assert main([".", "--watch", "0"]) == 2
    err = capsys.readouterr().err
    assert "not KEY=VALUE" in err and "--watch" in err and "Traceback" not in err
    assert opened == []


def test_a_mistyped_command_is_not_opened_as_a_store(opened, capsys):
    assert main(["rnus"]) == 2
    err = capsys.readouterr().err
    assert "no store at 'rnus'" in err and "runs" in err
    assert opened == []


def test_app_options_reach_the_store(opened, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = tmp_path / "dagster_home"
    home.mkdir()
    assert main(["--no-cache", str(tmp_path), "--dagster-home", str(home)]) == 0
    assert opened[0]["url"] == str(tmp_path)
    assert opened.extra == [{"open_options": {"cache": False, "dagster_home": str(home), "stock_dagster_home": None},
                             "choices": []}]


def _config(tmp_path, monkeypatch, names):
    cfg = tmp_path / "config.toml"
    cfg.write_text("".join(f'[stores.{n}]\nurl = "{tmp_path / n}"\nstorage_options = {{anon = false}}\n' for n in names))
    for n in names:
        (tmp_path / n).mkdir()
    monkeypatch.setenv("FRONTIER_EXPLORE_CONFIG", str(cfg))


def test_a_named_store_opens_by_name(opened, tmp_path, monkeypatch):
    _config(tmp_path, monkeypatch, ["prod", "staging"])
    assert main(["@staging"]) == 0
    assert opened == [{"url": str(tmp_path / "staging"), "options": {"anon": False}, "watch": None, "label": "@staging"}]


def test_one_configured_store_opens_without_a_picker(opened, tmp_path, monkeypatch):
    _config(tmp_path, monkeypatch, ["prod"])
    assert main([]) == 0
    assert opened[0]["url"] == str(tmp_path / "prod") and opened.extra[0]["choices"] == []


def test_several_configured_stores_offer_a_picker(opened, tmp_path, monkeypatch):
    _config(tmp_path, monkeypatch, ["prod", "staging"])
    assert main([]) == 0
    keys = [c[0] for c in opened.extra[0]["choices"]]
    assert keys == ["@prod", "@staging", "demo"]


def test_unknown_named_store_is_one_line(opened, tmp_path, monkeypatch, capsys):
    _config(tmp_path, monkeypatch, ["prod"])
    assert main(["@nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown store @nope" in err and err.count("\n") == 1 and opened == []
