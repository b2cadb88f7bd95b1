"""GET /models and /models/{name}."""

from app.serving.generator import has_native_bfloat16


def test_models_lists_versions_status_and_model_json(client):
    body = client.get("/models").json()
    assert body["default"] == "dcgan"
    models = {m["name"]: m for m in body["models"]}
    assert sorted(models) == ["broken", "cdcgan", "dcgan"]  # the version-less folder is skipped
    dcgan = models["dcgan"]
    assert dcgan["active_version"] == 2 and dcgan["status"] == "ready" and dcgan["default"]
    assert [v["version"] for v in dcgan["versions"]] == [2, 1]
    assert dcgan["versions"][0]["model_json"]["noise_dim"] == 100
    assert models["cdcgan"]["conditional"] is True and dcgan["conditional"] is False
    broken = models["broken"]
    assert broken["status"] == "failed" and broken["active_version"] is None
    assert broken["versions"][0]["error"].startswith("JSONDecodeError")


def test_one_model_and_unknown_model(client):
    assert client.get("/models/cdcgan").json()["active_version"] == 1
    missing = client.get("/models/nope")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "unknown model 'nope'; available: broken, cdcgan, dcgan"}


def test_models_shows_metrics_written_after_start(settings, tmp_path):
    import json
    import shutil

    from fastapi.testclient import TestClient

    from app.main import create_app

    shutil.copytree(settings.models_dir / "dcgan", tmp_path / "dcgan")
    copy = settings.model_copy(update={"models_dir": tmp_path})
    with TestClient(create_app(copy)) as client:
        assert "metrics" not in client.get("/models/dcgan").json()["versions"][0]["model_json"]
        path = tmp_path / "dcgan" / "2" / "model.json"
        info = json.loads(path.read_text()) | {"metrics": {"fid_mnist": 12.5}}
        info["noise_dim"] = 5  # anything but the metrics: not what the loaded generator takes
        info["dataset"] = {"source": "/srv/secret/place/mnist.npz", "train_images": 10}
        path.write_text(json.dumps(info))  # as `python -m training.evaluate` does
        shown = client.get("/models/dcgan").json()["versions"][0]["model_json"]
        assert shown["metrics"] == {"fid_mnist": 12.5} and shown["noise_dim"] == 100
        assert client.get("/generate?n=2&seed=1").status_code == 200


def test_models_show_no_server_paths(settings, tmp_path):
    import json
    import shutil

    from fastapi.testclient import TestClient

    from app.main import create_app

    shutil.copytree(settings.models_dir / "dcgan", tmp_path / "dcgan")
    path = tmp_path / "dcgan" / "2" / "model.json"
    info = json.loads(path.read_text()) | {"dataset": {"source": "/srv/secret/mnist.npz"}}
    path.write_text(json.dumps(info))
    (tmp_path / "dcgan" / "3").mkdir()  # fails to load, with a path in its error
    copy = settings.model_copy(update={"models_dir": tmp_path})
    with TestClient(create_app(copy)) as client:
        text = client.get("/models").text
        assert "/srv/secret" not in text and str(tmp_path) not in text
        assert "…/mnist.npz" in text


def test_each_version_says_how_it_generates_in_models_and_metrics(client):
    versions = client.get("/models/dcgan").json()["versions"]
    generation = versions[0]["generation"]
    assert generation["mode"] in ("batched", "per-image") and generation["exact"] is True
    # the default precision, auto: bfloat16 where the CPU multiplies it natively
    precision = "bfloat16" if has_native_bfloat16() else "float32"
    assert generation["precision"] == precision and len(generation["fingerprint"]) == 16
    assert generation["weights"] == "constants" and generation["graph"] == "folded+sub-pixel"
    assert (generation["mode"] == "batched") == bool(generation["call_sizes"])
    # dcgan@1 is not active: it is listed, and loads when first asked for
    assert versions[1]["status"] == "unloaded" and versions[1]["generation"] is None
    assert client.get("/generate?n=1&seed=1&model=dcgan@1").status_code == 200
    loaded = client.get("/models/dcgan").json()["versions"][1]["generation"]
    assert loaded["fingerprint"] != generation["fingerprint"]
    metrics = client.get("/metrics").text
    sizes = ",".join(map(str, generation["call_sizes"])) or "-"
    line = (
        f'dcgan_generation_mode{{call_sizes="{sizes}",mode="{generation["mode"]}",'
        f'model="dcgan@2",precision="{precision}"}} 1.0'
    )
    assert line in metrics


def test_a_version_is_written_in_digits(client):
    response = client.post("/models/dcgan/0_1/activate")  # pydantic alone reads it as 1
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "version"]


def test_download_is_the_version_folder_as_a_tar_gz(client, settings, tmp_path):
    import io
    import tarfile

    answer = client.get("/models/dcgan/2/download")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/gzip"
    assert answer.headers["content-disposition"] == 'attachment; filename="dcgan-2.tar.gz"'
    assert "content-length" not in answer.headers  # streamed as it is made
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as tar:
        assert {m.uname for m in tar.getmembers()} == {""}  # no server user names
        tar.extractall(tmp_path, filter="data")
    source = settings.models_dir / "dcgan" / "2"
    files = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    got = tmp_path / "dcgan" / "2"  # untar it into a models folder: it serves as it is
    assert sorted(p.relative_to(got) for p in got.rglob("*") if p.is_file()) == files
    assert "saved_model.pb" in map(str, files) and "model.json" in map(str, files)
    for name in files:
        assert (got / name).read_bytes() == (source / name).read_bytes(), name


def test_download_of_an_unknown_model_or_version_is_404(client):
    missing = client.get("/models/nope/1/download")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "unknown model 'nope'; available: broken, cdcgan, dcgan"}
    version = client.get("/models/dcgan/9/download")
    assert version.status_code == 404
    assert version.json() == {"detail": "model 'dcgan' has no version 9; versions: 1, 2"}
