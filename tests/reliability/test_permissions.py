"""Permission denied on one run: the rest of the store stays usable.

Root ignores file permissions, so the reader runs as the unprivileged user ``nobody``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pandas as pd
import pytest

from explorer import RunWriter


def _can_run_as_nobody() -> bool:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return False
    probe = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", "import explorer"],
        capture_output=True,
        cwd="/",
    )
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _can_run_as_nobody(), reason="needs root, setpriv and a python readable by nobody")


def test_permission_denied_on_one_run():
    root = tempfile.mkdtemp(prefix="perm-")
    try:
        os.chmod(root, 0o755)
        store = os.path.join(root, "store")
        for run_id in ("open-1", "locked", "open-2"):
            with RunWriter(store, run_id=run_id) as run:
                run.write("a", pd.DataFrame({"x": [1]}))
        for dirpath, dirnames, filenames in os.walk(store):
            os.chmod(dirpath, 0o755)
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), 0o644)
        os.chmod(os.path.join(store, "locked", "_frontier"), 0o000)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        out = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-m", "explorer", "runs", store, "--format", "json"],
            capture_output=True, text=True, cwd="/", env=env,
        )
        assert out.returncode == 0, out.stderr
        assert [r["run_id"] for r in json.loads(out.stdout)] == ["open-2", "open-1"]  # newest first
        assert "locked" in out.stderr and "permission denied" in out.stderr
        assert "Traceback" not in out.stderr
    finally:
        os.chmod(os.path.join(root, "store", "locked", "_frontier"), 0o755)
        shutil.rmtree(root)
