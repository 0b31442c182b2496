"""The project's own error types. Every error a user can cause is one of these.

The CLI prints ``str(error)`` as one line and exits 2; the TUI shows it as a
notification. Nothing else should escape to a user.
"""

from __future__ import annotations


class ExplorerError(Exception):
    """Base class for every error the explorer reports to a user."""


class StoreNotFound(ExplorerError):
    """The URL does not point at a frontier store."""


class StoreUnavailable(ExplorerError):
    """The store's endpoint could not be reached (connection refused, reset or timed out).
    Nothing was changed; opening or refreshing again once it answers retries."""


class FormatError(ExplorerError):
    """A manifest or sidecar is malformed, has an unknown major version or an unsafe path."""


class UnknownAsset(ExplorerError):
    """An asset key is not present in the store."""


class UnknownRun(ExplorerError):
    """A run id is not present in the store (or holds no version of the asset)."""


class WriteError(ExplorerError):
    """The writer refused to write (existing version, closed run, unsupported value)."""


class ReadOnlyStore(ExplorerError):
    """A write (a flag) was asked of a store that is opened read-only: the bundled demo store."""


class UnsafeLoad(ExplorerError):
    """Loading would unpickle data from the store without the user's opt-in."""


class TaintedVersion(ExplorerError):
    """The latest version is flagged, or built from a flagged version, and was not allowed."""


class SqlError(ExplorerError):
    """DuckDB rejected a query, or the query was not read-only (the message is DuckDB's)."""


def message_line(exc: BaseException) -> str:
    """An exception's message on one line. DuckDB embeds the Python traceback of a read that
    failed in Python (its fsspec calls): of that, only the last line (the exception) is kept."""
    out, in_traceback = [], False
    for line in str(exc).splitlines():
        if line.startswith("Traceback (most recent call last)"):
            in_traceback = True
            continue
        if in_traceback and (line.startswith(" ") or not line.strip()):
            continue
        in_traceback = False
        out.append(line)
    return " ".join(" ".join(out).split()) or type(exc).__name__
