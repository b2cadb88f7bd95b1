"""HTTP caching of rendered images: a bounded in-process LRU cache, and ETags."""

from __future__ import annotations

import hashlib
from collections import OrderedDict


def etag(key: str) -> str:
    """A strong ETag for a normalized request key (which names the model version)."""
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str, tag: str) -> bool:
    """If-None-Match semantics for GET: any listed tag, weak or strong, or *."""
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or tag in tags


class ImageCache:
    """Least recently used bodies are dropped once their total passes max_bytes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        if key in self._items:
            self.size -= len(self._items.pop(key))
        self._items[key] = value
        self.size += len(value)
        while self.size > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.size -= len(evicted)

    def __len__(self) -> int:
        return len(self._items)
