"""Where the service finds models with DCGAN_MODELS_DIR unset: a checkout's own models/, or an
installed wheel's copy of its shipped models in DATA_DIR/models, whatever the working folder."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# Settings as the service reads them, then its first step at start (app/main.py, app/worker.py)
START = """
import json
from app.config import Settings
from app.serving.shipped import copy_shipped_models
settings = Settings()
copy_shipped_models(settings.models_dir, settings.data_dir)
print(json.dumps([str(settings.models_dir), str(settings.data_dir)]))
"""


def start(cwd: Path, env: dict | None = None, pythonpath: Path | None = None) -> list[Path]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DCGAN_")}
    if pythonpath is not None:
        clean["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run(
        [sys.executable, "-c", START],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return [Path(p) for p in json.loads(done.stdout)]


def installed(site: Path) -> Path:
    """app/ as a wheel installs it: in `site` beside dcgan_digits_models/ (a tiny stand-in for
    the shipped models), no pyproject.toml next to it."""
    shutil.copytree(ROOT / "app", site / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shipped = site / "dcgan_digits_models"
    for folder in ("dcgan/3", "cdcgan/5", "mnist-classifier"):
        (shipped / folder).mkdir(parents=True)
        (shipped / folder / "model.json").write_text("{}")
    return site


def test_a_checkout_serves_its_own_models_from_any_folder(tmp_path):
    assert start(tmp_path) == [ROOT / "models", tmp_path / "data"]
    assert not (tmp_path / "data").exists()  # nothing is copied: the checkout's folder is served


def test_an_installed_wheel_serves_a_copy_of_its_shipped_models_made_at_first_start(tmp_path):
    site = installed(tmp_path / "site-packages")
    work = tmp_path / "work"
    work.mkdir()
    models, data = start(work, pythonpath=site)
    assert (models, data) == (work / "data" / "models", work / "data")
    assert sorted(p.relative_to(models).as_posix() for p in models.rglob("model.json")) == [
        "cdcgan/5/model.json",
        "dcgan/3/model.json",
        "mnist-classifier/model.json",
    ]
    assert [p.name for p in data.iterdir()] == ["models"]  # no copy left half-way
    shutil.rmtree(models / "dcgan" / "3")  # deleted, as DELETE /models/dcgan/3 would
    start(work, pythonpath=site)
    assert not (models / "dcgan" / "3").exists()  # later starts leave the folder as it is


def test_models_dir_and_data_dir_override_the_default(tmp_path):
    site = installed(tmp_path / "site-packages")
    chosen = tmp_path / "chosen"
    assert start(tmp_path, {"DCGAN_MODELS_DIR": str(chosen)}, site)[0] == chosen
    assert not chosen.exists()  # a folder chosen by hand is served as it is, never filled
    models, data = start(tmp_path, {"DCGAN_DATA_DIR": "elsewhere"}, site)
    assert models == tmp_path / "elsewhere" / "models" and (models / "dcgan" / "3").is_dir()
