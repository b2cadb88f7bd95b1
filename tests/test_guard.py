"""The guard: the token before any body is read, but routing's 404 and 405 whatever the token
(an app without models: nothing here reaches a route)."""

import pytest
from fastapi.testclient import TestClient

from app.api.errors import Error
from app.config import Settings
from app.main import create_app


@pytest.fixture(scope="module")
def http(tmp_path_factory):
    root = tmp_path_factory.mktemp("guard")
    settings = Settings(models_dir=root / "models", data_dir=root / "data", api_token="t")
    return TestClient(create_app(settings))  # no lifespan: no models, no jobs


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/generate", "GET"),
        ("DELETE", "/jobs", "GET, POST"),
        ("PATCH", "/jobs/1", "DELETE, GET"),
        ("GET", "/jobs/1/cancel", "POST"),
        ("PUT", "/models/dcgan/1", "DELETE"),
    ],
)
@pytest.mark.parametrize("token", [None, "wrong", "t"])
def test_a_method_the_path_lacks_is_405_with_allow_whatever_the_token(
    http, method, path, allow, token
):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = http.request(method, path, headers=headers, content=b"{}")
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {"detail": f"{path} takes {allow}, not {method}"}


def test_an_unknown_path_is_404_without_a_token(http):
    response = http.post("/nowhere", content=b"{}")
    assert response.status_code == 404
    assert response.json() == {"detail": "nothing is at /nowhere; /docs lists what is"}


@pytest.mark.parametrize("path", ["/jobs", "/jobs/1/cancel", "/models/dcgan/1/activate"])
def test_a_route_that_changes_something_still_wants_the_token(http, path):
    response = http.post(path, content=b"{not json")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert Error.model_validate(response.json()).detail == "missing or wrong bearer token"


def test_a_large_body_is_413_before_it_is_read(http):
    response = http.post("/jobs", headers={"Authorization": "Bearer t"}, content=b"x" * 70_000)
    assert response.status_code == 413 and "bytes" in response.json()["detail"]
