"""The README cannot rot silently: its commands run, its tables match the code."""

import os
import re
import shutil
import subprocess

import httpx
import pytest

from app.config import Settings
from tests.conftest import QUIET_TF, ROOT, free_port, service_env, serving, wait_ready
from training.cli import build_parser

README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
TRAINING = (ROOT / "docs" / "training.md").read_text()
BENCHMARKS = (ROOT / "docs" / "benchmarks.md").read_text()
TOKEN = "readme-token"


def shell_blocks(text: str) -> list[str]:
    """Commands of the ```sh blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", "", block)
        commands += [
            line.strip()
            for line in joined.splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
    return commands


@pytest.mark.slow
def test_every_curl_example_runs(models_dir, mnist_path, tmp_path):
    env = service_env(tmp_path / "service", models_dir, mnist_path, TOKEN)
    with serving(env) as url:
        curls = [c for c in shell_blocks(README) if c.startswith("curl ")]
        assert len(curls) >= 12
        for command in curls:
            done = subprocess.run(
                ["bash", "-c", command.replace("http://127.0.0.1:8000", url)],
                cwd=tmp_path,
                env={**os.environ, "DCGAN_API_TOKEN": TOKEN},
                capture_output=True,
                text=True,
                timeout=900,
            )
            assert done.returncode == 0, f"{command}\n{done.stderr}"
        for name in ("digits.png", "sevens.png", "walk.gif", "progress.gif", "quick.png"):
            assert (tmp_path / name).stat().st_size > 0
        assert httpx.get(f"{url}/jobs/1").json()["state"] == "succeeded"


def test_configuration_table_lists_every_setting_with_its_default():
    rows = dict(re.findall(r"^\| `DCGAN_(\w+)` \| `?([^`|]+?)`? \|", CONFIGURATION, re.M))
    for name, field in Settings.model_fields.items():
        assert name.upper() in rows, f"DCGAN_{name.upper()} missing from the README"
        default = "unset" if field.default is None else str(field.default)
        assert rows[name.upper()] == default, name


def test_training_flag_table_matches_the_cli():
    documented = set(re.findall(r"^\| `(--[a-z0-9-]+)", TRAINING, re.M))
    documented |= set(re.findall(r"`, `(--[a-z0-9-]+)` \|", TRAINING))  # "--a`, `--b" rows
    actual = {o for a in build_parser()._actions for o in a.option_strings if o.startswith("--")}
    assert documented == actual - {"--help"}


def test_readme_is_short_and_for_users():
    assert len(README.splitlines()) <= 200
    for word in ("session", "issue", "target"):
        assert word not in README.lower(), word
    for link in re.findall(r"\]\((docs/[^)#]+)", README):
        assert (ROOT / link).exists(), link


def test_readme_benchmark_rows_are_the_benchmarks_printout():
    """The README's rows are copied from the printout kept in docs/benchmarks.md."""
    rows = [
        line
        for line in README.splitlines()
        if line.startswith("| unique") or line.startswith("| repeated")
    ]
    assert rows
    for row in rows:
        assert row in BENCHMARKS, row


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.slow
def test_make_serve_serves_generate(models_dir):
    port = free_port()
    env = {**os.environ, **QUIET_TF, "DCGAN_PORT": str(port), "DCGAN_MODELS_DIR": str(models_dir)}
    proc = subprocess.Popen(
        ["make", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}")
        response = httpx.get(f"http://127.0.0.1:{port}/generate?n=16&seed=42")
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    finally:
        os.killpg(proc.pid, 15)
        proc.wait()
