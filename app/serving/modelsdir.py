"""The models folder, as the trainer's exports and TF Serving lay it out: models/NAME/VERSION/
with an integer VERSION (the SavedModel itself, model.json and previews beside it), and, written
by the service (ModelRegistry alone), models/NAME/active.json naming the version NAME serves.

Two names are shared with the trainer (training/export.py spells them too; a test checks that
both agree): models/NAME/.last-version, the highest version NAME ever had, which the trainer
never exports again and the service raises before it deletes one (a `name@version` URL is
cached for a year: it must never mean other bytes); and `.tmp-export-*`, the folder an export is
written in before it is renamed to its version.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
from pathlib import Path

from app.names import RESERVED, is_model_name

log = logging.getLogger("app")
ACTIVE_FILE = "active.json"
LAST_VERSION_FILE = ".last-version"
EXPORT_PREFIX = ".tmp-export-"
STALE_EXPORT_SECONDS = 900  # an export writes its files within seconds: this is a dead one's


def saved_model_dir(version_dir: Path) -> Path:
    """The SavedModel of an export: the version folder itself (TF Serving's layout), or its
    `saved_model/` subfolder in exports made before that layout."""
    if (version_dir / "saved_model.pb").exists() or not (version_dir / "saved_model").is_dir():
        return version_dir
    log.info("%s: older export layout, SavedModel in saved_model/", version_dir)
    return version_dir / "saved_model"


def discover(models_dir: Path) -> dict[tuple[str, int], Path]:
    """(name, version) -> folder, for every models_dir/NAME/VERSION with an integer VERSION
    under a servable NAME (the evaluation classifier's folder is not a generator)."""
    found: dict[tuple[str, int], Path] = {}
    if not models_dir.is_dir():
        return found
    for name_dir in models_dir.iterdir():
        if not name_dir.is_dir() or not is_model_name(name_dir.name) or name_dir.name in RESERVED:
            continue
        for version_dir in name_dir.iterdir():
            if version_dir.is_dir() and version_dir.name.isdigit() and int(version_dir.name) > 0:
                found[name_dir.name, int(version_dir.name)] = version_dir
    return found


def read_active(name_dir: Path) -> int | None:
    try:
        return int(json.loads((name_dir / ACTIVE_FILE).read_text())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_active(name_dir: Path, version: int) -> None:
    """Atomically, so a replica reading it never sees half a file."""
    tmp = name_dir / f".{ACTIVE_FILE}.tmp"
    tmp.write_text(json.dumps({"version": version}) + "\n")
    tmp.replace(name_dir / ACTIVE_FILE)


def reserve_version(name_dir: Path, version: int) -> None:
    """Raise NAME's high-water mark to `version` (and to every version on disk), so that no
    export is numbered so again. Locked like the trainer's exports (flock on the file)."""
    fd = os.open(name_dir / LAST_VERSION_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    with os.fdopen(fd, "r+") as mark:
        fcntl.flock(mark, fcntl.LOCK_EX)
        text = mark.read().strip()
        on_disk = [int(p.name) for p in name_dir.iterdir() if p.name.isdigit() and p.is_dir()]
        highest = max([version, *on_disk, int(text) if text.isdigit() else 0])
        mark.seek(0)
        mark.truncate()
        mark.write(f"{highest}\n")
        mark.flush()
        os.fsync(mark.fileno())


def tree_mtime(folder: Path) -> int:
    """The newest modification time (ns) of the folder and of everything in it: it moves while
    files are still being copied in."""
    newest = 0
    for root, dirs, files in os.walk(folder):
        for name in [".", *dirs, *files]:
            with contextlib.suppress(OSError):
                newest = max(newest, os.stat(os.path.join(root, name)).st_mtime_ns)
    return newest


def sweep_exports(models_dir: Path, older_than: float = STALE_EXPORT_SECONDS) -> list[Path]:
    """Remove the temporary folders of exports that died (their trainer was killed) more than
    `older_than` seconds ago: they would keep a full disk full."""
    removed = []
    for tmp in models_dir.glob(f"*/{EXPORT_PREFIX}*"):
        mtime = tree_mtime(tmp)
        if mtime and time.time() - mtime / 1e9 > older_than:
            log.warning("removing %s: an export that never finished", tmp)
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed
