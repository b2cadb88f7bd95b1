"""A bounded in-process LRU cache of rendered images, sized in bytes."""

from __future__ import annotations

from collections import OrderedDict


class ImageCache:
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
