"""`dcgan-worker` as a process: it exits non-zero when it cannot run jobs, so compose or
Kubernetes start it again."""

import os
import sqlite3
import subprocess
import sys

import pytest

from app.jobs.store import JobStore
from tests.conftest import QUIET_TF, ROOT

pytestmark = pytest.mark.slow


def worker(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.worker", "--name", "w"],
        cwd=ROOT,
        env={**os.environ, **QUIET_TF, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_worker_whose_job_loop_dies_exits_with_status_1(tmp_path, models_dir):
    """A row no runner can read (edited by hand) kills the loop at its first claim."""
    JobStore(tmp_path / "data" / "jobs.db").close()
    with sqlite3.connect(tmp_path / "data" / "jobs.db") as db:
        db.execute("INSERT INTO jobs (params, state, created_at) VALUES ('{bad', 'queued', 0)")
    done = worker({"DCGAN_DATA_DIR": str(tmp_path / "data"), "DCGAN_MODELS_DIR": str(models_dir)})
    assert done.returncode == 1, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ERROR: worker w: exiting, as the job runner stopped: JSONDecodeError")


def test_a_worker_that_cannot_reach_its_database_says_so_in_one_line(tmp_path, models_dir):
    url = "postgresql://dcgan@127.0.0.1:1/none?connect_timeout=1"
    done = worker({"DCGAN_DATABASE_URL": url, "DCGAN_MODELS_DIR": str(models_dir)})
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert len(lines) == 1 and "the job database is unavailable" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
