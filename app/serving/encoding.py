"""Pixels to PNG grids, strips and animated GIFs."""

from __future__ import annotations

import io
import math
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

GAP = 2
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def default_cols(n: int) -> int:
    return math.ceil(math.sqrt(n))


def grid(pixels: np.ndarray, cols: int) -> np.ndarray:
    """uint8 [N, h, w] -> one uint8 canvas, row-major, 2-pixel black gaps between tiles."""
    n, h, w = pixels.shape
    cols = min(cols, n)
    rows = -(-n // cols)
    canvas = np.zeros((rows * (h + GAP) - GAP, cols * (w + GAP) - GAP), np.uint8)
    for i, tile in enumerate(pixels):
        r, c = divmod(i, cols)
        canvas[r * (h + GAP) : r * (h + GAP) + h, c * (w + GAP) : c * (w + GAP) + w] = tile
    return canvas


def upscale(canvas: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour integer upscaling."""
    return canvas if scale == 1 else canvas.repeat(scale, 0).repeat(scale, 1)


# Part of every response's cache key and ETag: bump it whenever the encoded bytes change.
ENCODING = "png-rle"


def png_bytes(canvas: np.ndarray) -> bytes:
    """An 8-bit grayscale PNG: one IDAT of zlib's run-length strategy over unfiltered rows.
    Written here, not by Pillow, and run-length, not zlib's level 6: both are faster, and digits
    are runs of black, so run-length is smaller too (docs/benchmarks.md, 'AMD EPYC with
    AVX512-BF16, no AMX')."""
    height, width = canvas.shape
    rows = np.zeros((height, width + 1), np.uint8)  # each row starts with filter type 0
    rows[:, 1:] = canvas
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", _deflate_runs(rows.tobytes())),
            _chunk(b"IEND", b""),
        )
    )


def _deflate_runs(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    return compressor.compress(data) + compressor.flush()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def grid_png(pixels: np.ndarray, cols: int, scale: int) -> bytes:
    """An 8-bit grayscale PNG of the grid."""
    return png_bytes(upscale(grid(pixels, cols), scale))


def gif_bytes(pixels: np.ndarray, scale: int, frame_ms: int = 60) -> bytes:
    """An endlessly looping GIF that walks the frames forward, then back."""
    frames = [Image.fromarray(upscale(p, scale)) for p in pixels]
    frames += frames[-2:0:-1]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0
    )
    return buffer.getvalue()


def progress_gif(frames: list[Path], frame_ms: int = 200) -> bytes:
    """Sample-grid PNGs as one looping animation; the last frame is held longer."""
    images = [Image.open(path).convert("L") for path in frames]
    buffer = io.BytesIO()
    durations = [frame_ms] * (len(images) - 1) + [frame_ms * 5]
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0
    )
    return buffer.getvalue()
