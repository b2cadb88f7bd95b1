"""The exported generators under models/NAME/VERSION/, loaded by their SavedModel signature only."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.generation import per_image, run_generator

log = logging.getLogger("app")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class UnknownModel(LookupError):
    """No such model name or version; the message says what exists."""


@dataclasses.dataclass
class ModelVersion:
    name: str
    version: int
    path: Path
    status: str = "loading"  # ready | failed
    error: str | None = None
    info: dict = dataclasses.field(default_factory=dict)
    info_mtime: float = 0.0
    serve: Callable | None = dataclasses.field(default=None, repr=False)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def conditional(self) -> bool:
        return bool(self.info.get("conditional"))

    @property
    def noise_dim(self) -> int:
        return int(self.info.get("noise_dim", 100))

    def generate(self, noise: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """uint8 pixels [N, 28, 28]; blocking, so call it off the event loop."""
        return run_generator(self.serve, noise, labels if self.conditional else None)

    def describe(self) -> dict:
        self._refresh_info()
        return {
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "conditional": self.conditional,
            "model_json": self.info,
        }

    def _refresh_info(self) -> None:
        """Pick up metrics written into model.json after loading (training.evaluate)."""
        path = self.path / "model.json"
        try:
            if self.status == "ready" and path.stat().st_mtime > self.info_mtime:
                self.info, self.info_mtime = json.loads(path.read_text()), path.stat().st_mtime
        except (OSError, ValueError):
            pass  # keep what was loaded


def load_version(name: str, version: int, path: Path) -> ModelVersion:
    """Load and check one export; a failure is recorded on the result, never raised."""
    import tensorflow as tf

    model = ModelVersion(name, version, path)
    try:
        model.info_mtime = (path / "model.json").stat().st_mtime
        model.info = json.loads((path / "model.json").read_text())
        saved_model = tf.saved_model.load(str(path / "saved_model"))
        inputs = saved_model.signatures["serving_default"].structured_input_signature[1]
        expected = {"noise", "labels"} if model.conditional else {"noise"}
        if set(inputs) != expected or inputs["noise"].shape[-1] != model.noise_dim:
            raise ValueError(f"signature takes {sorted(inputs)}, expected {sorted(expected)}")
        model.serve = per_image(saved_model, model.conditional)
        # One call now, so the first request does not pay for tracing.
        pixels = model.generate(np.zeros((1, model.noise_dim), np.float32), np.zeros(1, np.int32))
        if pixels.shape != (1, 28, 28):
            raise ValueError(f"generator returns {pixels.shape[1:]}, expected 28x28 images")
        model.status = "ready"
    except Exception as exc:  # any unreadable export is reported, not fatal
        model.status, model.error, model.serve = "failed", f"{type(exc).__name__}: {exc}", None
        log.error("model %s failed to load: %s", model.ref, model.error)
    return model


class ModelRegistry:
    """Every version of every model; the newest ready version of each name is active."""

    def __init__(self, models_dir: Path, default: str):
        self.models_dir = models_dir
        self.default = default
        self.versions: dict[str, dict[int, ModelVersion]] = {}
        self.active: dict[str, int] = {}

    def load_all(self) -> None:
        for name, version, path in discover(self.models_dir):
            self.add(load_version(name, version, path))
        for name, versions in self.versions.items():
            ready = [v for v, m in versions.items() if m.status == "ready"]
            if ready:
                self.active[name] = max(ready)
        if self.active and self.default not in self.active:
            fallback = sorted(self.active)[0]
            log.warning("default model %r is not servable; using %r", self.default, fallback)
            self.default = fallback

    def add(self, model: ModelVersion) -> None:
        self.versions.setdefault(model.name, {})[model.version] = model

    def activate(self, model: ModelVersion) -> None:
        """Serve `model` for its name from now on; requests holding the old one finish on it."""
        if model.status != "ready":
            raise ValueError(f"{model.ref} is not ready: {model.error}")
        self.add(model)
        self.active[model.name] = model.version

    def resolve(self, spec: str | None) -> ModelVersion:
        """'name' (its active version), 'name@version', or None (the default model)."""
        name, _, version = (spec or self.default).partition("@")
        versions = self.versions.get(name)
        if not versions:
            raise UnknownModel(f"unknown model {name!r}; available: {', '.join(self.names())}")
        if not version:
            if name not in self.active:
                raise UnknownModel(f"model {name!r} has no servable version")
            return versions[self.active[name]]
        model = versions.get(int(version))
        if model is None:
            raise UnknownModel(
                f"model {name!r} has no version {version}; "
                f"versions: {', '.join(map(str, sorted(versions)))}"
            )
        if model.status != "ready":
            raise UnknownModel(f"{model.ref} failed to load: {model.error}")
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


def discover(models_dir: Path) -> list[tuple[str, int, Path]]:
    """(name, version, path) of every models_dir/NAME/VERSION folder with an integer VERSION.

    Folders holding no integer version (like the evaluation classifier) are not generators.
    """
    found = []
    for name_dir in sorted(p for p in models_dir.iterdir() if p.is_dir()):
        if not NAME.match(name_dir.name):
            continue
        for version_dir in name_dir.iterdir():
            if version_dir.is_dir() and version_dir.name.isdigit():
                found.append((name_dir.name, int(version_dir.name), version_dir))
    return found
