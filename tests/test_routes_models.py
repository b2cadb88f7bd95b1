"""GET /models and /models/{name}."""


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
