// The Compare section: two model versions side by side, the same seed's grid from each, their
// quality in words, how each was trained, and both FID-MNIST curves on one chart.

import { catalog, lookup, onCatalog, usable } from "./catalog.js";
import { drawCurves } from "./chart.js";
import { $, el, setError, showImage } from "./common.js";
import { renderMetrics } from "./quality.js";
import { curveOf, trainingFacts } from "./version.js";

const SIDES = ["a", "b"];
// Each side's image request and blob: URL (see showImage), and the seed field's debounce.
const state = { a: {}, b: {}, timer: null };

function fillSelect(select, keep) {
  select.replaceChildren();
  for (const m of catalog.models) {
    const refs = m.versions.filter(usable).map((v) => el("option", { value: v.ref }, v.ref));
    if (refs.length) select.append(el("optgroup", { label: m.name }, ...refs));
  }
  if (keep && lookup(keep).version) select.value = keep;
}

// A: the default model's active version; B: the next model's (or another version of A's).
function defaults() {
  const refs = catalog.models.flatMap((m) => m.versions.filter(usable).map((v) => ({ m, v })));
  const activeOf = (m) => refs.find((r) => r.m === m && r.v.version === m.active_version);
  const a = activeOf(catalog.byName.get(catalog.defaultName)) || refs[0];
  const others = catalog.models.filter((m) => a && m !== a.m).map(activeOf).filter(Boolean);
  const b = others[0] || refs.find((r) => r !== a);
  return [a && a.v.ref, b && b.v.ref];
}

function fill() {
  const [a, b] = defaults();
  fillSelect($("compare-a"), $("compare-a").value || a);
  fillSelect($("compare-b"), $("compare-b").value || b);
  update();
}

async function showSide(side, seed) {
  const ref = $(`compare-${side}`).value;
  const { version } = lookup(ref);
  if (!version) return;
  const quality = $(`compare-${side}-quality`);
  renderMetrics(quality, version.json.metrics, "", "no quality numbers (not evaluated)");
  $(`compare-${side}-facts`).textContent = trainingFacts(version);
  const img = $(`compare-${side}-grid`);
  const path = `/generate?${new URLSearchParams({ model: ref, seed, n: "16", scale: "2" })}`;
  try {
    const headers = await showImage(state[side], img, path);
    if (!headers) return;
    img.alt = `16 digits from ${headers.get("X-Model")}, seed ${seed}`;
    $(`compare-${side}-caption`).textContent = `${headers.get("X-Model")} · seed ${seed}`;
    setError("compare-error", side, null);
  } catch (err) {
    if (err.name === "AbortError") return;
    $(`compare-${side}-caption`).textContent = "The grid could not be drawn (see the error above).";
    setError("compare-error", side, `Could not generate from ${ref}: ${err.message}`);
  }
}

function update() {
  const seed = $("compare-seed").value.trim() || "42";
  for (const side of SIDES) showSide(side, seed);
  const series = SIDES.map((side) => lookup($(`compare-${side}`).value).version)
    .filter(Boolean)
    .map(curveOf);
  drawCurves($("compare-chart"), series);
  $("compare-key-a").textContent = ` ${$("compare-a").value} `;
  $("compare-key-b").textContent = ` ${$("compare-b").value} `;
}

// Put `ref` beside what A shows (the Models section's Compare buttons) and go there.
export function compareWith(ref) {
  const side = $("compare-a").value === ref ? "a" : "b";
  $(`compare-${side}`).value = ref;
  update();
  $("compare").scrollIntoView();
}

export function initCompare() {
  onCatalog(fill);
  for (const side of SIDES) $(`compare-${side}`).addEventListener("change", update);
  $("compare-seed").addEventListener("input", () => {
    clearTimeout(state.timer);
    state.timer = setTimeout(update, 300);
  });
  $("compare-form").addEventListener("submit", (e) => {
    e.preventDefault();
    update();
  });
}
