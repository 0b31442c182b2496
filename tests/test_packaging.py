"""What a user gets from ``pip install frontier-explore``: a wheel built from this checkout,
installed outside it, opens the bundled demo store, never writes to it, and refuses to start
the app without a terminal."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_package_of_the_tree_is_listed_for_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "explorer").rglob("__init__.py")}
    assert listed == on_disk | {"explorer.demo_store"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from this checkout, installed (without dependencies: the test
    environment has them) into a folder of its own."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = (work / "dist").glob("frontier_explore-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(work / "site"),
                    str(wheel)], check=True, capture_output=True)
    return work


def _run(installed: Path, *argv: str, stdin=subprocess.DEVNULL, env: dict | None = None) -> subprocess.CompletedProcess:
    """``frontier-explore ARGV`` from the installed wheel, run from outside the checkout."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "NO_COLOR", "COLUMNS")}
    full_env.update(PYTHONPATH=str(installed / "site"), **(env or {}))
    return subprocess.run([sys.executable, "-m", "explorer", *argv], cwd=installed, env=full_env, stdin=stdin,
                          capture_output=True, text=True, timeout=120)


def test_the_wheel_ships_the_demo_store_license_and_types(installed):
    (wheel,) = (installed / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "explorer/py.typed" in names and "explorer/tui/app.tcss" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    site = installed / "site" / "explorer" / "demo_store"
    assert _files(site) == _files(ROOT / "demo_store")  # every file, byte for byte


def test_the_installed_cli_reads_the_bundled_demo_from_outside_the_checkout(installed):
    probe = subprocess.run([sys.executable, "-c", "import explorer.bundled as b; print(b.__file__); print(b.DEMO_STORE)"],
                           cwd=installed, env={**os.environ, "PYTHONPATH": str(installed / "site")},
                           capture_output=True, text=True, check=True).stdout.split()
    assert probe[0].startswith(str(installed / "site")) and probe[1] == str(installed / "site" / "explorer" / "demo_store")
    res = _run(installed, "runs", probe[1], "--format", "json")
    assert res.returncode == 0, res.stderr
    expected = sorted(p.name for p in (ROOT / "demo_store").iterdir() if p.is_dir() and not p.name.startswith("_"))
    assert sorted(r["run_id"] for r in json.loads(res.stdout)) == expected
    # the README's examples name it @demo, which works wherever the package is installed
    by_name = _run(installed, "runs", "@demo", "--format", "json")
    assert by_name.returncode == 0, by_name.stderr
    assert sorted(r["run_id"] for r in json.loads(by_name.stdout)) == expected
    # the name a checkout uses, outside one: one line pointing at @demo
    missing = _run(installed, "runs", "demo_store")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "@demo" in missing.stderr


def test_the_app_without_a_terminal_exits_2_with_one_line(installed):
    res = _run(installed)  # stdin is /dev/null, stdout a pipe: what cron gives a forgotten subcommand
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "needs a terminal" in res.stderr and "Traceback" not in res.stderr


def test_the_bundled_demo_is_never_flagged_in_place(installed):
    demo = installed / "site" / "explorer" / "demo_store"
    before = _files(demo)
    run_id = sorted(p.name for p in demo.iterdir() if p.is_dir() and not p.name.startswith("_"))[-1]
    res = _run(installed, "flag", str(demo), "raw/applications", run_id, "--reason", "leaked label")
    assert res.returncode == 2 and "read-only" in res.stderr and "frontier-explore demo PATH" in res.stderr
    assert _files(demo) == before and not (demo / "_frontier_flags").exists()

    copy = installed / "my-demo"
    res = _run(installed, "demo", str(copy))
    assert res.returncode == 0, res.stderr
    assert _files(copy) == before
    res = _run(installed, "flag", str(copy), "raw/applications", run_id, "--reason", "leaked label")
    assert res.returncode == 0, res.stderr
    flags = _run(installed, "flags", str(copy), "--format", "json")
    assert [(f["asset"], f["run_id"]) for f in json.loads(flags.stdout)] == [("raw/applications", run_id)]
    assert _files(demo) == before
    again = _run(installed, "demo", str(copy))  # never over an existing store
    assert again.returncode == 2 and "not an empty folder" in again.stderr


def test_dagster_home_in_the_environment_leaves_a_frontier_store_alone(installed, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    demo = installed / "site" / "explorer" / "demo_store"
    res = _run(installed, "runs", str(demo), env={"DAGSTER_HOME": str(home)})
    assert res.returncode == 0 and res.stderr == ""
    assert list(home.iterdir()) == []  # no instance opened, no SQLite files made


def test_the_sdist_carries_its_tests_and_they_run(tmp_path):
    import tarfile

    subprocess.run([sys.executable, "-m", "build", "--sdist", "-o", str(tmp_path / "dist"), str(ROOT)],
                   check=True, capture_output=True)
    (sdist,) = (tmp_path / "dist").glob("frontier_explore-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "src", filter="data")
    (src,) = (tmp_path / "src").iterdir()
    for folder in ("tests", "demo_store", "docs"):
        assert _files(src / folder).keys() >= {k for k in _files(ROOT / folder) if "__pycache__" not in k}
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_writer_reader.py", "tests/test_lineage_demo.py"],
                         cwd=src, env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-2000:]
    assert " passed" in res.stdout.splitlines()[-1]
