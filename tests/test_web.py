"""The page in a real browser: Playwright driving Debian's Chromium against one real uvicorn per
module, with tiny models, job records written by the real store, and a real tiny training job.
Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.jobs.schema import JobParams, JobState
from app.jobs.service import Jobs
from app.jobs.store import JobStore
from app.serving.generator import has_native_bfloat16
from tests.conftest import ROOT, export_tiny, service_env, serving

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


def curve(fids: list[float], per_epoch: int = 60_000) -> dict:
    """model.json's training record as the new trainer writes it: a curve point per epoch."""
    points = [
        {"epoch": e, "images_seen": e * per_epoch, "train_seconds": 30.0 * e, "fid_mnist": fid}
        for e, fid in enumerate(fids, start=1)
    ]
    return {
        "curve": points,
        "images_seen": points[-1]["images_seen"],
        "train_seconds": 30.0 * len(points),
    }


CDCGAN = {"metrics": METRICS, **curve([310.0, 42.0, 9.5, 4.123])}
# A model trained here (job 1 exported it) by the tutorial's recipe: "fair".
ADA = {
    "metrics": {**METRICS, "fid_mnist": 125.0, "confident_share": 0.55},
    **curve([420.0, 180.0, 125.0]),
}
LOST = "its runner stopped during training"
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
def service(models_dir, small_mnist, tmp_path_factory):
    """A server with its own models and data: cdcgan@1 and ada@1 (trained here, by job 1) with
    quality numbers and curves, dcgan@1 flagged as a copier; job 2 interrupted with a checkpoint
    to resume from, job 3 interrupted without one."""
    root = tmp_path_factory.mktemp("web")
    env = service_env(root, models_dir, small_mnist, TOKEN)
    export_tiny(root / "models" / "ada", conditional=False, seed=4)
    for ref, extra in [("cdcgan/1", CDCGAN), ("dcgan/1", {"metrics": COPIER}), ("ada/1", ADA)]:
        info = root / "models" / ref / "model.json"
        data = json.loads(info.read_text())
        if ref == "ada/1":
            data["training"]["recipe"] = "tutorial"
        info.write_text(json.dumps({**data, **extra}))
    write_jobs(root / "data")
    with serving(env) as url:
        yield url


