"""GET /noise: its rows, fed to the SavedModel in plain TensorFlow, draw /generate's digits."""

import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import ROOT, tiles


def float32_app(settings):
    """An app serving in float32, the SavedModel's own precision. bfloat16 is a process-wide
    graph rewrite that an earlier app of this process may have turned on: turn it off."""
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"auto_mixed_precision_onednn_bfloat16": False})
    return TestClient(create_app(settings.model_copy(update={"precision": "float32"})))


@pytest.fixture(scope="module")
def float32_client(settings):
    with float32_app(settings) as client:
        yield client


def saved_model_digits(version_dir: Path, inputs: dict) -> np.ndarray:
    """uint8 [n, 28, 28] from the export's serving_default signature, as TF Serving runs it."""
    import tensorflow as tf

    signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    tensors = {"noise": tf.constant(np.asarray(inputs["noise"], np.float32))}
    if "labels" in inputs:
        tensors["labels"] = tf.constant(np.asarray(inputs["labels"], np.int32))
    images = signature(**tensors)["images"].numpy()[..., 0]  # [-1, 1]
    return np.clip(np.rint(images * 127.5 + 127.5), 0, 255).astype(np.uint8)


def assert_noise_draws_generate(client, models_dir: Path, query: str, n: int) -> dict:
    answer = client.get(f"/noise?{query}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    name, version = body["model"].split("@")
    served = tiles(client.get(f"/generate?{query}&cols=4").content, n, 4)
    drawn = saved_model_digits(models_dir / name / version, body["inputs"])
    diff = np.abs(np.stack(served).astype(int) - drawn.astype(int))
    assert diff.max() <= 1, f"{(diff > 1).sum()} pixels differ by more than one grey level"
    return body


def test_noise_reproduces_generate_on_a_tiny_model(float32_client, settings):
    body = assert_noise_draws_generate(float32_client, settings.models_dir, "n=16&seed=42", 16)
    assert body["model"] == "dcgan@2" and body["seed"] == 42
    noise = np.asarray(body["inputs"]["noise"], np.float32)
    assert noise.shape == (16, 100) and "labels" not in body["inputs"]


def test_noise_of_a_conditional_model_has_its_labels(float32_client, settings):
    query = "n=8&seed=7&model=cdcgan@1&digits=3,1,4"
    body = assert_noise_draws_generate(float32_client, settings.models_dir, query, 8)
    assert body["inputs"]["labels"] == [3, 1, 4, 3, 1, 4, 3, 1]
    digit = float32_client.get("/noise?n=3&seed=7&model=cdcgan&digit=5").json()
    assert digit["inputs"]["labels"] == [5, 5, 5]
    assert digit["inputs"]["noise"] == body["inputs"]["noise"][:3]  # row i: seed and i only


def test_noise_as_npy(client):
    as_json = client.get("/noise?n=4&seed=3&model=cdcgan").json()
    answer = client.get("/noise?n=4&seed=3&model=cdcgan&format=npy")
    assert answer.headers["content-type"] == "application/x-npy"
    assert answer.headers["x-model"] == "cdcgan@1" and answer.headers["x-seed"] == "3"
    assert answer.headers["x-labels"] == "0,1,2,3"
    rows = np.load(io.BytesIO(answer.content))
    assert rows.dtype == np.float32 and rows.shape == (4, 100)
    np.testing.assert_array_equal(rows, np.asarray(as_json["inputs"]["noise"], np.float32))


def test_noise_without_a_seed_reports_the_one_it_chose(client):
    answer = client.get("/noise?n=2")
    assert answer.headers["cache-control"] == "no-store"
    again = client.get(f"/noise?n=2&seed={answer.headers['x-seed']}")
    assert again.json() == answer.json()
    assert again.headers["cache-control"] == "public, max-age=60"


def test_noise_errors_say_what_was_wrong(client):
    digit = client.get("/noise?digit=3")
    assert digit.status_code == 422 and digit.json()["detail"][0]["loc"] == ["query", "digit"]
    assert "not conditional" in digit.json()["detail"][0]["msg"]
    assert client.get("/noise?n=0").status_code == 422
    assert client.get("/noise?format=csv").status_code == 422
    missing = client.get("/noise?model=nope")
    assert missing.status_code == 404 and "unknown model 'nope'" in missing.json()["detail"]


@pytest.mark.slow
def test_noise_reproduces_generate_on_the_shipped_default_model(tmp_path):
    from app.config import Settings

    shipped = Settings(models_dir=ROOT / "models", data_dir=tmp_path)
    with float32_app(shipped) as client:
        body = assert_noise_draws_generate(client, shipped.models_dir, "n=16&seed=42", 16)
    assert body["model"].startswith(f"{shipped.default_model}@")
