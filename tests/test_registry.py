"""The registry's changes to the models folder: serialised, never reusing a version number, and
retrying a version found while it was still being copied in."""

import asyncio
import json
import shutil

import pytest

from app.serving.generator import Options
from app.serving.modelsdir import read_active
from app.serving.registry import ModelRegistry, UnknownModel
from training.export import next_version


@pytest.fixture
def models(tmp_path, models_dir):
    shutil.copytree(models_dir / "dcgan", tmp_path / "dcgan")
    return tmp_path


def registry_of(models) -> ModelRegistry:
    registry = ModelRegistry(models, "dcgan", Options(max_rows=16))
    asyncio.run(registry.refresh())
    return registry


def test_activate_and_delete_of_one_version_never_leave_it_pinned(models):
    """Activating dcgan@1 loads it (not loaded yet: it is not active); a delete started
    meanwhile waits for the activation, then unpins and removes it."""

    async def scenario():
        registry = ModelRegistry(models, "dcgan", Options(max_rows=16))
        await registry.refresh()
        assert registry.versions["dcgan"][1].status == "unloaded"
        results = await asyncio.gather(
            registry.activate("dcgan", 1), registry.delete("dcgan", 1), return_exceptions=True
        )
        return registry, results

    registry, results = asyncio.run(scenario())
    assert not any(isinstance(r, Exception) for r in results), results
    assert read_active(models / "dcgan") != 1 and not (models / "dcgan" / "1").exists()
    assert registry.active["dcgan"] == 2


def test_a_deleted_version_number_is_never_exported_again(models):
    registry = registry_of(models)
    asyncio.run(registry.delete("dcgan", 2))  # the newest
    assert sorted(registry.versions["dcgan"]) == [1]
    assert next_version(models / "dcgan") == 3  # the trainer's numbering, after the service's
    with pytest.raises(UnknownModel):
        asyncio.run(registry.delete("dcgan", 2))


def test_a_version_found_while_it_is_still_being_copied_in_is_tried_again(models):
    """A half-written model.json, then a SavedModel without its variables, then all of it."""
    registry = registry_of(models)
    complete, copying = models / "dcgan" / "2", models / "dcgan" / "3"
    copying.mkdir()
    info = json.loads((complete / "model.json").read_text()) | {"version": 3}
    (copying / "model.json").write_text(json.dumps(info)[:40])
    asyncio.run(registry.refresh())
    assert registry.versions["dcgan"][3].status == "failed" and registry.active["dcgan"] == 2
    (copying / "model.json").write_text(json.dumps(info))
    shutil.copy2(complete / "saved_model.pb", copying)
    asyncio.run(registry.refresh())
    assert registry.versions["dcgan"][3].status == "failed" and registry.active["dcgan"] == 2
    asyncio.run(registry.refresh())  # unchanged since it failed: not tried again
    for part in complete.iterdir():
        if part.name not in ("model.json", "saved_model.pb"):
            copy = shutil.copytree if part.is_dir() else shutil.copy2
            copy(part, copying / part.name)
    asyncio.run(registry.refresh())
    assert registry.versions["dcgan"][3].status == "ready" and registry.active["dcgan"] == 3


def test_a_broken_version_is_not_reloaded_on_every_poll(models):
    (models / "dcgan" / "3").mkdir()
    (models / "dcgan" / "3" / "model.json").write_text("{not json")
    registry = registry_of(models)
    failed = registry.versions["dcgan"][3]
    asyncio.run(registry.refresh())
    assert registry.versions["dcgan"][3] is failed  # the same record: nothing was read again


def test_pin_keeps_the_served_version_and_never_overrides_a_choice(models):
    """Before a job that must not activate its export: the version served now is pinned, so
    the export's arrival changes nothing; a version pinned already stays; unknown names pass."""
    registry = registry_of(models)
    assert read_active(models / "dcgan") is None and registry.active["dcgan"] == 2
    asyncio.run(registry.pin("dcgan"))
    assert read_active(models / "dcgan") == 2
    asyncio.run(registry.activate("dcgan", 1))
    asyncio.run(registry.pin("dcgan"))
    assert read_active(models / "dcgan") == 1
    asyncio.run(registry.pin("new-name"))
    assert not (models / "new-name").exists()


def test_many_names_stay_within_max_loaded_and_each_loads_again_when_asked(models):
    """Names jobs make, each used once: at most max_loaded versions stay in memory (the default
    model's always among them), and a polled refresh does not load the unloaded ones back."""
    for i in range(4):
        shutil.copytree(models / "dcgan" / "2", models / f"n{i}" / "1")

    def ready(registry: ModelRegistry) -> set[str]:
        return {
            m.ref for vs in registry.versions.values() for m in vs.values() if m.status == "ready"
        }

    async def scenario():
        registry = ModelRegistry(models, "dcgan", Options(max_rows=16), max_loaded=2)
        await registry.refresh()
        seen = [ready(registry)]
        for i in range(4):
            assert (await registry.resolve(f"n{i}")).status == "ready"
            seen.append(ready(registry))
        await registry.refresh()
        seen.append(ready(registry))
        return seen

    for loaded in asyncio.run(scenario()):
        assert len(loaded) <= 2 and "dcgan@2" in loaded, loaded
