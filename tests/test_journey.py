"""A newcomer's journey: a fresh clone of this commit beside `../shared`, `make serve` exactly as
the README says (only the port and a token set), the README's examples as written, a job from the
page, a walk, and a checkout left as clean as it came.

It tests what is committed (the clone is of HEAD). The clone gets its own .venv (pip's cache makes
that a minute). Its ../shared/data/mnist.npz holds 2,048 of the real training digits (all of
them make the README's quick job a 5-minute run: benchmarks/time_to_quality.py measures that),
so the README's job runs its recipe as written, on fewer images.
"""

import io
import json
import os
import re
import shutil
import signal
import subprocess
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, free_port, tiles
from tests.test_web import CHROMIUM, needs_chromium

pytestmark = [pytest.mark.slow, pytest.mark.journey]
README = (ROOT / "README.md").read_text()
TOKEN = "journey-token"


def sh_block_after(heading: str) -> str:
    """The first ```sh block after a README heading, as a script."""
    rest = README[README.index(heading) :]
    return re.search(r"```sh\n(.*?)```", rest, re.S).group(1)


@pytest.fixture(scope="module")
def clone(tmp_path_factory, small_mnist):
    root = tmp_path_factory.mktemp("journey")
    (root / "shared" / "data").mkdir(parents=True)  # beside the clone, as ../shared is
    shutil.copy(small_mnist, root / "shared" / "data" / "mnist.npz")
    subprocess.run(["git", "clone", "-q", str(ROOT), str(root / "repo")], check=True)
    return root / "repo"


@pytest.fixture(scope="module")
def served(clone):
    """`make serve` in the clone; its URL once ready."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DCGAN_", "MNIST_PATH"))}
    env |= {"DCGAN_PORT": str(port), "DCGAN_API_TOKEN": TOKEN}
    log = open(clone.parent / "serve.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        ["make", "serve"], cwd=clone, env=env, stdout=log, stderr=log, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900  # the first make creates the clone's .venv
    while time.monotonic() < deadline:
        assert proc.poll() is None, (clone.parent / "serve.log").read_text()[-3000:]
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(1)
    else:
        raise AssertionError("make serve never became ready")
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(60)
    log.close()


def run(script: str, url: str, cwd) -> subprocess.CompletedProcess:
    script = script.replace("http://127.0.0.1:8000", url)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, "DCGAN_API_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, f"{script}\n{done.stderr[-3000:]}"
    return done


def size(path) -> tuple[int, int]:
    return Image.open(path).size


def test_the_api_examples_give_what_their_words_say(served, tmp_path):
    done = run(sh_block_after("## The API"), served, tmp_path)
    assert size(tmp_path / "digits.png") == (118, 118)  # 16 digits, 4 x 4 tiles
    assert size(tmp_path / "sevens.png") == (3 * 118, 3 * 58)  # 8 in 4 columns, 3x larger
    assert size(tmp_path / "row.png") == (298, 28)  # one of each digit, in one row
    assert size(tmp_path / "walk.png") == (16 * 30 - 2, 28)
    assert Image.open(tmp_path / "walk.gif").n_frames == 32 + 30  # A to B, then back
    models = json.loads(done.stdout[done.stdout.index("{") :])
    assert {m["name"] for m in models["models"]} >= {"dcgan", "cdcgan"}
    again = httpx.get(f"{served}/generate?n=16&seed=42").content
    assert again == (tmp_path / "digits.png").read_bytes()  # the same bytes every time


def test_the_readme_job_succeeds_with_live_epochs(served, tmp_path):
    done = run(sh_block_after("### Training jobs"), served, tmp_path)
    events = re.findall(r"^event: (\w+)", done.stdout, re.M)
    assert events.count("epoch") == 3  # (progress events come every 5 s of an epoch: none here)
    states = [
        json.loads(d)["state"] for d in re.findall(r'^data: (\{"state".*)$', done.stdout, re.M)
    ]
    assert states[0] == "queued" and states[-1] == "succeeded"
    assert Image.open(tmp_path / "progress.gif").n_frames == 3
    assert size(tmp_path / "epoch3.png") == (472, 472)
    served_now = httpx.get(f"{served}/generate?model=quick&n=16&seed=42")
    assert served_now.headers["X-Model"] == "quick@1"  # the job's export, served at once
    assert served_now.content == (tmp_path / "quick.png").read_bytes()
    listed = json.loads(done.stdout[done.stdout.rindex('{"jobs"') :])
    job = listed["jobs"][0]
    assert job["state"] == "succeeded" and job["model_version"] == "quick@1"
    info = httpx.get(f"{served}/models/quick").json()["versions"][0]["model_json"]
    assert info["training"]["recipe"] == "quick" and info["images_seen"] > 0
    seconds = job["finished_at"] - job["started_at"]
    print(f"README job: {seconds:.0f} s, confidence {info['metrics']['confidence']:.3f}")


@needs_chromium
def test_a_job_from_the_page_form_succeeds(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.goto(served)
        page.fill("#job-name", "from-page")
        page.select_option("#job-recipe", "quick")
        page.fill("#job-limit", "2048")  # the quick recipe on 2,048 images: seconds, not minutes
        page.fill("#token", TOKEN)
        page.click("#job-form button[type=submit]")
        # a selector, not a JS predicate: the page's CSP forbids evaluating strings
        page.wait_for_selector("#live-state:text-is('succeeded')", timeout=900_000)
        browser.close()
    jobs = httpx.get(f"{served}/jobs").json()["jobs"]
    mine = next(j for j in jobs if j["params"]["name"] == "from-page")
    assert mine["state"] == "succeeded" and mine["params"]["recipe"] == "quick"


def test_a_walk_on_the_default_model_morphs(served):
    response = httpx.get(f"{served}/interpolate?seed_a=1&seed_b=2&steps=32")
    frames = np.stack(tiles(response.content, 32, 32)).astype(float)
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2))
    assert steps.max() <= 12
    first = httpx.get(f"{served}/generate?seed=1&n=1").content
    assert np.array_equal(frames[0], np.asarray(Image.open(io.BytesIO(first)), float))


def test_the_checkout_is_as_clean_as_it_came(served, clone):
    """Runs last in this file: every job and request above has left its files by now."""
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""
