"""Liveness, readiness, metrics and the OpenAPI description."""


def test_healthz_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["models"] == {"cdcgan": "cdcgan@1", "dcgan": "dcgan@2"}


def test_metrics_count_requests_by_route_images_and_cache(client):
    client.get("/generate?n=3&seed=99")
    client.get("/generate?n=3&seed=99")
    client.get("/models/nope")
    text = client.get("/metrics").text
    assert 'dcgan_http_requests_total{method="GET",route="/generate",status="200"}' in text
    assert 'route="/models/{name}",status="404"' in text  # the template, not the raw path
    assert 'dcgan_http_request_duration_seconds_bucket{le="0.005",route="/generate"}' in text
    assert 'dcgan_images_generated_total{model="dcgan@2"}' in text
    hits = next(line for line in text.splitlines() if line.startswith("dcgan_cache_hits_total"))
    assert float(hits.split()[1]) >= 1


def test_openapi_describes_every_parameter_and_image_types(client):
    spec = client.get("/openapi.json").json()
    generate = spec["paths"]["/generate"]["get"]
    assert "image/png" in generate["responses"]["200"]["content"]
    for param in generate["parameters"]:
        assert param.get("description"), param["name"]
        if param["in"] == "query":
            assert param["schema"].get("examples") or param.get("examples"), param["name"]
    interpolate = spec["paths"]["/interpolate"]["get"]["responses"]["200"]["content"]
    assert {"image/png", "image/gif"} <= set(interpolate)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text


def test_readyz_is_503_with_the_reason_while_the_job_runner_is_down(settings, tmp_path):
    """A row no runner can read (edited by hand) kills the job loop: /readyz says so until the
    restarted loop runs again; /healthz and images are unaffected."""
    import sqlite3
    import time

    from fastapi.testclient import TestClient

    from app.jobs.store import JobStore
    from app.main import create_app

    JobStore(tmp_path / "jobs.db").close()
    with sqlite3.connect(tmp_path / "jobs.db") as db:
        db.execute("INSERT INTO jobs (params, state, created_at) VALUES ('{bad', 'queued', 0)")

    def readiness(client, status: int) -> dict:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answer = client.get("/readyz")
            if answer.status_code == status:
                return answer.json()
            time.sleep(0.1)
        raise AssertionError(f"/readyz never {status}: {answer.json()}")

    with TestClient(create_app(settings.model_copy(update={"data_dir": tmp_path}))) as client:
        down = readiness(client, 503)
        assert down["status"] == "not ready" and down["models"]["dcgan"] == "dcgan@2"
        assert down["reason"].startswith("the job runner stopped: JSONDecodeError")
        assert client.get("/healthz").status_code == 200
        assert client.get("/generate?n=1&seed=1").status_code == 200
        with sqlite3.connect(tmp_path / "jobs.db") as db:
            db.execute("""UPDATE jobs SET params = '{"name": "a"}'""")
        assert readiness(client, 200) == {"status": "ready", "models": down["models"]}
        assert client.get("/jobs/1").json()["state"] == "interrupted"  # recovered, then ready
