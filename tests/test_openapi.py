"""The OpenAPI schema matches behaviour: schemathesis, all checks, against a real server with
the token (jobs queue but none runs). A short run; `schemathesis run` with the coverage phase and
--max-examples 300 (about 4,800 cases) passes too."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, serving

pytestmark = pytest.mark.slow
CLI = Path(sys.executable).parent / "schemathesis"


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
