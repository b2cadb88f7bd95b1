"""Where the models are when DCGAN_MODELS_DIR is unset: the shipped ones, wherever it runs from.

A source checkout (an editable install, or none) serves its own models/, whatever folder the
service starts in. An installed wheel carries the shipped models as package data (the package
dcgan_digits_models, which pyproject.toml maps onto models/); site-packages is no place for the
versions jobs export or for active.json, so its default is DATA_DIR/models, which the first start
fills with a copy of them. Later starts leave that folder as it is: a deleted version stays
deleted, and a newer wheel's models are not mixed into what jobs made there.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger("app")
# The folder holding app/: a checkout's root, or site-packages beside dcgan_digits_models/.
_ROOT = Path(__file__).resolve().parents[2]
CHECKOUT_MODELS = _ROOT / "models"
PACKAGED_MODELS = _ROOT / "dcgan_digits_models"


def in_checkout() -> bool:
    return (_ROOT / "pyproject.toml").is_file() and CHECKOUT_MODELS.is_dir()


def default_models_dir(data_dir: Path) -> Path:
    return CHECKOUT_MODELS if in_checkout() else data_dir / "models"


def copy_shipped_models(models_dir: Path, data_dir: Path) -> None:
    """An installed wheel's first start: DATA_DIR/models, missing, becomes a copy of the shipped
    models. It appears whole (copied beside it, then renamed) or not at all, so a worker starting
    at the same time never serves half of it; the first of two copies wins."""
    if models_dir != data_dir / "models" or models_dir.exists() or not PACKAGED_MODELS.is_dir():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".models-", dir=data_dir))
    try:
        shutil.copytree(PACKAGED_MODELS, tmp / "models")
        (tmp / "models").rename(models_dir)
        log.info("copied the shipped models into %s (its first start)", models_dir)
    except OSError:
        if not models_dir.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
