"""Named stores from $XDG_CONFIG_HOME/frontier-explore/config.toml: @name works in every
subcommand, ``stores`` lists them, secrets are never shown, bad configs are one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.config import ConfigError, load_config, resolve_store
from s3_support import RUN_IDS, write_pipeline


@pytest.fixture
def config(tmp_path, monkeypatch):
    """Write a config file under a temporary XDG_CONFIG_HOME; returns a writer."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("FRONTIER_EXPLORE_CONFIG", raising=False)

    def write(text: str) -> Path:
        p = home / "frontier-explore" / "config.toml"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    return write


@pytest.fixture
def pipeline(tmp_path) -> str:
    path = str(tmp_path / "store")
    write_pipeline(path)
    return path


def test_load_config_reads_names_urls_and_options(config):
    p = config(
        '[stores.prod]\nurl = "s3://acme/prod"\ndescription = "production"\n'
        'storage_options = { profile = "prod-ro", endpoint_url = "https://s3.acme", anon = false }\n'
        '[stores.dev]\nurl = "./dev-store"\n'
    )
    cfg = load_config()
    assert cfg.path == p
    assert list(cfg.stores) == ["prod", "dev"]
    prod = cfg.stores["prod"]
    assert (prod.url, prod.description) == ("s3://acme/prod", "production")
    assert prod.storage_options == {"profile": "prod-ro", "endpoint_url": "https://s3.acme", "anon": False}
    assert cfg.stores["dev"].storage_options == {}


def test_resolve_store_by_name_with_overrides(config):
    config('[stores.prod]\nurl = "s3://acme/prod"\nstorage_options = { profile = "a", endpoint_url = "https://x" }\n')
    assert resolve_store("@prod") == ("s3://acme/prod", {"profile": "a", "endpoint_url": "https://x"})
    assert resolve_store("@prod", {"profile": "b"}) == ("s3://acme/prod", {"profile": "b", "endpoint_url": "https://x"})
    assert resolve_store("s3://other/x", {"anon": True}) == ("s3://other/x", {"anon": True})
    with pytest.raises(ConfigError, match="unknown store @nope.*@prod"):
        resolve_store("@nope")


def test_no_config_file_means_no_named_stores(config, cli):
    assert load_config().stores == {}
    r = cli("stores")
    assert r.code == 0 and "no named stores" in r.out
    r = cli("runs", "@prod")
    assert r.code == 2 and "unknown store @prod" in r.err and r.err.count("\n") == 1


@pytest.mark.parametrize("text, message", [
    ("[stores.prod\nurl=1", "not valid TOML"),
    ('[stores.prod]\ndescription = "no url"\n', "has no url"),
    ('[stores.prod]\nurl = "s3://a"\nstorage_options = "endpoint=x"\n', "storage_options must be a table"),
    ('stores = 3\n', "must be a table"),
])
def test_a_bad_config_is_one_line(config, cli, text, message):
    config(text)
    r = cli("runs", "@prod")
    assert r.code == 2 and message in r.err and r.err.count("\n") == 1 and "Traceback" not in r.err


def test_every_subcommand_accepts_a_named_store(config, cli, pipeline):
    config(f'[stores.local]\nurl = "{pipeline}"\n')
    for args in (("runs",), ("assets",), ("lineage",), ("show", "scores"), ("provenance", "scores"),
                 ("impact", "raw/transactions")):
        by_name = cli(args[0], "@local", *args[1:], "-f", "json")
        by_path = cli(args[0], pipeline, *args[1:], "-f", "json")
        assert by_name.code == 0, (args, by_name.err)
        assert by_name.json() == by_path.json(), args
    # the name may also come first: frontier-explore @local runs
    assert cli("@local", "runs", "-f", "json").json() == cli("runs", pipeline, "-f", "json").json()
    assert [r["run_id"] for r in cli("@local", "runs", "-f", "json").json()] == RUN_IDS[::-1]  # newest first


def test_stores_lists_configured_stores_without_secrets(config, cli):
    config(
        '[stores.prod]\nurl = "s3://acme/prod"\n'
        'storage_options = { key = "AKIAEXAMPLEKEY", secret = "wJalrXUtnFEMI-very-secret", '
        'client_kwargs = { aws_session_token = "tok-123-secret" }, endpoint_url = "https://s3.acme" }\n'
        '[stores.dev]\nurl = "/data/dev"\ndescription = "my laptop"\n'
    )
    for r in (cli("stores"), cli("stores", "-f", "json")):
        assert r.code == 0
        for secret in ("AKIAEXAMPLEKEY", "wJalrXUtnFEMI-very-secret", "tok-123-secret"):
            assert secret not in r.out + r.err
    data = cli("stores", "-f", "json").json()
    assert [s["name"] for s in data["stores"]] == ["prod", "dev"]
    prod = data["stores"][0]
    assert prod["storage_options"]["endpoint_url"] == "https://s3.acme"
    assert prod["storage_options"]["secret"] == "***" and prod["storage_options"]["key"] == "***"
    assert prod["storage_options"]["client_kwargs"] == {"aws_session_token": "***"}
    text = cli("stores").out
    assert "@prod" in text and "s3://acme/prod" in text and "my laptop" in text


def test_config_file_from_environment(tmp_path, monkeypatch, pipeline, cli):
    p = tmp_path / "elsewhere.toml"
    p.write_text(f'[stores.x]\nurl = "{pipeline}"\n')
    monkeypatch.setenv("FRONTIER_EXPLORE_CONFIG", str(p))
    assert load_config().path == p
    assert cli("runs", "@x", "-f", "json").code == 0


def test_at_demo_names_the_bundled_demo_store_unless_configured(config):
    from explorer.bundled import DEMO_STORE

    assert resolve_store("@demo", {}) == (str(DEMO_STORE), {})
    config('[stores.demo]\nurl = "s3://team/demo"\n')
    assert resolve_store("@demo", {}) == ("s3://team/demo", {})  # a configured store of that name wins


def test_the_library_opens_named_stores_as_the_cli_does(config, pipeline, demo_path):
    """``Store.open("@name")`` in a notebook is the store ``frontier-explore ... @name`` shows;
    ``@demo`` the bundled demo, read-only there too."""
    from explorer import Store
    from explorer.errors import ReadOnlyStore

    config(f'[stores.local]\nurl = "{pipeline}"\n')
    by_name, by_path = Store.open("@local", cache=False), Store.open(pipeline, cache=False)
    assert by_name.url == by_path.url and [r.run_id for r in by_name.runs] == RUN_IDS
    assert by_name.index.versions == by_path.index.versions
    demo = Store.open("@demo", cache=False)
    assert Path(demo.url).resolve() == Path(demo_path).resolve()
    assert [r.run_id for r in demo.runs] == [r.run_id for r in Store.open(str(demo_path), cache=False).runs]
    with pytest.raises(ReadOnlyStore):
        demo.flag("features", demo.runs[-1].run_id, reason="checking")
    with pytest.raises(ConfigError, match="unknown store @nope"):
        Store.open("@nope")
