"""Quality of bfloat16 generation against float32, for each shipped model, in one run.

    python benchmarks/bf16_quality.py [--models-dir models] [--samples 10000]

The service's own generator (app/serving/generator.py) makes the evaluation's samples in a
process of each precision (the bfloat16 graph rewrite is process-wide); training.evaluate
scores them all in this float32 process, so only the generator's precision differs. Prints
FID-MNIST and mean confidence per model and precision, and the differences.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs in a process of its own: makes the evaluation's inputs into images, saved as .npy.
GENERATE = """
import json, sys
import numpy as np
from pathlib import Path
from app.serving.generator import Options, configure_precision
from app.serving.modelsdir import discover
from app.serving.registry import ModelRegistry

models, precision, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
samples = int(sys.argv[4])
configure_precision(precision)
rng = np.random.default_rng(int(sys.argv[5]))
noise = rng.standard_normal((samples, 100)).astype(np.float32)
labels = (np.arange(samples) % 10).astype(np.int32)
registry = ModelRegistry(models, "dcgan", Options(precision, "auto", 500))
sizes = {}
for name in sorted({name for name, _ in discover(models)}):
    version = max(v for n, v in discover(models) if n == name)
    g = registry.load(name, version, models / name / str(version)).generator
    chunks = [g.images(noise[i:i + 500], labels[i:i + 500]) for i in range(0, samples, 500)]
    images = np.concatenate(chunks)
    np.save(out / f"{name}@{version}.npy", images)
    sizes[f"{name}@{version}"] = list(g.sizes)
print(json.dumps(sizes))
"""


def generate(models: Path, precision: str, out: Path, samples: int) -> dict:
    """The images, made in a process of the given precision; returns its exact call sizes."""
    from training.evaluate import EVAL_SEED

    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            GENERATE,
            str(models),
            precision,
            str(out),
            str(samples),
            str(EVAL_SEED),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def score(models: Path, mnist, images: dict[str, Path], samples: int) -> dict:
    """FID-MNIST and confidence of saved images, scored in this (float32) process."""
    import numpy as np

    from training.evaluate import Evaluator, load_classifier

    evaluator = Evaluator(load_classifier(models / "mnist-classifier", mnist), mnist, samples, 0)
    scores = {}
    for ref, path in images.items():
        chunks = iter(np.split(np.load(path), range(500, samples, 500)))
        metrics = evaluator.evaluate(lambda noise, labels, chunks=chunks: next(chunks), False)
        scores[ref] = {k: metrics[k] for k in ("fid_mnist", "confidence")}
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--samples", type=int, default=10_000)
    args = parser.parse_args()
    from training.data import DataError, load_mnist

    try:  # before minutes of generating: the scores need MNIST
        mnist = load_mnist()
    except DataError as exc:
        sys.exit(f"bf16_quality: {exc}")
    with tempfile.TemporaryDirectory() as tmp:
        sizes, scores = {}, {}
        for precision in ("float32", "bfloat16"):
            folder = Path(tmp) / precision
            sizes[precision] = generate(args.models_dir, precision, folder, args.samples)
            images = {ref: folder / f"{ref}.npy" for ref in sizes[precision]}
            scores[precision] = score(args.models_dir, mnist, images, args.samples)
    f32, bf16 = scores["float32"], scores["bfloat16"]
    print("| model | FID float32 | FID bfloat16 | diff | confidence float32 | bfloat16 | diff |")
    print("|---|---|---|---|---|---|---|")
    for ref in f32:
        a, b = f32[ref], bf16[ref]
        print(
            f"| {ref} | {a['fid_mnist']:.2f} | {b['fid_mnist']:.2f} | "
            f"{b['fid_mnist'] - a['fid_mnist']:+.2f} | {a['confidence']:.4f} | "
            f"{b['confidence']:.4f} | {b['confidence'] - a['confidence']:+.4f} |"
        )
    print("exact call sizes:", sizes)


if __name__ == "__main__":
    main()
