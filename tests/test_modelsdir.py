"""The models folder's files that the service and the trainer share."""

import os
import time

from app.serving import modelsdir
from training import export


def test_the_service_and_the_trainer_name_the_shared_files_alike():
    assert modelsdir.LAST_VERSION_FILE == export.LAST_VERSION_FILE
    assert modelsdir.EXPORT_PREFIX == export.EXPORT_PREFIX


def test_reserving_a_version_raises_the_mark_the_trainer_numbers_from(tmp_path):
    name = tmp_path / "mine"
    (name / "4").mkdir(parents=True)
    assert export.next_version(name) == 5
    modelsdir.reserve_version(name, 2)  # a lower number raises the mark to what is on disk
    assert (name / modelsdir.LAST_VERSION_FILE).read_text() == "4\n"
    modelsdir.reserve_version(name, 7)
    (name / "4").rmdir()
    assert export.next_version(name) == 8
    modelsdir.reserve_version(name, 3)  # never lowered
    assert export.next_version(name) == 8


def test_only_stale_export_folders_are_swept(tmp_path):
    stale = tmp_path / "mine" / f"{modelsdir.EXPORT_PREFIX}123"
    fresh = tmp_path / "mine" / f"{modelsdir.EXPORT_PREFIX}456"
    for folder in (stale, fresh):
        (folder / "variables").mkdir(parents=True)
        (folder / "variables" / "v.data").write_bytes(b"x")
    old = time.time() - 2 * modelsdir.STALE_EXPORT_SECONDS
    for path in (stale, stale / "variables", stale / "variables" / "v.data"):
        os.utime(path, (old, old))
    (tmp_path / "mine" / "1").mkdir()
    assert modelsdir.sweep_exports(tmp_path) == [stale]
    assert not stale.exists() and fresh.exists() and (tmp_path / "mine" / "1").exists()
