from app.serving.cache import ImageCache


def test_lru_evicts_least_recent_by_bytes():
    cache = ImageCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # now "b" is the least recent
    cache.put("c", b"1234")
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    assert cache.size == 8 and len(cache) == 2
    cache.put("huge", b"x" * 11)  # larger than the whole cache: not stored
    assert cache.get("huge") is None and len(cache) == 2