def write_jobs(data_dir: Path) -> None:
    """The job records the page lists, written by the real store before the server starts (in a
    thread of its own: an earlier test's browser may have left this thread's event loop set)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _write_jobs(data_dir)).result()


async def _write_jobs(data_dir: Path) -> None:
    store = JobStore(data_dir / "jobs.db")
    jobs = Jobs(store, data_dir, max_queued=20)
    done = (await jobs.create(JobParams(name="ada"))).id
    store.set_model_version(done, "ada@1")
    await jobs.set_state(done, JobState.SUCCEEDED, model_version="ada@1", active=True)
    for name, checkpoint in [("lost", True), ("lost-early", False)]:
        job = (await jobs.create(JobParams(name=name, epochs=3))).id
        if checkpoint:  # the marker the flags look for (nothing here resumes it for real)
            paths = jobs.paths(job)
            paths.checkpoints.mkdir(parents=True)
            (paths.checkpoints / "checkpoint").write_text('model_checkpoint_path: "ckpt-1"\n')
        store.set_progress(job, {"epoch": 1, "epochs": 3}, events_offset=0)
        await jobs.set_state(job, JobState.INTERRUPTED, LOST)
    store.close()


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


def words(response: httpx.Response) -> str:
    """The server's message as the page shows it: the detail, or a 422's list of msgs."""
    detail = response.json()["detail"]
    return "; ".join(d["msg"] for d in detail) if isinstance(detail, list) else detail


TOKEN_HINT = " (enter the service's API token under Train)"


def options(page, select: str) -> list[list]:
    return page.eval_on_selector_all(
        f"{select} option", "os => os.map(o => [o.value, o.disabled, o.parentElement.label || ''])"
    )


def job_row_buttons(page, job_id: int) -> list[str]:
    return page.eval_on_selector_all(
        f"#jobs-body tr[data-job='{job_id}'] .actions-cell button",
        "bs => bs.map(b => b.textContent)",
    )


def models_on_server(service: str) -> dict:
    return {m["name"]: m for m in httpx.get(f"{service}/models").json()["models"]}


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
    assert page.input_value("#model") == "dcgan" and page.input_value("#version") == ""
    assert page.is_disabled("#digit")
    versions = page.eval_on_selector_all("#version option", "os => os.map(o => o.textContent)")
    assert versions == [
        "active (v2)",
        "v2",
        "v1 · excellent likeness, 91% readable, ⚠ copies training digits, loads when used",
    ]
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

    # A conditional model: its quality in words, and the digit picker comes alive.
    page.select_option("#model", "cdcgan")
    page.wait_for_function("() => !document.getElementById('digit').disabled")
    quality = page.inner_text("#model-quality")
    assert "likeness to real digits: excellent" in quality
    assert "91% of digits clearly readable" in quality
    assert "draws the digit asked for 97.3% of the time" in quality
    assert "copies training digits: no" in quality
    assert page.locator("#model-quality .warn").count() == 0
    asked = page.get_attribute("#model-quality b:has-text('digit asked for')", "title")
    assert asked.startswith("0 99.9% · 1 100% · 2 97% · 3 95%") and asked.endswith("9 95.5%")
    precision = "bfloat16" if has_native_bfloat16() else "float32"  # what auto picks here
    assert re.search(rf"generation: (batched in calls of [\d/]+|per-image), {precision}", quality)
    page.locator("#gen-form").screenshot(path=ARTIFACTS / "model-quality.png")
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

    # An API error: the server's words, without the status line.
    page.fill("#n", "999")
    page.wait_for_selector("#gen-error p")
    said = words(httpx.get(f"{service}/generate", params={"n": 999, "model": "cdcgan"}))
    assert page.inner_text("#gen-error") == f"Could not generate digits: {said}"
    assert "422" not in page.inner_text("#gen-error")
    assert "n must be at most 256" in said
    page.screenshot(path=ARTIFACTS / "generate-error.png")
    page.fill("#n", "8")
    page.wait_for_function("() => document.getElementById('gen-error').children.length === 0")
    loaded(page, "grid")

    # A version that is not in memory is offered; it copies, and once its first grid has loaded
    # it, the line says how it generates.
    src = page.get_attribute("#grid", "src")
    page.select_option("#model", "dcgan")
    page.select_option("#version", "1")
    assert "not in memory: loads on its first request" in page.inner_text("#model-quality")
    assert page.inner_text("#model-quality .warn") == "⚠ copies training digits: yes"
    title = page.get_attribute("#model-quality .warn", "title")
    assert "0.31 (about 1 is healthy, near 0 means copying); 18.4% closer" in title
    loaded(page, "grid", other_than=src)
    page.wait_for_function(
        "() => document.getElementById('model-quality').textContent.includes('generation: ')",
        timeout=60_000,
    )
    assert page.input_value("#model") == "dcgan" and page.input_value("#version") == "1"
    assert "model=dcgan%401" in page.input_value("#gen-url")
    page.screenshot(path=ARTIFACTS / "generate.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=ARTIFACTS / "generate-narrow.png", full_page=True)


@pytest.mark.slow
@needs_chromium
def test_one_entry_per_model_shipped_first(page, service):
    """The default model, the other shipped ones, then those trained here (ada, by job 1, though
    its name sorts first); a model with no loadable version is listed, and cannot be picked."""
    page.wait_for_selector("#model option", state="attached")
    assert options(page, "#model") == [
        ["dcgan", False, "Shipped"],
        ["broken", True, "Shipped"],
        ["cdcgan", False, "Shipped"],
        ["ada", False, "Trained here"],
    ]
    assert page.inner_text("#model option[value=dcgan]") == "dcgan (default)"
    assert page.inner_text("#model option[value=broken]") == "broken: no version loads"
    cards = page.eval_on_selector_all("#models-list article", "as => as.map(a => a.dataset.model)")
    assert cards == ["dcgan", "broken", "cdcgan", "ada"]
    groups = page.eval_on_selector_all("#models-list h3", "hs => hs.map(h => h.textContent)")
    assert groups == ["Shipped with the service", "Trained here"]
    refs = page.eval_on_selector_all(
        "article[data-model=dcgan] tr[data-ref]", "rs => rs.map(r => r.dataset.ref)"
    )
    assert refs == ["dcgan@2", "dcgan@1"]  # each version once, under its model
    assert page.inner_text("article[data-model=dcgan] tr[data-ref='dcgan@2'] .badge") == "active"
    facts = page.inner_text("tr[data-ref='ada@1'] td:nth-child(3)")
    assert facts == "180k images · 1 min 30 s · recipe tutorial · trained here (job 1)"
    assert page.inner_text("tr[data-ref='broken@1'] .quality") == "failed to load"
    page.locator("#models").screenshot(path=ARTIFACTS / "models.png")


@pytest.mark.slow
@needs_chromium
def test_quality_in_words_with_numbers_on_hover(page, service):
    page.wait_for_selector("tr[data-ref='cdcgan@1'] .quality b")
    cdcgan = page.locator("tr[data-ref='cdcgan@1'] .quality")
    assert cdcgan.inner_text() == (
        "likeness to real digits: excellent · 91% of digits clearly readable · draws the digit "
        "asked for 97.3% of the time · copies training digits: no"
    )
    likeness = page.get_attribute("tr[data-ref='cdcgan@1'] .quality b >> nth=0", "title")
    assert likeness.startswith("FID-MNIST 4.12 (lower is better; excellent below 20")
    readable = page.get_attribute("tr[data-ref='cdcgan@1'] .quality b >> nth=1", "title")
    assert "91.2% of the samples; mean confidence 0.961" in readable
    assert page.inner_text("tr[data-ref='ada@1'] .quality b >> nth=0") == (
        "likeness to real digits: fair"
    )
    assert page.inner_text("tr[data-ref='dcgan@1'] .quality .warn") == (
        "⚠ copies training digits: yes"
    )
    assert page.inner_text("tr[data-ref='dcgan@2'] .quality") == "not evaluated"


@pytest.mark.slow
@needs_chromium
def test_unknown_model_or_version_is_said_not_swapped_silently(page, service):
    page.goto(f"{service}/?model=nonexistent")
    loaded(page, "grid")
    assert page.inner_text("#gen-error") == "There is no model named nonexistent; showing dcgan."
    assert page.input_value("#model") == "dcgan"
    assert page.inner_text("#grid-caption").startswith("dcgan@2 · seed")
    page.select_option("#model", "cdcgan")  # a choice of the user's ends the note
    page.wait_for_function("() => document.getElementById('gen-error').children.length === 0")

    page.goto(f"{service}/?model=dcgan@9")
    page.wait_for_selector("#gen-error p")
    assert page.inner_text("#gen-error") == "dcgan has no version 9; showing its active version."
    assert page.input_value("#version") == ""

    page.goto(f"{service}/?model=dcgan@1")
    loaded(page, "grid")
    assert page.input_value("#model") == "dcgan" and page.input_value("#version") == "1"
    assert page.inner_text("#gen-error") == ""
    assert page.inner_text("#grid-caption").startswith("dcgan@1 · seed")


@pytest.mark.slow
@needs_chromium
def test_interrupted_jobs_explained_with_resume(page, service):
    row = "#jobs-body tr[data-job='2']"
    page.wait_for_selector(f"{row} .badge.interrupted")
    explained = (
        "The service stopped while this job ran. It can continue from its last checkpoint: "
        "press Resume."
    )
    assert page.inner_text(f"{row} .state-note") == explained
    assert page.inner_text(f"{row} .row-error") == LOST
    assert job_row_buttons(page, 2) == ["Watch", "Resume", "Delete"]
    no_checkpoint = "#jobs-body tr[data-job='3']"
    assert page.inner_text(f"{no_checkpoint} .state-note") == (
        "The service stopped while this job ran. It saved no checkpoint, so start it again from "
        "the form."
    )
    assert job_row_buttons(page, 3) == ["Watch", "Delete"]
    not_started = page.inner_text("#jobs-body tr[data-job='1'] td:nth-child(4)")
    assert not_started == "quality recipe, not started"  # the recipe sets its epochs

    page.click("button[aria-label='Watch job 2']")
    page.wait_for_function(
        "() => document.getElementById('live-state').textContent === 'interrupted'"
    )
    assert page.inner_text("#live-explain") == explained
    assert page.is_visible("#live-resume") and page.is_hidden("#live-cancel")
    page.screenshot(path=ARTIFACTS / "interrupted.png", full_page=True)

    # Resume sends the token; without one, the server's words say why nothing happened.
    page.click("#live-resume")
    page.wait_for_selector("#train-error p")
    said = words(httpx.post(f"{service}/jobs/2/resume"))
    assert page.inner_text("#train-error") == f"Could not resume job 2: {said}{TOKEN_HINT}"
    assert httpx.get(f"{service}/jobs/2").json()["state"] == "interrupted"


def schema_recipe(openapi: dict) -> list[str] | None:
    """The recipe field's choices in /openapi.json (None until the API has the field)."""
    schemas = openapi["components"]["schemas"]
    node = schemas["JobParams"]["properties"].get("recipe")
    while node is not None and "enum" not in node:
        if "$ref" in node:
            node = schemas[node["$ref"].split("/")[-1]]
        elif "oneOf" in node or "anyOf" in node:
            subs = node.get("oneOf") or node.get("anyOf")
            if all("const" in s for s in subs):
                return [s["const"] for s in subs]
            node = next((s for s in subs if s.get("type") != "null"), None)
        else:
            node = (node.get("allOf") or [None])[0]
    return None if node is None else node["enum"]


