"""The OpenAPI schema: written for people and client generators (operation ids, summaries, the
bearer scheme, examples, one error model), and matching behaviour: schemathesis, all checks,
against a real server with the token (jobs queue but none runs). A short run; `schemathesis run`
with the coverage phase and --max-examples 300 (about 4,800 cases) passes too."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.jobs.schema import JobParams
from app.main import create_app
from tests.conftest import ROOT, serving

CLI = Path(sys.executable).parent / "schemathesis"
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


@pytest.fixture(scope="module")
def schema() -> dict:
    return create_app().openapi()


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [(m.upper(), path, op) for path, ops in schema["paths"].items() for m, op in ops.items()]


def test_operation_ids_and_summaries_are_written_for_people(schema):
    ids = {f"{method} {path}": op["operationId"] for method, path, op in operations(schema)}
    assert len(set(ids.values())) == len(ids)
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)+", i) for i in ids.values()), ids
    assert ids["GET /generate"] == "generateDigits" and ids["GET /jobs"] == "listJobs"
    assert ids["GET /jobs/{job_id}"] == "getJob" and ids["GET /jobs/{job_id}/events"] == "jobEvents"
    summaries = [op["summary"] for _, _, op in operations(schema)]
    assert "Generate a grid of digits" in summaries
    # FastAPI's default is the function's name in title case ("Get One", "Gif", "Sample")
    assert all(len(s.split()) >= 2 and not s.istitle() for s in summaries), summaries


def test_each_token_protected_operation_declares_the_bearer_scheme(schema):
    bearer = schema["components"]["securitySchemes"]["bearerToken"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    for method, path, op in operations(schema):
        protected = method not in ("GET", "HEAD")  # the guard wants the token for the others
        assert (op.get("security") == [{"bearerToken": []}]) == protected, (method, path)
        assert ("401" in op["responses"]) == protected, (method, path)
        assert all(p["name"] != "authorization" for p in op.get("parameters", []))


def test_every_error_response_is_the_error_model(schema):
    for method, path, op in operations(schema):
        for status, response in op["responses"].items():
            if status[0] in "45" and (method, path, status) != ("GET", "/readyz", "503"):
                assert response.get("content") == ERROR, (method, path, status)
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_parameter_examples_are_where_try_it_out_reads_them(schema):
    for _, path, op in operations(schema):
        for parameter in op.get("parameters", []):
            values = parameter["schema"].get("examples", [])
            assert [e["value"] for e in parameter.get("examples", {}).values()] == values, path


def test_the_job_example_is_a_valid_job(schema):
    examples = schema["components"]["schemas"]["JobParams"]["examples"]
    assert examples and all(JobParams.model_validate(example) for example in examples)


@pytest.mark.slow
@pytest.mark.skipif(not CLI.exists(), reason="needs schemathesis (the dev extra)")
def test_schemathesis_finds_no_server_error_and_no_mismatch(models_dir, tmp_path):
    shutil.copytree(models_dir, tmp_path / "models")
    env = {
        "DCGAN_MODELS_DIR": str(tmp_path / "models"),
        "DCGAN_DATA_DIR": str(tmp_path / "data"),
        "DCGAN_API_TOKEN": "st",
        "DCGAN_RUN_JOBS": "off",
        "DCGAN_ACCESS_LOG": "false",
    }
    with serving(env) as url:
        shutil.copy(ROOT / "tests" / "schemathesis.toml", tmp_path)
        done = subprocess.run(
            [str(CLI), "run", f"{url}/openapi.json", "-H", "Authorization: Bearer st",
             "--checks", "all", "--phases", "examples,fuzzing,stateful", "--max-examples", "15",
             "--seed", "1", "--workers", "2"],
            cwd=tmp_path, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-5000:]
    assert "passed" in done.stdout
