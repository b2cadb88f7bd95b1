import io

import numpy as np
from PIL import Image

from app.serving.encoding import gif_bytes, grid, grid_png


def test_grid_places_tiles_row_major_with_black_gaps():
    tiles = np.stack([np.full((28, 28), v, np.uint8) for v in (10, 20, 30)])
    canvas = grid(tiles, cols=2)
    assert canvas.shape == (58, 58)
    assert canvas[0, 0] == 10 and canvas[0, 30] == 20 and canvas[30, 0] == 30
    assert canvas[:, 28:30].max() == 0 and canvas[30:, 30:].max() == 0  # gap, empty cell


def test_grid_png_upscales_with_nearest_neighbour():
    tiles = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    img = Image.open(io.BytesIO(grid_png(tiles, 2, 3)))
    assert img.mode == "L" and img.size == (174, 174)
    pixels = np.asarray(img)
    np.testing.assert_array_equal(pixels[::3, ::3][:28, :28], tiles[0])
    assert (pixels[:3, :3] == tiles[0, 0, 0]).all()


def test_gif_goes_there_and_back():
    frames = np.stack([np.full((28, 28), 25 * i, np.uint8) for i in range(8)])
    gif = Image.open(io.BytesIO(gif_bytes(frames, 2)))
    assert gif.n_frames == 14 and gif.size == (56, 56) and gif.info["loop"] == 0


def test_png_decodes_to_the_canvas_and_is_a_valid_file():
    canvas = np.random.default_rng(1).integers(0, 256, (37, 53), dtype=np.uint8)
    png = grid_png(canvas[None], cols=1, scale=1)
    img = Image.open(io.BytesIO(png))
    img.verify()  # the chunks' CRCs
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), canvas)
    assert grid_png(canvas[None], 1, 1) == png  # deterministic
