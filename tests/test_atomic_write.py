"""The one atomic local write (``explorer.store.fs.replace_local``, used by the writer, flags and
the index cache): a reader sees the old file or the new one, and a failed write leaves neither
a part of the new one nor a temporary file behind."""

from __future__ import annotations

import os

import fsspec
import pytest

from explorer.store.fs import replace_local, write_atomic


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    path = tmp_path / "sub" / "doc.json"
    write_atomic(fsspec.filesystem("file"), str(path), b"old")
    assert path.read_bytes() == b"old"

    def half(fh):
        fh.write(b"new, half writt")
        raise KeyboardInterrupt  # even an interrupt

    with pytest.raises(KeyboardInterrupt):
        replace_local(path, half)
    assert path.read_bytes() == b"old"
    assert os.listdir(path.parent) == ["doc.json"]
    assert replace_local(path, lambda fh: fh.write(b"new")) == 3
    assert path.read_bytes() == b"new" and os.listdir(path.parent) == ["doc.json"]
