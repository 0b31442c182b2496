"""Every code block in README.md and docs/ runs as written.

- ``python`` blocks with ``>>>`` are doctests: a file's blocks share one namespace, in order,
  and their printed output must match (``...`` stands for lines left out);
- other ``python`` blocks are executed (a file's blocks share one namespace too);
- ``sh`` blocks: each ``frontier-explore`` line runs and exits 0, or 1 where the command
  reports a finding (``stale``, ``diff --exit-code``, ``verify``); a line that opens the app
  runs in a pseudo-terminal, must draw the store's newest run, and quits on ``q``.

They run in a scratch folder holding a copy of the demo store as ``demo_store/`` (so a block
may flag it, or write ``my_store/``), beside a real S3 endpoint (moto's server) that holds the
demo store at the addresses the docs use (``s3://bucket/store``, ``s3://acme-ml/pipelines/credit``)
and answers the AWS profiles they name; the documented local endpoint
``http://127.0.0.1:9000`` is replaced by the test server's. Blocks shown as output (``console``, ``json``, ...) are
not run. The few lines that need a service this test does not start are listed in ``NEEDS``
with the reason; the list is checked so that it cannot go stale.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from s3_support import TEST_KEY, TEST_SECRET, moto_endpoint  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.M | re.S)

# (file, text the block or line contains) -> why it is not run here
NEEDS = {
    ("README.md", 'pip install -e ".[test]"'): "the test command itself (CI runs it)",
    ("README.md", "pip install -e . && frontier-explore"): "installs and opens the app in a terminal (tests/test_packaging.py)",
    ("docs/dagster.md", "pip install 'frontier-explore[dagster]'"): "an install",
    ("docs/dagster.md", "frontier-explore runs ~/dagster_home/storage"): "a Dagster project's own instance",
    ("docs/dagster.md", "frontier-explore assets s3://bucket/dagster-storage"): "a Dagster project's S3 storage",
    ("docs/dagster.md", "frontier-explore lineage ~/dagster_home/storage"): "a Dagster project's own instance",
    ("docs/dagster.md", "frontier-explore provenance ~/dagster_home/storage"): "a Dagster project's own instance",
    ("docs/dagster.md", "defs = dg.Definitions("): "a sketch of a Dagster project (its assets are elided)",
    ("docs/catalogue.md", "| dot -Tsvg"): "Graphviz",
    ("docs/bi.md", "--watch 60"): "keeps running until stopped (tests/test_catalog_db.py runs --watch)",
    ("docs/report.md", "--format svg"): "Graphviz (tests/test_report.py checks both with and without it)",
    ("README.md", "frontier-explore serve @demo"): "a web server that runs until stopped (tests/test_serve.py)",
    ("docs/serve.md", "frontier-explore serve"): "a web server that runs until stopped (tests/test_serve.py drives it in Chromium)",
    ("docs/serve.md", "pip install 'frontier-explore[serve]'"): "an install",
    ("docs/staleness.md", "|| mail -s"): "a cron line: the team's own store and a mail command",
}
FINDINGS = ("stale", "diff", "verify")  # commands whose exit code 1 means "found something"


def _blocks(path: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(path.read_text())]


def _needs(name: str, text: str) -> str | None:
    return next((why for (f, snippet), why in NEEDS.items() if f == name and snippet in text), None)


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


DOCUMENTED_ENDPOINT = "http://127.0.0.1:9000"
PROFILES = ("default", "prod", "ml-readonly")
S3_STORES = ("bucket/store", "acme-ml/pipelines/credit")


@pytest.fixture(scope="module")
def s3_world(moto_endpoint, demo_path):
    import s3fs

    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": moto_endpoint}, skip_instance_cache=True)
    for address in S3_STORES:
        bucket = address.split("/")[0]
        if not fs.exists(bucket):
            fs.mkdir(bucket)
        fs.put(str(demo_path) + "/", address, recursive=True)
    return moto_endpoint


@pytest.fixture
def scratch(tmp_path, demo_path, monkeypatch, s3_world):
    import s3fs

    shutil.copytree(demo_path, tmp_path / "demo_store")
    config = tmp_path / "aws-config"
    config.write_text("".join(
        f"[{'default' if p == 'default' else 'profile ' + p}]\nregion = us-east-1\nendpoint_url = {s3_world}\n"
        for p in PROFILES))
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("".join(
        f"[{p}]\naws_access_key_id = {TEST_KEY}\naws_secret_access_key = {TEST_SECRET}\n" for p in PROFILES))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_world)
    s3fs.S3FileSystem.clear_instance_cache()  # clients are cached by options, not by environment
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    s3fs.S3FileSystem.clear_instance_cache()


def test_the_list_of_lines_not_run_is_current():
    for (name, snippet), _why in NEEDS.items():
        assert any(snippet in body for _, body in _blocks(ROOT / name)), f"{name} no longer shows {snippet!r}"


@pytest.mark.parametrize("doc", DOCS, ids=_name)
def test_python_blocks_run(doc, scratch):
    name = _name(doc)
    blocks = [body for lang, body in _blocks(doc) if lang == "python" and not _needs(name, body)]
    if not blocks:
        pytest.skip(f"{name} has no python block")
    namespace: dict = {"__name__": "__doc__"}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for i, body in enumerate(blocks):
        if ">>>" in body:
            test = doctest.DocTestParser().get_doctest(body, namespace, f"{name} block {i + 1}", name, 0)
            test.globs = namespace  # get_doctest copies it: the blocks of a file share one namespace
            runner.run(test, clear_globs=False)
        else:
            exec(compile(body, f"{name} block {i + 1}", "exec"), namespace)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see the output above)"


def _commands(body: str) -> list[str]:
    lines, current = [], ""
    for line in body.splitlines():
        current += line.rstrip("\\").strip() + " " if line.rstrip().endswith("\\") else line.strip()
        if not line.rstrip().endswith("\\"):
            if current:
                lines.append(current)
            current = ""
    return [l for l in lines if l and not l.startswith("#")]


def _opens_app(words: list[str]) -> bool:
    from explorer.cli import COMMAND_NAMES, GLOBAL_FLAGS

    rest = [w for w in words[1:] if w not in GLOBAL_FLAGS]
    return not rest or (rest[0] not in COMMAND_NAMES and not rest[0].startswith("-"))


NEWEST_DEMO_RUN = "20261110T020000Z-r9"


def _app_in_pty(words: list[str], cwd: Path, env: dict) -> str | None:
    """Run the app in a pseudo-terminal of 120x36 until it has drawn the demo's newest run,
    then press q. Returns what went wrong, or None."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    proc = subprocess.Popen(words, cwd=cwd, env={**env, "TERM": "xterm-256color"},
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    seen, drawn = b"", False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
            if not drawn and NEWEST_DEMO_RUN.encode() in seen:
                drawn = True
                os.write(master, b"q")
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return "the app did not quit on q"
    finally:
        os.close(master)
    if not drawn:
        return f"the app never drew run {NEWEST_DEMO_RUN} (exit {proc.returncode}): {seen[-300:]!r}"
    return None if code == 0 else f"the app exited {code}"


