"""How fast a recipe gets to quality: FID-MNIST against training images seen and wall time.

    python benchmarks/time_to_quality.py --recipe quality [--conditional] [--out runs/ttq]
    python benchmarks/time_to_quality.py --run runs/ttq     # print an existing run's curve

Trains with `dcgan-train --recipe R` (resuming when --out holds a run; extra flags after `--`
go to the trainer) and prints its quality curve (curve.json: every evaluation, and the exported
prior fit's last point when the recipe fits one) with the CPU model and the date, as Markdown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import subprocess
import sys
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def curve_of(run: Path) -> list[dict]:
    """The run's evaluations, and the published export's last point when there is one."""
    points = json.loads((run / "curve.json").read_text())
    events = run.parent / f"{run.name}.events.jsonl"
    if events.exists():
        for line in events.read_text().splitlines():
            event = json.loads(line)
            if event["event"] == "export":
                info = json.loads((Path(event["path"]) / "model.json").read_text())
                points = info.get("curve", points)
    return points


def table(points: list[dict]) -> str:
    rows = [
        "| epoch | stage | images seen (M) | training minutes | FID-MNIST | confidence "
        "| share >= 0.9 |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in points:
        rows.append(
            f"| {p['epoch']} | {p['stage']} | {p['images_seen'] / 1e6:.2f} "
            f"| {p['train_seconds'] / 60:.1f} | {p['fid_mnist']:.2f} | {p['confidence']:.4f} "
            f"| {p.get('confident_share', float('nan')):.1%} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="quality")
    parser.add_argument("--conditional", action="store_true")
    parser.add_argument("--out", type=Path, help="the run's folder (default: runs/ttq-RECIPE)")
    parser.add_argument("--run", type=Path, help="print this run's curve; train nothing")
    parser.add_argument("trainer_flags", nargs="*", help="more dcgan-train flags, after --")
    args = parser.parse_args()
    run = args.run
    if run is None:
        kind = "-conditional" if args.conditional else ""
        run = args.out or Path("runs") / f"ttq-{args.recipe}{kind}"
        command = [sys.executable, "-m", "training", "--recipe", args.recipe, "--out", str(run)]
        command += [
            "--events",
            f"{run}.events.jsonl",
            "--export",
            str(run.parent / "exports" / run.name),
        ]
        command += ["--conditional"] * args.conditional + args.trainer_flags
        if (run / "checkpoints" / "checkpoint").exists():
            command.append("--resume")
        if subprocess.run(command).returncode != 0:
            return 1
    print(f"{run}: {cpu_model()}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n")
    print(table(curve_of(run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
