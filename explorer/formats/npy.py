"""NumPy arrays (``.npy``), never with pickled objects inside."""

from __future__ import annotations

import io
from typing import Any

from ..errors import ExplorerError, WriteError, message_line
from . import register
from .base import PREVIEW_BYTES, Format, Location


def _unreadable(loc: Location, exc: Exception) -> ExplorerError:
    return ExplorerError(f"{loc.version.data_path}: cannot read array ({type(exc).__name__}: {message_line(exc)})")


def _header(fh: Any) -> tuple[tuple[int, ...], bool, Any]:
    from numpy.lib import format as npformat

    major, _minor = npformat.read_magic(fh)
    if major == 1:
        return npformat.read_array_header_1_0(fh)
    if major in (2, 3):
        return npformat.read_array_header_2_0(fh)
    raise ValueError(f"unsupported .npy format version {major}")


class Npy(Format):
    name = "npy"
    extensions = (".npy",)
    kind = "array"
    claim_order = 40

    def claims(self, value: Any) -> bool:
        try:
            import numpy as np
        except ImportError:  # pragma: no cover
            return False
        return isinstance(value, np.ndarray)

    def write(self, value: Any) -> bytes:
        import numpy as np

        if not isinstance(value, np.ndarray):
            value = np.asarray(value)
        if value.dtype == object:
            raise WriteError("object arrays cannot be stored as npy (they would need pickle)")
        sink = io.BytesIO()
        np.save(sink, value, allow_pickle=False)
        return sink.getvalue()

    def load(self, loc: Location) -> Any:
        import numpy as np

        raw = loc.fs.cat_file(loc.path)
        try:
            return np.load(io.BytesIO(raw), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - a damaged header fails in ast/tokenize (SyntaxError,
            # TokenError), a short body in reshape (ValueError) or EOFError: all mean "not a valid array"
            raise _unreadable(loc, exc) from None

    def preview(self, loc: Location, rows: int = 50, offset: int = 0) -> Any:
        """The array, or only rows ``offset`` .. ``offset + rows``: the header is parsed, then at
        most ``rows`` rows (and at most ``PREVIEW_BYTES``) are read, never the whole file."""
        with loc.fs.open(loc.path, "rb", block_size=PREVIEW_BYTES) as fh:
            return _preview(fh, loc, rows, offset)

    def facts(self, loc: Location) -> tuple[dict[str, Any], str | None]:
        try:
            with loc.fs.open(loc.path, "rb") as fh:
                shape, _fortran, dtype = _header(fh)
        except FileNotFoundError:
            raise
        except Exception as exc:  # noqa: BLE001 - SyntaxError/TokenError from a damaged header too
            return {}, f"cannot read the array header ({type(exc).__name__}: {message_line(exc)})"
        return {"array": {"shape": list(shape), "dtype": str(dtype)}}, None


def _preview(fh: Any, loc: Location, rows: int, offset: int) -> Any:
    import numpy as np

    try:
        shape, fortran, dtype = _header(fh)
        if dtype.hasobject:
            raise ValueError("an object array (a pickle); not loaded")
        total = int(np.prod(shape, dtype=np.int64))
        itemsize = max(dtype.itemsize, 1)
        budget = max(PREVIEW_BYTES // itemsize, 1)
        start = 0
        if shape and not fortran:
            per_row = int(np.prod(shape[1:], dtype=np.int64))
            first = min(offset, shape[0])
            keep_rows = min(shape[0] - first, rows, budget // per_row if per_row else shape[0])
            start, count, out_shape = first * per_row, keep_rows * per_row, (keep_rows, *shape[1:])
        else:  # a scalar, or Fortran order (rows are not contiguous): the first values as stored
            count = min(total, budget)
            out_shape = shape if count == total else (count,)
        if start:
            fh.seek(start * itemsize, 1)
        raw = fh.read(count * itemsize)
        if len(raw) < count * itemsize:
            raise ValueError(f"the file holds fewer values than its header says ({len(raw) // itemsize} of {count})")
        array = np.frombuffer(raw, dtype=dtype, count=count).reshape(out_shape, order="F" if fortran and count == total else "C")
    except Exception as exc:  # noqa: BLE001 - a damaged header fails in ast/tokenize (SyntaxError,
        # TokenError), a short body in reshape (ValueError) or EOFError: all mean "not a valid array"
        raise _unreadable(loc, exc) from None
    if count == total:
        return array
    if start:
        what = f"rows {start // per_row} to {start // per_row + out_shape[0] - 1}"
    else:
        what = f"first {out_shape[0]} rows" if len(out_shape) == len(shape) else f"first {count} values as stored"
    return (f"preview truncated: {what} of a {'x'.join(map(str, shape))} {dtype} array "
            f"(load the version to read it whole)\n{np.array_repr(array)}")


register(Npy())
