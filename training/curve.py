"""A run's quality curve: each evaluation with what the run had cost by then."""

from __future__ import annotations

import json
from pathlib import Path

FILE = "curve.json"
METRICS = ("fid_mnist", "confidence", "confident_share", "class_entropy", "digit_accuracy")


def read(path: Path) -> list[dict]:
    """A run's evaluations so far: [{epoch, stage, images_seen, train_seconds, fid_mnist, ...}]."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return []


def write(path: Path, curve: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(curve, indent=1) + "\n")
    tmp.replace(path)


def point(epoch: int, stage: str, totals: dict, metrics: dict) -> dict:
    """One evaluation's entry: when (epoch, stage, images_seen, train_seconds) and its scores."""
    return {"epoch": epoch, "stage": stage, **totals} | {
        k: v for k, v in metrics.items() if k in METRICS
    }
