"""Side by side: two training runs' quality at equal epochs and at equal wall time.

    python scripts/compare_recipes.py runs/dcgan-tutorial.events.jsonl runs/dcgan.events.jsonl \
        --names tutorial best

Reads the `epoch` events of each run's --events file (runs trained with --eval-every) and prints
a Markdown table. Wall time is each run's own training seconds (sum of its epochs' `seconds`,
evaluation excluded), so runs that shared the CPU with other work look slower than they are;
--rates gives each run's uncontended images/s (benchmarks/train_speed.py) to use instead.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def evaluated_epochs(path: Path, rate: float | None) -> list[dict]:
    """[{epoch, minutes, fid, confidence, entropy}] for every evaluated epoch of the run."""
    rows, minutes, images = [], 0.0, None
    for line in path.read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "start":
            images = event["train_images"]
        if event["event"] != "epoch":
            continue
        minutes += (images / rate if rate else event["seconds"]) / 60
        if event.get("metrics"):
            m = event["metrics"]
            rows.append(
                {
                    "epoch": event["epoch"],
                    "minutes": minutes,
                    "fid": m["fid_mnist"],
                    "confidence": m["confidence"],
                    "entropy": m["class_entropy"],
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=Path, nargs=2)
    parser.add_argument("--names", nargs=2, default=["A", "B"])
    parser.add_argument("--rates", type=float, nargs=2, help="uncontended images/s of each run")
    args = parser.parse_args()
    rates = args.rates or [None, None]
    a, b = (evaluated_epochs(p, r) for p, r in zip(args.events, rates))
    na, nb = args.names
    print("Equal epochs (FID-MNIST, lower is better; confidence; class entropy):\n")
    print(
        f"| epoch | {na} FID | {na} conf. | {na} entropy | {nb} FID | {nb} conf. | {nb} entropy |"
    )
    print("|---|---|---|---|---|---|---|")
    by_epoch = {r["epoch"]: r for r in b}
    for r in a:
        s = by_epoch.get(r["epoch"])
        if s:
            print(
                f"| {r['epoch']} | {r['fid']:.1f} | {r['confidence']:.3f} | {r['entropy']:.3f} "
                f"| {s['fid']:.1f} | {s['confidence']:.3f} | {s['entropy']:.3f} |"
            )
    print("\nEqual wall time (training minutes; each run's latest evaluation by then):\n")
    print(f"| minutes | {na} epoch | {na} FID | {nb} epoch | {nb} FID |")
    print("|---|---|---|---|---|")
    end = min(a[-1]["minutes"], b[-1]["minutes"])
    for minutes in sorted({round(r["minutes"]) for r in a + b if r["minutes"] <= end + 0.5}):
        ra = [r for r in a if r["minutes"] <= minutes + 0.5]
        rb = [r for r in b if r["minutes"] <= minutes + 0.5]
        if ra and rb:
            print(
                f"| {minutes} | {ra[-1]['epoch']} | {ra[-1]['fid']:.1f} "
                f"| {rb[-1]['epoch']} | {rb[-1]['fid']:.1f} |"
            )


if __name__ == "__main__":
    main()