def sent_body(page) -> dict:
    """The body the form POSTs to /jobs (with a wrong token: no job starts)."""
    page.fill("#token", "wrong-token")
    with page.expect_request(lambda r: r.url.endswith("/jobs") and r.method == "POST") as sent:
        page.click("#job-form button[type=submit]")
    page.wait_for_selector("#train-error p")
    return sent.value.post_data_json


@pytest.mark.slow
@needs_chromium
def test_recipe_select_from_the_schema_and_only_filled_fields_sent(page, service):
    choices = schema_recipe(httpx.get(f"{service}/openapi.json").json())
    page.wait_for_selector("#jobs-body tr")
    if choices is None:  # until the API has the field: no select, no recipe sent
        assert page.is_hidden("#job-recipe-field")
        assert sent_body(page) == {"name": "my-digits"}
    else:
        page.wait_for_selector("#job-recipe-field:visible")
        assert [o[0] for o in options(page, "#job-recipe")] == choices
        assert sent_body(page) == {"name": "my-digits", "recipe": page.input_value("#job-recipe")}


# The shapes a recipe field can take in the schema (pydantic's Literal, an Enum class, one const
# per choice with its own description): the page reads its choices and explanations from each.
DESCRIBED = (
    "Starting values for every field left out: quality (the best digits, about an hour), "
    "quick (a few minutes, to try things), tutorial (the TensorFlow tutorial's settings)."
)
RECIPE_SHAPES = [
    ({"type": "string", "enum": ["quality", "quick", "tutorial"], "default": "quality"}, {}),
    (
        {"$ref": "#/components/schemas/Recipe", "default": "quality"},
        {"Recipe": {"enum": ["quality", "quick", "tutorial"], "type": "string"}},
    ),
    (
        {
            "default": "quality",
            "oneOf": [
                {"const": "quality", "description": "the best digits, about an hour"},
                {"const": "quick", "description": "a few minutes, to try things"},
                {"const": "tutorial", "description": "the TensorFlow tutorial's settings"},
            ],
        },
        {},
    ),
]


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("field, extra", RECIPE_SHAPES, ids=["literal", "enum", "consts"])
def test_recipe_choices_and_explanations_from_any_schema_shape(page, service, field, extra):
    """The schema is the real one with the recipe field added as the API will declare it, so the
    page is ready for it whichever way it lands."""

    def with_recipe(route):
        openapi = route.fetch().json()
        schemas = openapi["components"]["schemas"]
        schemas.update(extra)
        schemas["JobParams"]["properties"]["recipe"] = {**field, "description": DESCRIBED}
        route.fulfill(json=openapi)

    page.route("**/openapi.json", with_recipe)
    page.reload()
    page.wait_for_selector("#job-recipe-field:visible")
    assert [o[0] for o in options(page, "#job-recipe")] == ["quality", "quick", "tutorial"]
    assert page.input_value("#job-recipe") == "quality"
    assert page.inner_text("#job-recipe-hint") == "the best digits, about an hour"
    page.select_option("#job-recipe", "quick")
    assert page.inner_text("#job-recipe-hint") == "a few minutes, to try things"
    assert page.get_attribute("#job-epochs", "placeholder") == "recipe's"
    page.fill("#job-epochs", "3")
    page.check("#job-conditional")
    body = sent_body(page)
    assert body == {"name": "my-digits", "recipe": "quick", "epochs": 3, "conditional": True}
    page.locator("#job-form").screenshot(path=ARTIFACTS / "recipe.png")


