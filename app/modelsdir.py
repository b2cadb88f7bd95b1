"""The models folder, as the trainer's exports and TF Serving lay it out: models/NAME/VERSION/
with an integer VERSION (the SavedModel itself, model.json and previews beside it), and, written
by the service, models/NAME/active.json naming the version that NAME serves."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from app.names import RESERVED, is_model_name

log = logging.getLogger("app")
ACTIVE_FILE = "active.json"


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
    found = {}
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
