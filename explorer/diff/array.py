"""Array (npy) diffs: shape, dtype, number of differing elements, largest absolute difference."""

from __future__ import annotations

import numpy as np

from .result import ArrayDiff, Pair


def diff_arrays(a: np.ndarray, b: np.ndarray, tolerance: float = 0.0) -> ArrayDiff:
    """Elements compare equal when equal, both NaN, or (numbers) within ``tolerance``."""
    shape = Pair(tuple(int(n) for n in a.shape), tuple(int(n) for n in b.shape))
    dtype = Pair(str(a.dtype), str(b.dtype))
    if a.shape != b.shape:
        return ArrayDiff(shape, dtype, None, None, None)
    numeric = all(np.issubdtype(x.dtype, np.number) or x.dtype == bool for x in (a, b))
    if numeric:
        x = a.astype(np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(b) else np.float64)
        y = b.astype(x.dtype)
        with np.errstate(invalid="ignore"):
            delta = np.abs(x - y)
        both_nan = np.isnan(x) & np.isnan(y)
        same = (x == y) | both_nan
        if tolerance > 0:
            same |= delta <= tolerance
        finite = delta[~both_nan]
        max_abs = float(np.nanmax(finite)) if finite.size and not np.all(np.isnan(finite)) else (0.0 if a.size else None)
        return ArrayDiff(shape, dtype, int(a.size), int((~same).sum()), max_abs)
    same = a == b
    return ArrayDiff(shape, dtype, int(a.size), int(np.size(same) - np.count_nonzero(same)), None)
