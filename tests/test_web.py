"""The page in a real browser: Playwright driving Debian's Chromium against a real uvicorn with
tiny models and a real tiny training job. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from app.generator import has_native_bfloat16
from app.jobschema import JobState
from tests.conftest import ROOT, service_env, serving

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the browser test needs Debian's Chromium: apt-get install -y chromium",
)

TOKEN = "web-token"
ARTIFACTS = ROOT / "test-artifacts" / "web"
MEMORISATION = {
    "samples": 2000,
    "pixels": "[0, 1]",
    "median_distance": 6.11,
    "test_median_distance": 5.0,
    "median_ratio": 1.2215,
    "close_share": 0.0,
    "test_close_share": 0.01,
    "flagged": False,
    "seconds": 3.2,
}
METRICS = {  # cdcgan@1's, as training.evaluate writes them into model.json
    "fid_mnist": 4.123,
    "fid_mnist_floor": 0.41,
    "confidence": 0.9612,
    "confident_share": 0.912,
    "class_entropy": 2.295,
    "class_histogram": [0.1] * 10,
    "digit_accuracy": 0.973,
    "digit_accuracy_by_digit": [0.999, 1.0, 0.97, 0.95, 0.99, 0.96, 0.98, 0.97, 0.94, 0.955],
    "memorisation": MEMORISATION,
}
COPIER = {  # dcgan@1's (not loaded at start): a generator that copies its training set
    **{k: v for k, v in METRICS.items() if not k.startswith("digit_accuracy")},
    "memorisation": MEMORISATION | {"median_ratio": 0.3104, "close_share": 0.1835, "flagged": True},
}
# The PNG's pixels, hashed in the page (a blob: image is same-origin, so a canvas may read it).
PIXELS = """img => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let hash = 0;
  for (let i = 0; i < data.length; i += 4) hash = (Math.imul(hash, 31) + data[i]) >>> 0;
  return [canvas.width, canvas.height, hash];
}"""


@pytest.fixture(scope="module")
def service(models_dir, mnist_path, tmp_path_factory):
    """A server with its own models (the conditional one with quality numbers) and data."""
    root = tmp_path_factory.mktemp("web")
    env = service_env(root, models_dir, mnist_path, TOKEN)
    for ref, metrics in [("cdcgan/1", METRICS), ("dcgan/1", COPIER)]:
        info = root / "models" / ref / "model.json"
        info.write_text(json.dumps({**json.loads(info.read_text()), "metrics": metrics}))
    with serving(env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the browser test needs Playwright: pip install playwright"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, service):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=service)
    context.set_default_timeout(20_000)
    page = context.new_page()
    problems: list[str] = []  # uncaught exceptions and Content-Security-Policy violations
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(service)
    yield page
    context.close()
    assert problems == []


def loaded(page, img_id: str, other_than: str | None = None) -> str:
    """Wait until <img id> shows a decoded image (a new one if `other_than`); its src."""
    page.wait_for_function(
        """([id, old]) => {
          const img = document.getElementById(id);
          return !img.hidden && img.complete && img.naturalWidth > 0 && img.src !== old
            && !img.classList.contains("stale");
        }""",
        arg=[img_id, other_than or ""],
    )
    return page.get_attribute(f"#{img_id}", "src")


def test_page_reads_job_flags_not_state_names():
    """What a job allows comes from its flags (finished, cancellable, resumable, deletable), so
    the scripts name no job state ("failed" is also a model version's status)."""
    names = "|".join(s.value for s in JobState if s.value != "failed")
    quoted = re.compile(rf"""["'`]({names})["'`]""")
    for script in sorted((ROOT / "app" / "static").glob("*.js")):
        assert quoted.findall(script.read_text()) == [], script.name


@pytest.mark.slow
@needs_chromium
def test_generate_grid_copy_walk_and_errors(page, service):
    first = loaded(page, "grid")
    unlabelled = page.eval_on_selector_all(
        "input, select, button",
        "els => els.filter(e => !e.labels?.length && !e.getAttribute('aria-label')"
        " && !e.textContent.trim()).map(e => e.outerHTML)",
    )
    assert unlabelled == []
    first_pixels = page.eval_on_selector("#grid", PIXELS)
    assert first_pixels[:2] == [4 * 30 * 3 - 6, 4 * 30 * 3 - 6]  # 4x4 tiles, scale 3
    options = page.eval_on_selector_all("#model option", "os => os.map(o => [o.value, o.disabled])")
    assert ["dcgan", False] in options and ["dcgan@1", False] in options
    assert ["cdcgan", False] in options and ["broken@1", True] in options
    copier = page.inner_text("#model option[value='dcgan@1']")  # not loaded yet, and flagged
    assert copier == "dcgan@1 (FID 4.12, conf 0.96, ⚠ memorisation flagged, loads when used)"
    assert page.input_value("#model") == "dcgan" and page.is_disabled("#digit")
    assert (
        page.input_value("#gen-url") == f"{service}/generate?n=16&seed=42&model=dcgan%402&scale=3"
    )
    assert page.input_value("#gen-curl") == f'curl -fsS -o digits.png "{service}/generate?n=16' + (
        '&seed=42&model=dcgan%402&scale=3"'
    )

    page.fill("#seed", "7")  # the grid follows the controls at once
    second = loaded(page, "grid", other_than=first)
    assert page.eval_on_selector("#grid", PIXELS) != first_pixels
    assert "seed=7" in page.input_value("#gen-url")
    page.focus("#seed")  # and the keyboard
    page.keyboard.press("ArrowUp")
    second = loaded(page, "grid", other_than=second)
    assert "seed=8" in page.input_value("#gen-url")
    page.click("#seed-random")
    loaded(page, "grid", other_than=second)
    assert page.input_value("#seed") != "7"
    assert f"seed={page.input_value('#seed')}&" in page.input_value("#gen-url")

    # A conditional model: its quality numbers, and the digit picker comes alive.
    page.select_option("#model", "cdcgan")
    page.wait_for_function("() => !document.getElementById('digit').disabled")
    quality = page.inner_text("#model-quality")
    assert "FID-MNIST 4.12" in quality and "requested digit 97.3%" in quality
    assert "per digit: 0 99.9% · 1 100% · 2 97% · 3 95%" in quality
    assert "9 95.5%" in quality
    assert (
        "memorisation: median NN-distance ratio 1.22, 0.0% closer than the test set's "
        "1st percentile" in quality
    )
    assert page.locator("#model-quality .warn").count() == 0
    precision = "bfloat16" if has_native_bfloat16() else "float32"  # what auto picks here
    assert re.search(rf"generation: (batched in calls of [\d/]+|per-image), {precision}", quality)
    page.locator("#gen-form").screenshot(path=ARTIFACTS / "model-quality.png")
    assert "FID 4.12" in page.inner_text("#model option[value=cdcgan]")
    src = page.get_attribute("#grid", "src")
    page.select_option("#digit", "3")
    loaded(page, "grid", other_than=src)
    assert "model=cdcgan%401" in page.input_value("#gen-url")
    assert "digit=3" in page.input_value("#gen-url")
    assert page.inner_text("#grid-caption").startswith("cdcgan@1 · seed")

    page.click("[data-copy=gen-url]")
    page.wait_for_function("() => document.getElementById('copy-status').textContent.length > 0")
    assert page.inner_text("#copy-status") == "Copied the URL."
    assert page.evaluate("navigator.clipboard.readText()") == page.input_value("#gen-url")

    # The interpolation GIF, for the model and digit above.
    walk = loaded(page, "walk")
    page.fill("#seed-b", "9")
    loaded(page, "walk", other_than=walk)
    assert page.inner_text("#walk-caption") == "cdcgan@1 · seed 1 → 9 · 24 steps"
    assert "format=gif" in page.get_attribute("#walk-link", "href")

    # An API error, in words: FastAPI's 422 list, as "parameter: message".
    page.fill("#n", "999")
    page.wait_for_selector("#gen-error p")
    error = page.inner_text("#gen-error")
    assert "Could not generate digits: 422" in error
    assert "n must be at most 256" in error
    page.screenshot(path=ARTIFACTS / "generate-error.png")
    page.fill("#n", "8")
    page.wait_for_function("() => document.getElementById('gen-error').children.length === 0")
    loaded(page, "grid")

    # A version that is not in memory is offered; its memorisation check is flagged, and once
    # its first grid has loaded it, the line says how it generates.
    src = page.get_attribute("#grid", "src")
    page.select_option("#model", "dcgan@1")
    assert "not in memory: loads on its first request" in page.inner_text("#model-quality")
    assert page.is_visible("#model-quality .warn")
    quality = page.inner_text("#model-quality")
    assert "median NN-distance ratio 0.31, 18.4% closer" in quality
    assert "flagged" in page.inner_text("#model-quality .warn")
    loaded(page, "grid", other_than=src)
    page.wait_for_function(
        "() => document.getElementById('model-quality').textContent.includes('generation: ')",
        timeout=60_000,
    )
    assert page.input_value("#model") == "dcgan@1"
    assert "model=dcgan%401" in page.input_value("#gen-url")
    page.screenshot(path=ARTIFACTS / "generate.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=ARTIFACTS / "generate-narrow.png", full_page=True)


def job_row_buttons(page, job_id: int) -> list[str]:
    return page.eval_on_selector_all(
        f"#jobs-body tr[data-job='{job_id}'] .actions-cell button",
        "bs => bs.map(b => b.textContent)",
    )


@pytest.mark.slow
@needs_chromium
def test_train_from_the_form_live_and_cancel_resume_delete(page, service):
    def start_job(name: str, token: str) -> None:
        page.fill("#token", token)
        page.fill("#job-name", name)
        page.click("#job-form button[type=submit]")

    page.fill("#job-epochs", "2")
    page.fill("#job-limit", "256")
    page.fill("#job-batch_size", "64")
    page.fill("#job-ema_decay", "0.9")
    page.fill("#job-lr_decay_epochs", "1")
    page.fill("#job-top_k", "0.5")
    page.fill("#job-r1_gamma", "0.1")
    page.fill("#job-checkpoint_every", "2")

    # A wrong token and a bad name are refused by the API and said in words.
    start_job("web", "wrong-token")
    page.wait_for_selector("#train-error p")
    assert "401" in page.inner_text("#train-error")
    assert "missing or wrong bearer token" in page.inner_text("#train-error")
    start_job("Bad Name", TOKEN)
    page.wait_for_function(
        "() => document.getElementById('train-error').textContent.includes('name: String')"
    )
    assert "Could not start the job: 422" in page.inner_text("#train-error")
    assert page.evaluate("sessionStorage.getItem('dcgan-digits-token')") == TOKEN

    # Two jobs: the first trains, the second waits in the queue and is cancelled there.
    start_job("web", TOKEN)
    page.wait_for_function(
        "() => document.getElementById('live-title').textContent.includes('web')"
    )
    first = int(page.inner_text("#live-title").split(":")[0].removeprefix("Job "))
    params = httpx.get(f"{service}/jobs/{first}").json()["params"]
    assert params["ema_decay"] == 0.9 and params["checkpoint_every"] == 2
    assert params["lr_decay_epochs"] == 1 and params["top_k"] == 0.5 and params["r1_gamma"] == 0.1
    assert params["epochs"] == 2 and params["limit"] == 256 and params["batch_size"] == 64
    page.wait_for_function("() => document.getElementById('train-error').children.length === 0")
    start_job("web-queued", TOKEN)
    queued = first + 1
    page.wait_for_function(
        f"() => document.getElementById('live-title').textContent.startsWith('Job {queued}:')"
    )
    # Queued (and running): the flags offer Cancel, in the live view and in the list.
    page.wait_for_selector("#live-cancel:visible")
    assert page.is_hidden("#live-resume") and page.is_hidden("#live-delete")
    page.wait_for_selector(f"button[aria-label='Cancel job {queued}']")
    assert job_row_buttons(page, queued) == ["Watch", "Cancel"]
    assert job_row_buttons(page, first) == ["Watch", "Cancel"]
    page.click("#live-cancel")
    page.wait_for_function(
        "() => document.getElementById('live-state').textContent === 'cancelled'"
    )
    # Cancelled while queued: deletable, not cancellable, and not resumable (no checkpoint).
    page.wait_for_selector("#live-delete:visible")
    assert page.is_hidden("#live-resume") and page.is_hidden("#live-cancel")
    page.wait_for_selector(f"button[aria-label='Delete job {queued}']")
    assert job_row_buttons(page, queued) == ["Watch", "Delete"]

    # Delete asks first: dismissed, nothing happens; accepted, DELETE /jobs/{id} with the token.
    question = (
        f"Delete job {queued} with its events, samples and checkpoints? "
        "The model version it exported stays."
    )
    questions: list[str] = []

    def answer(accept: bool):
        def handle(dialog):
            questions.append(dialog.message)
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()

        return handle

    page.once("dialog", answer(False))
    page.click(f"button[aria-label='Delete job {queued}']")
    assert httpx.get(f"{service}/jobs/{queued}").status_code == 200
    page.once("dialog", answer(True))
    page.click("#live-delete")
    page.wait_for_selector(f"#jobs-body tr[data-job='{queued}']", state="detached")
    assert page.is_hidden("#live")  # the deleted job was the one watched
    assert httpx.get(f"{service}/jobs/{queued}").status_code == 404
    assert questions == [question, question]
    assert page.inner_text("#train-error") == ""

    # Follow the first job live, from its row in the list.
    page.click(f"button[aria-label='Watch job {first}']")
    page.wait_for_function(
        "() => document.getElementById('live-progress').value === 1", timeout=150_000
    )
    page.wait_for_function(
        "() => document.getElementById('live-state').textContent === 'succeeded'"
    )
    assert page.inner_text("#live-progress-label").startswith("epoch 2/2")
    assert int(page.get_attribute("#loss-chart", "data-points")) >= 2
    assert page.locator("#loss-chart circle").count() == 4  # G and D after each epoch
    assert page.get_attribute("#loss-chart polyline.g", "points").count(",") >= 2
    assert loaded(page, "live-sample").endswith(f"/jobs/{first}/samples/2.png")
    loaded(page, "live-gif")
    page.wait_for_selector(f"#jobs-body tr[data-job='{first}'] .badge.succeeded")
    # Finished: deletable, neither cancellable nor resumable; its export can be generated from.
    page.wait_for_selector(f"button[aria-label='Delete job {first}']")
    assert job_row_buttons(page, first) == ["Watch", "Delete"]
    assert page.is_visible(f"#jobs-body tr[data-job='{first}'] a[data-model='web@1']")
    assert page.is_visible("#live-delete") and page.is_visible("#live-generate")
    assert page.is_hidden("#live-cancel") and page.is_hidden("#live-resume")
    page.screenshot(path=ARTIFACTS / "train.png", full_page=True)

    # Generate from the job's model: the picker is set to name@version and the grid follows.
    page.click("#live-generate")
    page.wait_for_function("() => document.getElementById('model').value === 'web@1'")
    page.wait_for_function(
        "() => document.getElementById('grid-caption').textContent.startsWith('web@1')"
    )
    loaded(page, "grid")
