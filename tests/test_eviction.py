"""Which loaded versions are unloaded: the least recently used beyond both limits, never the
default model's."""

from pathlib import Path

from app.serving.eviction import to_unload
from app.serving.loading import ModelVersion


def loaded(*refs: str) -> dict[str, dict[int, ModelVersion]]:
    """Ready versions, used in the order given (the first the longest ago)."""
    versions: dict[str, dict[int, ModelVersion]] = {}
    for used, ref in enumerate(refs):
        name, version = ref.split("@")
        model = ModelVersion(name, int(version), Path(ref), status="ready", last_used=used)
        versions.setdefault(name, {})[int(version)] = model
    return versions


def refs(models: list[ModelVersion]) -> list[str]:
    return [m.ref for m in models]


def test_idle_versions_beyond_max_idle_go_first_oldest_first():
    versions = loaded("a@1", "a@2", "a@3", "b@1")
    active = {"a": 3, "b": 1}
    assert refs(to_unload(versions, active, "a", max_idle=1, max_loaded=10)) == ["a@1"]
    assert refs(to_unload(versions, active, "a", max_idle=0, max_loaded=10)) == ["a@1", "a@2"]


def test_active_versions_beyond_max_loaded_go_too_but_never_the_default():
    versions = loaded("dcgan@3", "n1@1", "n2@1", "n3@1", "n4@1")
    active = {"dcgan": 3, "n1": 1, "n2": 1, "n3": 1, "n4": 1}
    # the default was used the longest ago, and still stays
    assert refs(to_unload(versions, active, "dcgan", max_idle=2, max_loaded=3)) == [
        "n1@1",
        "n2@1",
    ]


def test_unloaded_and_failed_versions_count_for_nothing():
    versions = loaded("a@1", "b@1", "c@1")
    versions["b"][1].status = "unloaded"
    versions["c"][1].status = "failed"
    assert to_unload(versions, {"a": 1, "b": 1, "c": 1}, "a", max_idle=0, max_loaded=1) == []
