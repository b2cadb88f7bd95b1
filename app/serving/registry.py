"""Every model version under models/NAME/VERSION/, kept in step with the folder.

The folder is the source of truth, so API replicas that share it agree: a version appears when
its folder does (exports are renamed into place whole), disappears when it is deleted, and the
version a name serves is the one in models/NAME/active.json, else the newest that loads. Active
versions are loaded at once; others load when first asked for. The least recently used are
unloaded again beyond `max_idle` inactive or `max_loaded` in all (app/serving/eviction.py).
State changes happen on the event loop; loading runs in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from pathlib import Path

from app.names import parse_ref
from app.serving.eviction import release_memory, to_unload
from app.serving.generator import Options
from app.serving.loading import DEFAULT_OPTIONS, ModelVersion, load_version, read_info
from app.serving.modelsdir import (
    ACTIVE_FILE,
    discover,
    read_active,
    reserve_version,
    sweep_exports,
    tree_mtime,
    write_active,
)

log = logging.getLogger("app")


class UnknownModel(LookupError):
    """No such model name or version; the message says what exists."""


class ModelConflict(Exception):
    """The change would leave the service without something it needs; the message says what."""


class ModelRegistry:
    def __init__(
        self,
        models_dir: Path,
        default: str,
        options: Options = DEFAULT_OPTIONS,
        device: str = "CPU",
        max_idle: int = 2,
        eager: bool = True,
        max_loaded: int = 6,
    ):
        self.models_dir, self.default, self.options, self.device = (
            models_dir,
            default,
            options,
            device,
        )
        self.max_idle, self.max_loaded = max_idle, max_loaded
        self.eager = eager  # load the active versions (a worker only checks new exports)
        self.versions: dict[str, dict[int, ModelVersion]] = {}
        self.active: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._refreshing = asyncio.Lock()
        self._changing = asyncio.Lock()  # activate, accept and delete, one at a time
        self._found_at: dict[str, int] = {}  # ref -> tree_mtime() of its folder when found

    # -- reading -------------------------------------------------------------------------------

    async def resolve(self, spec: str | None) -> ModelVersion:
        """'name' (its active version), 'name@version', or None (the default model), loaded."""
        name, version = parse_ref(spec or self.default)
        versions = self.versions.get(name)
        if not versions:
            raise UnknownModel(f"unknown model {name!r}; available: {', '.join(self.names())}")
        if version is None:
            if name not in self.active:
                raise UnknownModel(f"model {name!r} has no servable version")
            version = self.active[name]
        model = versions.get(version)
        if model is None:
            raise UnknownModel(
                f"model {name!r} has no version {version}; "
                f"versions: {', '.join(map(str, sorted(versions)))}"
            )
        model = await self.ensure_loaded(model)
        if model.status != "ready":
            raise UnknownModel(f"{model.ref} failed to load: {model.error}")
        model.last_used = time.monotonic()
        return model

    def names(self) -> list[str]:
        return sorted(self.versions)

    def describe(self, name: str) -> dict:
        versions = self.versions[name]
        active = self.active.get(name)
        return {
            "name": name,
            "active_version": active,
            "status": "ready" if active is not None else "failed",
            "conditional": versions[active].conditional if active is not None else None,
            "default": name == self.default,
            "versions": [versions[v].describe() for v in sorted(versions, reverse=True)],
        }

    # -- loading -------------------------------------------------------------------------------

    def load(self, name: str, version: int, path: Path) -> ModelVersion:
        """One version, loaded with this registry's options (blocking; not yet added)."""
        return load_version(name, version, path, self.options, self.device)

    async def ensure_loaded(self, model: ModelVersion) -> ModelVersion:
        if model.status != "unloaded":
            return model
        async with self._locks.setdefault(model.ref, asyncio.Lock()):
            current = self.versions.get(model.name, {}).get(model.version, model)
            if current.status == "unloaded":
                current = await asyncio.to_thread(self.load, model.name, model.version, model.path)
                if model.version in self.versions.get(model.name, {}):  # not deleted meanwhile
                    self._put(current)
                    self._evict()
            return current

    async def refresh(self) -> None:
        """Bring the registry in step with the folder (new, removed and re-activated versions)."""
        async with self._refreshing:
            await self._refresh()

    async def _refresh(self) -> None:
        on_disk = await asyncio.to_thread(discover, self.models_dir)
        gone = 0
        for name in list(self.versions):
            for version in list(self.versions[name]):
                if (name, version) not in on_disk:
                    log.info("%s@%d is gone from %s: unloaded", name, version, self.models_dir)
                    self.versions[name].pop(version).unload()
                    gone += 1
            if not self.versions[name]:
                del self.versions[name]
                self.active.pop(name, None)
        for (name, version), path in sorted(on_disk.items()):
            known = self.versions.get(name, {}).get(version)
            if known is None or await self._copied_since(known):
                model = ModelVersion(name, version, path)
                self._found_at[model.ref] = await asyncio.to_thread(tree_mtime, path)
                await asyncio.to_thread(read_info, model)
                self._put(model)
        for name in list(self.versions):
            await self._choose_active(name)
        if gone:
            release_memory()
        if self.active and self.default not in self.active:
            fallback = sorted(self.active)[0]
            log.warning("default model %r is not servable; using %r", self.default, fallback)
            self.default = fallback

    async def _copied_since(self, model: ModelVersion) -> bool:
        """A failed version whose folder changed since it was found (it was still being copied
        in): tried again rather than failed until a restart."""
        if model.status != "failed":
            return False
        changed = await asyncio.to_thread(tree_mtime, model.path) != self._found_at.get(model.ref)
        if changed:
            log.info("%s changed since it failed to load: trying it again", model.ref)
        return changed

    async def watch(self, seconds: float) -> None:
        """refresh() every `seconds`, for as long as the service runs."""
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.refresh()
            except Exception:  # a bad moment on disk must not stop the watching
                log.exception("refreshing %s failed", self.models_dir)

    async def _choose_active(self, name: str) -> None:
        versions = self.versions[name]
        pinned = read_active(self.models_dir / name)
        order = sorted(versions, key=lambda v: (v != pinned, -v))
        if not self.eager:
            ready = [v for v in order if versions[v].status != "failed"]
            self.active.update({name: ready[0]} if ready else {})
            return
        current = self.active.get(name)
        if current == order[0] and versions[current].status == "unloaded":
            return  # loaded before, unloaded to save memory: it loads again when asked for
        for version in order:
            model = await self.ensure_loaded(versions[version])
            if model.status == "ready":
                if self.active.get(name) != version:
                    log.info("serving %s", model.ref)
                self.active[name] = version
                return
        self.active.pop(name, None)

    def _put(self, model: ModelVersion) -> None:
        self.versions.setdefault(model.name, {})[model.version] = model

    def _evict(self) -> None:
        """Unload the least recently used versions beyond max_idle and max_loaded."""
        evicted = to_unload(
            self.versions, self.active, self.default, self.max_idle, self.max_loaded
        )
        for model in evicted:
            log.info("unloading %s (least recently used)", model.ref)
            model.unload()
        if evicted:
            release_memory()

    # -- changing ------------------------------------------------------------------------------

    async def accept(self, name: str, version: int, activate: bool) -> ModelVersion:
        """A new export: load it and, when it is ready, serve it if asked to (or if the name has
        no servable version yet); otherwise pin the name's current version."""
        async with self._changing:
            return await self._accept(name, version, activate)

    async def _accept(self, name: str, version: int, activate: bool) -> ModelVersion:
        model = await asyncio.to_thread(
            self.load, name, version, self.models_dir / name / str(version)
        )
        self._put(model)
        if model.status == "ready":
            current = self.active.get(name)
            chosen = version if activate or current is None else current
            await asyncio.to_thread(write_active, self.models_dir / name, chosen)
            self.active[name] = chosen
        self._evict()
        return model

    async def pin(self, name: str) -> None:
        """Pin the version `name` serves now, unless active.json names one already: before a job
        that must not activate its export starts, since a replica serves a new version that
        loads when nothing pins another."""
        async with self._changing:
            current, folder = self.active.get(name), self.models_dir / name
            if current is not None and await asyncio.to_thread(read_active, folder) is None:
                await asyncio.to_thread(write_active, folder, current)

    async def sweep_dead_exports(self) -> list[Path]:
        """Remove the temporary folders of exports whose trainer died (see sweep_exports)."""
        return await asyncio.to_thread(sweep_exports, self.models_dir)

    async def activate(self, name: str, version: int) -> ModelVersion:
        async with self._changing:  # a delete of the version waits, so it cannot stay pinned
            return await self._activate(name, version)

    async def _activate(self, name: str, version: int) -> ModelVersion:
        model = await self.resolve(f"{name}@{version}")
        await asyncio.to_thread(write_active, self.models_dir / name, version)
        self.active[name] = version
        self._evict()
        return model

    async def delete(self, name: str, version: int) -> None:
        """Unload the version and remove its folder; the name then serves its next version. Its
        number is never exported again (models/NAME/.last-version)."""
        async with self._changing:
            await self._delete(name, version)

    async def _delete(self, name: str, version: int) -> None:
        model = self.versions.get(name, {}).get(version)
        if model is None:
            raise UnknownModel(f"model {name!r} has no version {version}")
        others = [
            v for v, m in self.versions[name].items() if v != version and m.status != "failed"
        ]
        if name == self.default and not others:
            raise ModelConflict(f"{model.ref} is the default model's last version")
        if read_active(self.models_dir / name) == version:
            (self.models_dir / name / ACTIVE_FILE).unlink(missing_ok=True)
        await asyncio.to_thread(reserve_version, self.models_dir / name, version)
        await asyncio.to_thread(shutil.rmtree, model.path)
        await self.refresh()
