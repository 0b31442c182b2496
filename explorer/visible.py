"""The one escaping step between text from a store and any terminal.

A store's strings (names, tags, metadata, cells, JSON values, messages quoting files) may
hold characters a terminal obeys instead of showing: C0 controls (ESC starts CSI / OSC
sequences: clear the screen, set the title, write the clipboard with OSC 52), DEL, C1 controls
(``\\x9b`` is a one-byte CSI), bidi overrides, embeddings and isolates that reorder what is
shown, line and paragraph separators, and other invisible format characters. ``visible``
writes each of them as a Python-style escape (``\\x1b``, ``\\u202e``) so that it is seen, not
obeyed; bytes that were not UTF-8 (surrogate escapes) are shown as ``\\x..``. A backslash is
left as it is, so ``visible`` is idempotent.

This module makes text visible only; markup (Rich / Textual ``[...]``) is the views' concern:
they put store text in ``rich.text.Text`` objects, never in markup strings.
"""

from __future__ import annotations

import re

# Unicode's format characters (category Cf), which draw nothing and may reorder or hide text;
# tests/test_hostile_output.py checks this list against unicodedata.
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
# C0, DEL, C1, line / paragraph separators, format characters and lone surrogates.
_OTHERS = "\x7f-\x9f\u2028\u2029" + _FORMAT + "\ud800-\udfff"
_INVISIBLE = re.compile(f"[\x00-\x1f{_OTHERS}]")
_INVISIBLE_KEEP_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHERS}]")  # keeps \t and \n

MAX_LINE = 500
"""Where a message that must be one line (an error, a warning) is cut."""


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    if 0xDC80 <= c <= 0xDCFF:  # a byte that was not UTF-8, kept by the surrogateescape handler
        return f"\\x{c - 0xDC00:02x}"
    if c < 0x100:
        return f"\\x{c:02x}"
    if c < 0x10000:
        return f"\\u{c:04x}"
    return f"\\U{c:08x}"


def visible(text: str) -> str:
    """``text`` with every control, bidi, separator and invisible format character (newlines
    and tabs too) written as an escape: one line, shown exactly as stored."""
    return _INVISIBLE.sub(_escape, text)


def visible_lines(text: str) -> str:
    """As ``visible``, but newlines and tabs are kept: for text shown as a block (a preview,
    a markdown report, a table cell spanning lines)."""
    if _plain_ascii(text):
        return text
    return _INVISIBLE_KEEP_LINES.sub(_escape, text)


def bounded(text: str, limit: int = MAX_LINE) -> str:
    """``text`` cut at ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """A message as one bounded, visible line: runs of whitespace (newlines too) become one
    space, then ``visible`` and ``bounded``."""
    return bounded(visible(" ".join(text.split())), limit)


_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])


def _plain_ascii(text: str) -> bool:
    """Whether a long ``text`` is ASCII without a control character but tab and newline:
    nothing to escape, told in a pass over bytes instead of the escaping pattern's slower
    scan (a 300 MB export: about 0.3 s instead of 7)."""
    if len(text) < 4096 or not text.isascii():
        return False
    return plain_ascii_bytes(text.encode("ascii"))


def plain_ascii_bytes(raw: bytes) -> bool:
    """Whether ``raw`` is ASCII without a control byte but tab and newline (nothing
    :func:`json_safe` would escape)."""
    return raw.isascii() and len(raw.translate(None, _CONTROL_BYTES)) == len(raw)


def _json_escape(m: re.Match) -> str:
    c = ord(m.group())
    if c < 0x10000:
        return f"\\u{c:04x}"
    c -= 0x10000
    return f"\\u{0xD800 + (c >> 10):04x}\\u{0xDC00 + (c & 0x3FF):04x}"


def json_safe(document: str) -> str:
    """A JSON document with the characters ``visible`` escapes written as JSON ``\\uXXXX``
    escapes (the ones ``json.dumps`` leaves raw: DEL, C1, bidi, separators, format
    characters, lone surrogates; a string's own newlines are already ``\\n``): safe on a terminal, and it loads back to the same data."""
    if _plain_ascii(document):
        return document
    return _INVISIBLE_KEEP_LINES.sub(_json_escape, document)  # newlines and tabs: layout
