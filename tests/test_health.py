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
