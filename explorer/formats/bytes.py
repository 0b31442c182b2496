"""Raw bytes: stored as given, compared by hash and size."""

from __future__ import annotations

from typing import Any

from ..errors import WriteError
from . import register
from .base import Format


class Bytes(Format):
    name = "bytes"
    extensions = (".bin",)
    claim_order = 20
    in_stock_stores = False  # a stock store's ``x.bin`` is an asset named so (a pickle, as its IO manager wrote it)

    def claims(self, value: Any) -> bool:
        return isinstance(value, (bytes, bytearray, memoryview))

    def write(self, value: Any) -> bytes:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise WriteError(f"format bytes needs bytes, got {type(value).__name__}")
        return bytes(value)


register(Bytes())
