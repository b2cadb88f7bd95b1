"""The per-epoch progress grid (the tutorial's 4x4 figure) and the GIF assembled from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

GAP = 2


def grid_image(images: np.ndarray, cols: int = 4) -> Image.Image:
    """[N, 28, 28, 1] in [-1, 1] -> one grayscale grid, white digits on black, 2-pixel gaps."""
    pixels = np.clip(np.rint(images[..., 0] * 127.5 + 127.5), 0, 255).astype(np.uint8)
    n, h, w = pixels.shape
    rows = -(-n // cols)
    canvas = np.zeros((rows * h + (rows - 1) * GAP, cols * w + (cols - 1) * GAP), np.uint8)
    for i, tile in enumerate(pixels):
        r, c = divmod(i, cols)
        canvas[r * (h + GAP) : r * (h + GAP) + h, c * (w + GAP) : c * (w + GAP) + w] = tile
    return Image.fromarray(canvas)


def sample_path(out: Path, epoch: int) -> Path:
    return out / "samples" / f"epoch_{epoch:04d}.png"


def save_sample(images: np.ndarray, out: Path, epoch: int, scale: int = 4) -> Path:
    """Write the epoch's grid, upscaled so it is easy to look at."""
    path = sample_path(out, epoch)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = grid_image(images)
    image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    tmp = path.with_suffix(".tmp")
    image.save(tmp, format="PNG")
    tmp.replace(path)
    return path


def save_gif(out: Path, frame_ms: int = 200) -> Path | None:
    """Assemble OUT/progress.gif from every epoch grid so far; None when there is none."""
    frames = sorted((out / "samples").glob("epoch_*.png"))
    if not frames:
        return None
    images = [Image.open(p).convert("L") for p in frames]
    path = out / "progress.gif"
    tmp = out / "progress.gif.tmp"
    # Hold the last frame longer so the final result can be seen.
    durations = [frame_ms] * (len(images) - 1) + [frame_ms * 5]
    images[0].save(
        tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0
    )
    tmp.replace(path)
    return path
