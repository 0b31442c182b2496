"""Human-readable sizes and durations, shared by the CLI and the terminal app."""

from __future__ import annotations


def human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


_PLURALS = {"entry": "entries", "index": "indexes", "retraction": "retractions"}


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 version``, ``2 versions``, ``0 versions``: a count with its noun in the right number.
    A multi-word noun puts its last word in the plural (``1 active flag``, ``3 active flags``)."""
    if n == 1:
        return f"{n:,} {noun}"
    if plural is None:
        head, _, last = noun.rpartition(" ")
        last = _PLURALS.get(last, last + ("es" if last.endswith(("s", "x", "ch", "sh")) else "s"))
        plural = f"{head} {last}" if head else last
    return f"{n:,} {plural}"
