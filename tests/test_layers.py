"""The import contracts of pyproject.toml (the layers of docs/architecture.md and the two
forbidden contracts) are checked by import-linter itself, so a wrong import fails the suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lint(config: Path | None = None) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    cmd = [exe, "--no-cache"] + (["--config", str(config)] if config else [])
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_every_contract_of_pyproject_is_kept():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert {c["type"] for c in contracts} == {"layers", "forbidden"}
    got = _lint()
    assert got.returncode == 0, got.stdout + got.stderr
    assert f"Contracts: {len(contracts)} kept, 0 broken." in got.stdout


def test_an_import_against_the_arrow_breaks_the_layers_contract(tmp_path):
    # the same tool on the same code, with the arrow turned round (the facade below the index):
    # api imports index, so the contract must be reported broken, naming that import
    config = tmp_path / "reversed.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "explorer"\n\n'
        '[[tool.importlinter.contracts]]\nname = "reversed"\ntype = "layers"\n'
        'layers = ["explorer.index", "explorer.api"]\n'
    )
    got = _lint(config)
    assert got.returncode != 0
    assert "explorer.api is not allowed to import explorer.index" in got.stdout
