// The Generate section: the model picker, the grid, the latent walk, copying the URL.

import { loadCatalog, onCatalog } from "./catalog.js";
import { $, setError, showImage, url } from "./common.js";
import { describeChoice, fillPicker, modelPicked, pick, selectedRef, selectedVersion } from "./picker.js";

// ---- models ----

// Reload the catalog (every list of models follows it); the picker keeps its choice.
export async function loadModels() {
  try {
    await loadCatalog();
    setError("gen-error", "models", null);
  } catch (err) {
    setError("gen-error", "models", `Could not list the models: ${err.message}`);
  }
}

let pickerFilled = false;
onCatalog(() => {
  fillPicker(!pickerFilled);
  pickerFilled = true;
  describeChoice();
});

// ---- the grid ----

const grid = { controller: null, objectUrl: null, timer: null };

function gridParams() {
  const p = new URLSearchParams();
  const n = $("n").value.trim();
  const seed = $("seed").value.trim();
  if (n) p.set("n", n);
  if (seed) p.set("seed", seed);
  if (selectedRef()) p.set("model", selectedRef());
  if (!$("digit").disabled && $("digit").value !== "") p.set("digit", $("digit").value);
  p.set("scale", $("scale").value);
  return p;
}

function soon(state, fn, delay = 250) {
  clearTimeout(state.timer);
  state.timer = setTimeout(fn, delay);
}

async function updateGrid() {
  const params = gridParams();
  try {
    const headers = await showImage(grid, $("grid"), `/generate?${params}`);
    if (!headers) return;
    const seed = headers.get("X-Seed");
    const model = headers.get("X-Model");
    if (!$("seed").value.trim()) $("seed").value = seed; // the random seed the service chose
    params.set("seed", seed);
    params.set("model", model); // pinned: the exact bytes, whatever becomes active later
    const exact = url(`/generate?${params}`).href;
    if ($("gen-url").value !== exact) $("copy-status").textContent = "";
    $("gen-url").value = exact;
    $("gen-curl").value = `curl -fsS -o digits.png "${exact}"`;
    const n = params.get("n") || "16";
    $("grid").alt = `${n} generated digits from ${model}, seed ${seed}`;
    $("grid-caption").textContent = `${model} · seed ${seed} · ${n} digits`;
    setError("gen-error", "grid", null);
    const chosen = selectedVersion();
    if (chosen && chosen.status === "unloaded") loadModels(); // it has loaded: say how it generates
  } catch (err) {
    if (err.name === "AbortError") return;
    $("grid-caption").textContent = "The grid could not be drawn (see the error above).";
    setError("gen-error", "grid", `Could not generate digits: ${err.message}`);
  }
}

// ---- the walk (interpolation GIF) ----

const walk = { controller: null, objectUrl: null, timer: null };

async function updateWalk() {
  const p = new URLSearchParams();
  p.set("seed_a", $("seed-a").value.trim());
  p.set("seed_b", $("seed-b").value.trim());
  p.set("steps", $("steps").value.trim());
  if (selectedRef()) p.set("model", selectedRef());
  if (!$("digit").disabled && $("digit").value !== "") p.set("digit", $("digit").value);
  p.set("format", "gif");
  p.set("scale", "4");
  $("walk-link").href = url(`/interpolate?${p}`).href;
  try {
    const headers = await showImage(walk, $("walk"), `/interpolate?${p}`);
    if (!headers) return;
    $("walk-caption").textContent =
      `${headers.get("X-Model")} · seed ${p.get("seed_a")} → ${p.get("seed_b")} · ${p.get("steps")} steps`;
    setError("gen-error", "walk", null);
  } catch (err) {
    if (err.name === "AbortError") return;
    $("walk-caption").textContent = "The walk could not be drawn (see the error above).";
    setError("gen-error", "walk", `Could not draw the walk: ${err.message}`);
  }
}

// ---- copying ----

async function copyFrom(input) {
  const status = $("copy-status");
  const text = input.value;
  if (!text) return;
  try {
    if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard API");
    await navigator.clipboard.writeText(text);
    status.textContent = `Copied the ${input.id === "gen-curl" ? "curl line" : "URL"}.`;
  } catch (_) {
    input.focus();
    input.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (_) {
      copied = false;
    }
    status.textContent = copied
      ? `Copied the ${input.id === "gen-curl" ? "curl line" : "URL"}.`
      : "Could not copy automatically: the text is selected, press Ctrl+C (⌘C).";
  }
}

// Sets the model picker to name@version (refreshing /models if it is new) and shows it.
export async function generateFrom(ref) {
  if (!pick(ref)) await loadModels();
  if (!pick(ref)) {
    setError("gen-error", "models", `Model ${ref} is not being served (it may have failed to load).`);
    return;
  }
  setError("gen-error", "models", null);
  history.replaceState(null, "", `?model=${encodeURIComponent(ref)}#generate`);
  describeChoice();
  updateGrid();
  updateWalk();
  $("generate").scrollIntoView();
  $("model").focus();
}

export function initGenerate() {
  $("gen-form").addEventListener("submit", (e) => {
    e.preventDefault();
    updateGrid();
  });
  $("model").addEventListener("change", () => {
    modelPicked();
    describeChoice();
    updateGrid();
    updateWalk();
  });
  $("version").addEventListener("change", () => {
    setError("gen-error", "wanted", null);
    describeChoice();
    updateGrid();
    updateWalk();
  });
  $("digit").addEventListener("change", () => {
    updateGrid();
    updateWalk();
  });
  $("scale").addEventListener("change", updateGrid);
  for (const id of ["n", "seed"]) $(id).addEventListener("input", () => soon(grid, updateGrid));
  $("seed-random").addEventListener("click", () => {
    $("seed").value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
    updateGrid();
  });
  $("walk-form").addEventListener("submit", (e) => {
    e.preventDefault();
    updateWalk();
  });
  for (const id of ["seed-a", "seed-b", "steps"]) {
    $(id).addEventListener("input", () => soon(walk, updateWalk, 400));
  }
  for (const b of document.querySelectorAll("[data-copy]")) {
    b.addEventListener("click", () => copyFrom($(b.dataset.copy)));
  }
  // "Generate from name@version" links: handled in place (they also work opened in a new tab).
  document.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-model]");
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    generateFrom(link.dataset.model);
  });
  loadModels().then(() => {
    updateGrid();
    updateWalk();
  });
}