@pytest.mark.parametrize("doc", DOCS, ids=_name)
def test_shell_blocks_run(doc, scratch, s3_world):
    name = _name(doc)
    commands = [c for lang, body in _blocks(doc) if lang == "sh" for c in _commands(body) if not _needs(name, c)]
    if not commands:
        pytest.skip(f"{name} has no shell line to run")
    exe = Path(sys.executable).with_name("frontier-explore")
    env = {**os.environ, "PATH": f"{exe.parent}{os.pathsep}{os.environ['PATH']}"}
    failures = []
    for command in commands:
        command = command.replace(DOCUMENTED_ENDPOINT, s3_world)
        words = shlex.split(command, comments=True)
        assert words[0] == "frontier-explore", f"{name}: a shell line that is no frontier-explore command: {command}"
        res = subprocess.run(command, shell=True, cwd=scratch, env=env, capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, timeout=120)
        if _opens_app(words):
            problem = _app_in_pty(words, scratch, env)
            if problem:
                failures.append(f"{command}\n  {problem}")
            continue
        allowed = (0, 1) if len(words) > 1 and words[1] in FINDINGS else (0,)
        if res.returncode not in allowed:
            failures.append(f"{command}\n  exit {res.returncode}: {res.stderr.strip()[-500:]}")
    assert not failures, "\n".join(failures)
