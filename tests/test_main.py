"""The service as a real uvicorn process: byte-identical across processes, graceful shutdown,
and a one-line error when nothing can be served."""

import asyncio
import signal
import subprocess
import sys

import httpx
import pytest

from tests.conftest import QUIET_TF, ROOT, start_server, wait_ready


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
        [sys.executable, "-c", "from app.server import serve; serve(['--help'])"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**QUIET_TF},
    )
    assert all(flag in done.stdout for flag in ("--host", "--port", "--workers")), done.stderr