@pytest.mark.slow
@needs_chromium
def test_curves_and_comparing_two_versions(page, service):
    ada = "article[data-model=ada] svg.curves"
    page.wait_for_selector(ada)
    assert page.get_attribute(ada, "data-points") == "3"
    assert page.locator(f"{ada} polyline").count() == 1
    assert page.get_attribute("article[data-model=cdcgan] svg.curves", "data-points") == "4"
    assert page.locator("article[data-model=dcgan] svg").count() == 0  # nothing to draw

    # A: the default model, B: the next one; then the Models section's Compare buttons.
    loaded(page, "compare-a-grid")
    assert page.input_value("#compare-a") == "dcgan@2"
    page.click("button[aria-label='Compare ada@1']")
    page.wait_for_function("() => document.getElementById('compare-b').value === 'ada@1'")
    page.select_option("#compare-a", "cdcgan@1")
    a = loaded(page, "compare-a-grid")
    b = loaded(page, "compare-b-grid")
    page.wait_for_function(
        "() => document.getElementById('compare-a-caption').textContent === 'cdcgan@1 · seed 42'"
    )
    page.wait_for_function(
        "() => document.getElementById('compare-b-caption').textContent === 'ada@1 · seed 42'"
    )
    assert page.eval_on_selector("#compare-a-grid", PIXELS) != page.eval_on_selector(
        "#compare-b-grid", PIXELS
    )
    assert "likeness to real digits: excellent" in page.inner_text("#compare-a-quality")
    assert "likeness to real digits: fair" in page.inner_text("#compare-b-quality")
    assert "recipe tutorial · trained here (job 1)" in page.inner_text("#compare-b-facts")
    assert page.get_attribute("#compare-chart", "data-series") == "2"
    assert page.locator("#compare-chart polyline").count() == 2
    assert page.get_attribute("#compare-chart", "data-points") == "7"
    assert page.text_content("#compare-chart circle.s1 >> nth=2") == (
        "ada@1, epoch 3: FID-MNIST 125.00 after 180k images"
    )
    page.locator("#compare").screenshot(path=ARTIFACTS / "compare.png")

    page.fill("#compare-seed", "5")  # both sides follow the seed
    loaded(page, "compare-a-grid", other_than=a)
    loaded(page, "compare-b-grid", other_than=b)
    page.wait_for_function(
        "() => document.getElementById('compare-b-caption').textContent === 'ada@1 · seed 5'"
    )


