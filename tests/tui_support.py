"""Helpers the app's Pilot tests share: run an async test, let the app settle, read the screen."""

from __future__ import annotations

import asyncio
import functools


def drive(test):
    """Run an ``async def`` test with asyncio (pytest sees a plain function)."""
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        asyncio.run(test(*args, **kwargs))

    return wrapper


async def workers_done(app) -> None:
    """Wait for the app's workers. A worker cancelled meanwhile (an exclusive one replaced by a
    newer: the runs sorted again once checked) makes Textual's wait raise; then the newer ones
    are waited for."""
    from textual.worker import WorkerCancelled

    for _ in range(50):
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue
    raise AssertionError("the app's workers keep being cancelled")


async def settle(app, pilot) -> None:
    """Let the app finish its workers and redraw (three rounds: a worker may start another)."""
    for _ in range(3):
        await pilot.pause()
        await workers_done(app)
    await pilot.pause()


def screen_lines(app) -> list[str]:
    """The terminal's lines as the user sees them (every layer, notifications included)."""
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def screen_text(app) -> str:
    """The terminal as the user sees it: its lines joined by newlines."""
    return "\n".join(screen_lines(app))
