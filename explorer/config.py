"""Named stores: ``$XDG_CONFIG_HOME/frontier-explore/config.toml`` maps names to URLs and
storage options, so that ``@prod`` stands for a store everywhere a URL is accepted::

    [stores.prod]
    url = "s3://acme-ml/pipelines/credit"
    storage_options = { profile = "prod-readonly" }
    description = "production runs"

    [stores.staging]
    url = "s3://acme-ml-staging/pipelines/credit"
    storage_options = { endpoint_url = "https://minio.internal:9000" }

``@demo`` always names the bundled (read-only) demo store, unless the config defines a store
called ``demo``. ``$FRONTIER_EXPLORE_CONFIG`` points at another file. Secrets are best left to the AWS
profile or environment variables; if a config holds them, they are never printed.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ExplorerError
from .store.fs import redact_options

APP_NAME = "frontier-explore"
ENV_CONFIG = "FRONTIER_EXPLORE_CONFIG"
DEMO_NAME = "demo"
"""``@demo``: the bundled demo store, wherever the package is installed."""


class ConfigError(ExplorerError):
    """The config file is malformed or names an unknown store."""


@dataclass(frozen=True)
class NamedStore:
    """A store configured under a name."""

    name: str
    url: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Safe to show: credential values are replaced by ``***``."""
        return {
            "name": self.name,
            "url": self.url,
            "storage_options": redact_options(self.storage_options),
            "description": self.description,
        }


@dataclass(frozen=True)
class Config:
    path: Path
    stores: dict[str, NamedStore] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "stores": [s.to_dict() for s in self.stores.values()]}


def config_path() -> Path:
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME")
    if base:
        return Path(base).expanduser() / APP_NAME / "config.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def load_config(path: str | Path | None = None) -> Config:
    """The configuration (no file: no named stores). Raises ConfigError when malformed."""
    p = Path(path) if path is not None else config_path()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return Config(p)
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror or exc}") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {p} is not valid TOML: {exc}") from None
    stores_raw = doc.get("stores", {})
    if not isinstance(stores_raw, dict):
        raise ConfigError(f"config {p}: [stores] must be a table")
    stores: dict[str, NamedStore] = {}
    for name, item in stores_raw.items():
        where = f"config {p}: store {name!r}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where} must be a table with a url")
        url = item.get("url")
        if not isinstance(url, str) or not url:
            raise ConfigError(f"{where} has no url")
        options = item.get("storage_options", {})
        if not isinstance(options, dict):
            raise ConfigError(f"{where}: storage_options must be a table")
        desc = item.get("description")
        stores[name] = NamedStore(name, url, dict(options), str(desc) if desc is not None else None)
    return Config(p, stores)


def resolve_store(
    name_or_url: str, storage_options: dict[str, Any] | None = None, config: Config | None = None
) -> tuple[str, dict[str, Any]]:
    """``"@prod"`` -> (url, storage options) of the store configured as ``prod``; a URL or
    path passes through unchanged. Options given here override the configured ones."""
    given = dict(storage_options or {})
    if not name_or_url.startswith("@"):
        return name_or_url, given
    name = name_or_url[1:]
    cfg = config if config is not None else load_config()
    store = cfg.stores.get(name)
    if store is None and name == DEMO_NAME:
        from .bundled import DEMO_STORE

        return str(DEMO_STORE), given
    if store is None:
        known = ", ".join("@" + n for n in cfg.stores) or "none"
        raise ConfigError(f"unknown store @{name} (configured in {cfg.path}: {known}; @{DEMO_NAME} is the bundled demo store)")
    return store.url, {**store.storage_options, **given}
