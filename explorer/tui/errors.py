"""How the app reports what went wrong, in one place the app and every screen import.

``describe_error`` turns an exception into the one line a user reads (an ``ExplorerError`` is
already written for them; anything else is prefixed with its type). ``report_error`` shows it
as a notification from any thread; ``safely`` runs a screen's fill-in so that an error becomes a
notification, never a crash; ``staleness_or_none`` computes the staleness report, reporting
(not raising) an error.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from ..errors import ExplorerError

if TYPE_CHECKING:
    from textual.app import App

    from ..api import Store


def describe_error(exc: BaseException) -> str:
    """The one line a user reads about ``exc``."""
    if isinstance(exc, ExplorerError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def report_error(app: "App", exc: BaseException | str, title: str = "", prefix: str = "") -> None:
    """Notify the user of an error, from the app's thread or a worker's."""
    text = exc if isinstance(exc, str) else describe_error(exc)
    if prefix:
        text = f"{prefix}: {text}"
    if threading.get_ident() == app._thread_id:
        app.notify(text, title=title, severity="error")
    else:
        app.call_from_thread(app.notify, text, title=title, severity="error")


def safely(app: "App", fn: Callable[..., Any], *args: Any, title: str = "cannot show this") -> None:
    """Run ``fn``; an error becomes a notification, never a crash."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - shown to the user, the app keeps running
        report_error(app, exc, title=title)


def staleness_or_none(app: "App", store: "Store") -> Any | None:
    """The store's staleness report (``explorer.staleness``), or None after reporting why not."""
    try:
        return store.staleness()
    except Exception as exc:  # noqa: BLE001 - the rest of the app works without it
        report_error(app, exc, prefix="staleness")
        return None
