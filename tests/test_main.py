"""The service as a real uvicorn process: byte-identical across processes, graceful shutdown,
a one-line error when nothing can be served, and /docs and /redoc working with no internet."""

import asyncio
import shutil
import signal
import subprocess
import sys

import httpx
import pytest

from tests.conftest import QUIET_TF, ROOT, serving, start_server, wait_ready
from tests.test_web import browser, needs_chromium  # noqa: F401 (browser is a fixture)

TOKEN = "docs-token"


async def _slow_requests(url: str, proc: subprocess.Popen) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        pending = [
            asyncio.create_task(http.get(f"/generate?n=256&scale=8&seed={i}")) for i in range(6)
        ]
        while await in_progress(http) < 6 + 1:  # ours, and this /metrics request
            pass
        proc.send_signal(signal.SIGTERM)
        return await asyncio.gather(*pending)


async def in_progress(http: httpx.AsyncClient) -> float:
    metrics = (await http.get("/metrics")).text
    line = next(x for x in metrics.splitlines() if x.startswith("dcgan_http_requests_in_progress"))
    return float(line.split()[-1])


@pytest.mark.slow
def test_real_server_matches_in_process_bytes_and_drains_on_sigterm(client, models_dir):
    proc, url = start_server({"DCGAN_MODELS_DIR": str(models_dir)})
    try:
        wait_ready(proc, url)
        served = httpx.get(f"{url}/generate?n=16&seed=42")
        assert served.status_code == 200
        assert served.content == client.get("/generate?n=16&seed=42").content
        responses = asyncio.run(_slow_requests(url, proc))
        assert [r.status_code for r in responses] == [200] * 6  # in-flight requests finished
        proc.wait(timeout=60)
        stderr = proc.log
        # uvicorn shuts down cleanly, then re-raises SIGTERM so the exit status reports it.
        assert proc.returncode in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in stderr
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_no_servable_model_exits_with_one_line(tmp_path):
    (tmp_path / "broken" / "1").mkdir(parents=True)
    proc, _ = start_server({"DCGAN_MODELS_DIR": str(tmp_path)})
    proc.wait(timeout=120)
    stderr = proc.log
    assert proc.returncode != 0
    assert "Traceback" not in stderr
    assert f"no servable model in {tmp_path}/ (broken@1: FileNotFoundError" in stderr


@pytest.mark.slow
def test_dcgan_serve_help_lists_host_port_workers():
    done = subprocess.run(
        [sys.executable, "-c", "from app.api.server import serve; serve(['--help'])"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**QUIET_TF},
    )
    assert all(flag in done.stdout for flag in ("--host", "--port", "--workers")), done.stderr


@pytest.fixture(scope="module")
def docs_service(models_dir, tmp_path_factory):
    """A server with a token whose jobs queue but never run."""
    root = tmp_path_factory.mktemp("docs")
    shutil.copytree(models_dir, root / "models")
    env = {
        "DCGAN_MODELS_DIR": str(root / "models"),
        "DCGAN_DATA_DIR": str(root / "data"),
        "DCGAN_API_TOKEN": TOKEN,
        "DCGAN_RUN_JOBS": "off",
    }
    with serving(env) as url:
        yield url


@pytest.fixture
def offline_page(browser, docs_service):  # noqa: F811 (the fixture imported above)
    """A page whose requests to any other origin are recorded and refused, as with no
    internet; yields (page, the refused URLs)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    refused: list[str] = []

    def local_only(route):
        if route.request.url.startswith(f"{docs_service}/"):
            return route.continue_()
        refused.append(route.request.url)
        return route.abort()

    context.route("**/*", local_only)
    yield context.new_page(), refused
    context.close()


def operations(url: str) -> list[dict]:
    schema = httpx.get(f"{url}/openapi.json").json()
    return [op for path in schema["paths"].values() for op in path.values()]


@pytest.mark.slow
@needs_chromium
def test_docs_render_every_operation_with_no_request_leaving_the_machine(
    offline_page, docs_service
):
    page, refused = offline_page
    page.goto(f"{docs_service}/docs")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() == len(operations(docs_service))
    assert page.locator("#operations-generate-generateDigits").is_visible()
    assert refused == []


@pytest.mark.slow
@needs_chromium
def test_redoc_renders_every_operation_with_no_request_leaving_the_machine(
    offline_page, docs_service
):
    page, refused = offline_page
    page.goto(f"{docs_service}/redoc")
    page.locator("h2", has_text="Generate a grid of digits").wait_for()
    for operation in operations(docs_service):
        assert page.locator("h2", has_text=operation["summary"]).count() >= 1
    assert refused == []


@pytest.mark.slow
@needs_chromium
def test_docs_authorize_and_try_post_jobs_with_its_example(offline_page, docs_service):
    page, refused = offline_page
    page.goto(f"{docs_service}/docs")
    page.click("button.authorize")
    page.fill("#auth-bearer-value", TOKEN)
    page.click(".auth-btn-wrapper button.authorize")
    page.click(".auth-btn-wrapper button.btn-done")
    create = page.locator("#operations-jobs-createJob")
    create.locator(".opblock-summary").click()
    create.locator("button.try-out__btn").click()
    assert '"name": "my-digits"' in create.locator("textarea.body-param__text").input_value()
    create.locator("button.execute").click()
    status = create.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip().startswith("202")
    jobs = httpx.get(f"{docs_service}/jobs").json()["jobs"]
    assert [job["params"]["name"] for job in jobs] == ["my-digits"]
    assert refused == []


@pytest.mark.slow
@needs_chromium
def test_docs_try_it_out_starts_from_the_parameter_examples(offline_page, docs_service):
    page, _ = offline_page
    page.goto(f"{docs_service}/docs")
    generate = page.locator("#operations-generate-generateDigits")
    generate.locator(".opblock-summary").click()
    generate.locator("button.try-out__btn").click()
    for name, value in [("seed", "42"), ("model", "dcgan"), ("cols", "4")]:
        assert generate.locator(f'tr[data-param-name="{name}"] input').input_value() == value
