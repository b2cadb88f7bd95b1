"""One exported model version, models/NAME/VERSION/: loaded by its SavedModel signature only,
checked, self-tested (see generator.py), and described without server paths."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np

from app.logs import redact
from app.serving.generator import Generator, NotExact, Options, fingerprint
from app.serving.graphs import LATENT_SIGNATURES
from app.serving.modelsdir import saved_model_dir

log = logging.getLogger("app")
DEFAULT_OPTIONS = Options()


@dataclasses.dataclass
class ModelVersion:
    name: str
    version: int
    path: Path
    status: str = "unloaded"  # unloaded (on disk, loads when asked for) | ready | failed
    error: str | None = None
    info: dict = dataclasses.field(default_factory=dict)
    info_mtime: float = 0.0
    generator: Generator | None = dataclasses.field(default=None, repr=False)
    fingerprint: str = ""  # what the bytes depend on besides the request (see generator.py)
    last_used: float = 0.0

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def conditional(self) -> bool:
        return bool(self.info.get("conditional"))

    @property
    def noise_dim(self) -> int:
        return int(self.info.get("noise_dim", 100))

    def unload(self) -> None:
        """Drop the generator; requests already holding it finish on it."""
        if self.status == "ready":
            self.generator, self.status = None, "unloaded"

    def describe(self) -> dict:
        self._refresh_metrics()
        info = dict(self.info)
        if isinstance(info.get("dataset"), dict) and "source" in info["dataset"]:
            info["dataset"] = info["dataset"] | {"source": redact(str(info["dataset"]["source"]))}
        generation = None
        if self.generator is not None:
            generation = self.generator.describe() | {"fingerprint": self.fingerprint}
        return {
            "version": self.version,
            "status": self.status,
            "error": redact(self.error) if self.error else None,
            "conditional": self.conditional,
            "generation": generation,
            "model_json": info,
        }

    def _refresh_metrics(self) -> None:
        """Pick up quality numbers written into model.json after loading (training.evaluate);
        nothing else, since the loaded generator was checked against the rest."""
        path = self.path / "model.json"
        try:
            mtime = path.stat().st_mtime
            if mtime > self.info_mtime:
                metrics = json.loads(path.read_text()).get("metrics")
                self.info_mtime = mtime
                if isinstance(metrics, dict):
                    self.info = self.info | {"metrics": metrics}
        except (OSError, ValueError):
            pass  # keep what was loaded


def read_info(model: ModelVersion) -> None:
    """model.json, without loading TensorFlow: enough to list an unloaded version."""
    try:
        model.info_mtime = (model.path / "model.json").stat().st_mtime
        model.info = json.loads((model.path / "model.json").read_text())
    except (OSError, ValueError) as exc:
        model.status, model.error = "failed", f"{type(exc).__name__}: {exc}"


def load_version(
    name: str, version: int, path: Path, options: Options = DEFAULT_OPTIONS, device: str = "CPU"
) -> ModelVersion:
    """Load, check and self-test one export; a failure is recorded on the result, never raised."""
    import tensorflow as tf

    model = ModelVersion(name, version, path, status="loading", last_used=time.monotonic())
    try:
        model.info_mtime = (path / "model.json").stat().st_mtime
        model.info = json.loads((path / "model.json").read_text())
        folder = str(saved_model_dir(path))
        saved_model = tf.saved_model.load(folder)
        inputs = saved_model.signatures["serving_default"].structured_input_signature[1]
        expected = {"noise", "labels"} if model.conditional else {"noise"}
        if set(inputs) != expected or inputs["noise"].shape[-1] != model.noise_dim:
            raise ValueError(f"signature takes {sorted(inputs)}, expected {sorted(expected)}")
        latent = bool(model.info.get("signature", {}).get("latent_signatures"))
        missing = (
            [s for s in LATENT_SIGNATURES if s not in saved_model.signatures] if latent else []
        )
        if missing:
            raise ValueError(f"model.json declares signatures the SavedModel lacks: {missing}")
        generator = Generator(
            model.ref, saved_model, model.conditional, model.noise_dim, options, latent
        )
        pixels = generator(np.zeros((1, model.noise_dim), np.float32), np.zeros(1, np.int32))
        if pixels.shape != (1, 28, 28):
            raise ValueError(f"generator returns {pixels.shape[1:]}, expected 28x28 images")
        generator.self_test()
        model.generator = generator
        model.fingerprint = fingerprint(
            folder, options.precision, device, generator.weights, generator.graph
        )
        model.status = "ready"
        log.info(
            "%s: %s generation, call sizes %s, %s (self-test %.1f s)",
            model.ref,
            generator.mode,
            list(generator.sizes) or "-",
            options.precision,
            generator.self_test_seconds,
        )
    except NotExact as exc:
        model.status, model.error = "failed", f"no exact generation mode: {exc}"
        log.error("model %s failed its self-test: %s", model.ref, model.error)
    except Exception as exc:  # any unreadable export is reported, not fatal
        model.status, model.error = "failed", f"{type(exc).__name__}: {exc}"
        log.error("model %s failed to load: %s", model.ref, model.error)
    return model
