"""Which loaded versions to unload, and giving their memory back: a loaded version holds about
as much memory as its graphs (docs/operations.md), so jobs that make many names must not keep
them all."""

from __future__ import annotations

import contextlib
import ctypes
import gc

from app.serving.loading import ModelVersion


def to_unload(
    versions: dict[str, dict[int, ModelVersion]],
    active: dict[str, int],
    default: str,
    max_idle: int,
    max_loaded: int,
) -> list[ModelVersion]:
    """The least recently used loaded versions beyond the two limits: at most `max_idle` that
    no name serves, at most `max_loaded` in all. The default model's version always stays; an
    unloaded active version loads again when asked for."""
    loaded = sorted(
        (m for vs in versions.values() for m in vs.values() if m.status == "ready"),
        key=lambda m: m.last_used,
    )
    idle = [m for m in loaded if active.get(m.name) != m.version]
    chosen = idle[: max(len(idle) - max_idle, 0)]
    keep = [m for m in loaded if m not in chosen]
    spare = [m for m in keep if not (m.name == default and active.get(m.name) == m.version)]
    return chosen + spare[: max(len(keep) - max_loaded, 0)]


def release_memory() -> None:
    """Free what unloaded versions held now: a SavedModel's objects form reference cycles, which
    only a full collection frees, and glibc keeps freed memory until asked to return it."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
