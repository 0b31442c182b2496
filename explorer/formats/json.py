"""JSON: dicts and lists, written indented with sorted keys, strict (no NaN)."""

from __future__ import annotations

import json
from typing import Any

from ..errors import ExplorerError, WriteError, message_line
from . import register
from .base import PREVIEW_BYTES, Format, Location

CONTENT_LIMIT = 1_000_000  # bytes: larger JSON objects are described in a trace, not inlined


def _parse(raw: bytes, loc: Location) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ExplorerError(f"{loc.version.data_path}: invalid JSON ({message_line(exc)})") from None


class Json(Format):
    name = "json"
    extensions = (".json",)
    kind = "json"
    claim_order = 30

    def claims(self, value: Any) -> bool:
        return isinstance(value, (dict, list))

    def write(self, value: Any) -> bytes:
        try:
            return json.dumps(value, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise WriteError(f"value is not JSON serialisable: {exc}") from None

    def load(self, loc: Location) -> Any:
        return _parse(loc.fs.cat_file(loc.path), loc)

    def preview(self, loc: Location, rows: int = 50, offset: int = 0) -> Any:
        """The value, or (past ``PREVIEW_BYTES``) the text of its first bytes with a note."""
        with loc.fs.open(loc.path, "rb", block_size=PREVIEW_BYTES) as fh:
            head = fh.read(PREVIEW_BYTES + 1)
        if len(head) <= PREVIEW_BYTES:
            return _parse(head, loc)
        return (f"preview truncated: the first {PREVIEW_BYTES} bytes of {loc.version.size_bytes} bytes of JSON "
                f"(load the version to read it whole)\n" + head[:PREVIEW_BYTES].decode("utf-8", errors="replace"))

    def facts(self, loc: Location) -> tuple[dict[str, Any], str | None]:
        v = loc.version
        if v.size_bytes > CONTENT_LIMIT:
            return {}, f"JSON of {v.size_bytes} bytes: content not inlined (limit {CONTENT_LIMIT})"
        return {"content": self.load(loc)}, None


register(Json())