@pytest.mark.slow
@needs_chromium
def test_activate_and_delete_versions(page, service):
    activate = "button[aria-label='Activate dcgan@1']"
    page.wait_for_selector(activate)
    page.click(activate)  # no token yet: the server's words, and nothing changes
    page.wait_for_selector("#models-error p")
    said = words(httpx.post(f"{service}/models/dcgan/1/activate"))
    assert page.inner_text("#models-error") == f"Could not activate dcgan@1: {said}{TOKEN_HINT}"
    assert models_on_server(service)["dcgan"]["active_version"] == 2

    page.fill("#token", TOKEN)
    page.click(activate)
    page.wait_for_selector("tr[data-ref='dcgan@1'] .badge.active")
    assert models_on_server(service)["dcgan"]["active_version"] == 1
    assert page.inner_text("#models-error") == ""
    assert page.inner_text("#version option[value='']").startswith("active (v1)")
    page.click("button[aria-label='Activate dcgan@2']")  # and back, for the tests after this
    page.wait_for_selector("tr[data-ref='dcgan@2'] .badge.active")
    assert models_on_server(service)["dcgan"]["active_version"] == 2

    link = page.get_attribute("a[aria-label='Download dcgan@2']", "href")
    archive = httpx.get(f"{service}{link}")  # the link the page offers is the version's archive
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/gzip"

    questions: list[str] = []

    def answer(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.click("button[aria-label='Delete broken@1']")
    page.wait_for_selector("article[data-model=broken]", state="detached")
    assert questions == [
        "Delete broken@1? Its folder is removed from the service; this cannot be undone."
    ]
    assert "broken" not in models_on_server(service)
    assert page.locator("#model option[value=broken]").count() == 0


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

    # A wrong token and a bad name are refused by the API, in its words.
    with page.expect_request(lambda r: r.url.endswith("/jobs")) as sent:
        start_job("web", "wrong-token")
    page.wait_for_selector("#train-error p")
    body = sent.value.post_data_json
    said = words(httpx.post(f"{service}/jobs", json=body))
    assert page.inner_text("#train-error") == f"Could not start the job: {said}{TOKEN_HINT}"
    start_job("Bad Name", TOKEN)
    bad = {**body, "name": "Bad Name"}
    said = words(
        httpx.post(f"{service}/jobs", json=bad, headers={"Authorization": f"Bearer {TOKEN}"})
    )
    page.wait_for_function(
        "text => document.getElementById('train-error').textContent === text",
        arg=f"Could not start the job: {said}",
    )
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
    # then the export loads and self-tests: tens of seconds on a busy machine
    page.wait_for_function(
        "() => document.getElementById('live-state').textContent === 'succeeded'", timeout=150_000
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
    page.wait_for_function("() => document.getElementById('model').value === 'web'")
    assert page.input_value("#version") == "1"
    assert ["web", False, "Trained here"] in options(page, "#model")
    page.wait_for_function(
        "() => document.getElementById('grid-caption').textContent.startsWith('web@1')"
    )
    loaded(page, "grid")
