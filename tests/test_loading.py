"""Loading one export: both folder layouts, and answers without server paths."""

import json
import logging
import shutil

from app.serving.generator import Options
from app.serving.loading import load_version


def test_an_export_in_the_older_layout_loads_and_says_so(models_dir, tmp_path, caplog):
    old = tmp_path / "dcgan" / "1"
    shutil.copytree(models_dir / "dcgan" / "1", old)
    (old / "saved_model").mkdir()
    for part in ("saved_model.pb", "variables", "fingerprint.pb", "assets"):
        if (old / part).exists():
            (old / part).rename(old / "saved_model" / part)
    with caplog.at_level(logging.INFO, logger="app"):
        model = load_version("dcgan", 1, old, Options(max_rows=16))
    assert model.status == "ready", model.error
    assert "older export layout" in caplog.text
    new = load_version("dcgan", 1, models_dir / "dcgan" / "1", Options(max_rows=16))
    assert new.fingerprint == model.fingerprint  # the same weights, the same bytes


def test_latent_signatures_declared_but_missing_fail_the_load_saying_which(models_dir, tmp_path):
    folder = tmp_path / "dcgan" / "1"
    shutil.copytree(models_dir / "dcgan" / "1", folder)
    info = json.loads((folder / "model.json").read_text())
    info["signature"]["latent_signatures"] = {"noise_to_latent": {}, "latent_to_images": {}}
    (folder / "model.json").write_text(json.dumps(info))
    model = load_version("dcgan", 1, folder, Options(max_rows=16))
    assert model.status == "failed"
    assert model.error == (
        "ValueError: model.json declares signatures the SavedModel lacks: "
        "['noise_to_latent', 'latent_to_images']"
    )
