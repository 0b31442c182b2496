"""Names a user types for runs and assets, resolved against the index with the errors a user
can act on: a run by its full id, a unique prefix of it (``20261020``) or its label, the part
after the time (``r6`` of ``20261020T020000Z-r6``, as the app shows it); "did you mean" for
near misses. Pure functions, no I/O."""

from __future__ import annotations

import difflib
import re
from typing import Iterable

from .errors import UnknownAsset, UnknownRun

_LABEL = re.compile(r"^\d{8}T\d{6}(?:\d{6})?Z-(.+)$")  # the writers' run ids: <UTC time>-<label>
MAX_LISTED = 3


def suggestion(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'scores'?"`` for a near miss, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=MAX_LISTED, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def run_label(run_id: str) -> str | None:
    m = _LABEL.match(run_id)
    return m.group(1) if m else None


def resolve_run(run_ids: Iterable[str], ref: str) -> str:
    """The run id ``ref`` names: itself, the one run whose id starts with it, or the one run
    whose label it is. Unknown or ambiguous names raise ``UnknownRun`` saying which."""
    ids = run_ids if isinstance(run_ids, (dict, set, frozenset)) else set(run_ids)
    if ref in ids:
        return ref
    if not ref:
        raise UnknownRun("an empty run id names no run")
    by_prefix = [r for r in ids if r.startswith(ref)]
    if len(by_prefix) == 1:
        return by_prefix[0]
    by_label = [r for r in ids if run_label(r) == ref]
    if len(by_label) == 1:
        return by_label[0]
    matches = sorted(set(by_prefix) | set(by_label))
    if matches:
        listed = ", ".join(matches[:MAX_LISTED]) + (f" and {len(matches) - MAX_LISTED} more" if len(matches) > MAX_LISTED else "")
        raise UnknownRun(f"run {ref!r} is ambiguous: it names {listed}")
    labels = {run_label(r) or r: r for r in ids}
    raise UnknownRun(f"unknown run {ref!r}" + suggestion(ref, list(labels) + list(ids)))


def unknown_asset(key: str, keys: Iterable[str]) -> UnknownAsset:
    return UnknownAsset(f"unknown asset {key!r}" + suggestion(key, keys))


def with_partition(key: str, partition: str | None) -> str:
    """``features[2023-01-22]``: how a user names one partition of an asset (``key`` when None)."""
    return key if partition is None else f"{key}[{partition}]"


def split_partition(name: str, keys: Iterable[str]) -> tuple[str, str | None]:
    """(asset, partition) of ``features[2023-01-22]``; (name, None) when ``name`` is an asset
    key itself or names no partition. The partition is everything between the first ``[``
    whose prefix is a known asset and the final ``]``, so a partition holding brackets
    (``feat[x]y[1]]``) or slashes still names itself."""
    known = keys if isinstance(keys, (dict, set, frozenset)) else set(keys)
    if name in known or not name.endswith("]"):
        return name, None
    at = name.find("[")
    while 0 < at < len(name) - 2:  # a non-empty partition between the brackets
        if name[:at] in known:
            return name[:at], name[at + 1:-1]
        at = name.find("[", at + 1)
    return name, None
