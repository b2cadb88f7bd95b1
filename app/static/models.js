// The Models section: every model with its versions (shipped first), each version's quality in
// words and how it was trained, activating and deleting a version, and each model's curve.

import { catalog, onCatalog, usable } from "./catalog.js";
import { drawCurves } from "./chart.js";
import { $, api, authHeaders, el, setError } from "./common.js";
import { compareWith } from "./compare.js";
import { loadModels } from "./generate.js";
import { renderMetrics } from "./quality.js";
import { curveOf, trainingFacts } from "./version.js";

function button(text, ref, onClick) {
  const b = el("button", { type: "button", "aria-label": `${text} ${ref}` }, text);
  b.addEventListener("click", onClick);
  return b;
}

async function change(ref, verb, path, method) {
  try {
    await api(path, { method, headers: authHeaders() });
    setError("models-error", "action", null);
  } catch (err) {
    setError("models-error", "action", `Could not ${verb} ${ref}: ${err.message}`);
  }
  await loadModels();
}

function activate(v) {
  change(v.ref, "activate", `/models/${v.name}/${v.version}/activate`, "POST");
}

function remove(v) {
  const question = `Delete ${v.ref}? Its folder is removed from the service; this cannot be undone.`;
  if (window.confirm(question)) change(v.ref, "delete", `/models/${v.name}/${v.version}`, "DELETE");
}

function versionRow(model, v) {
  const active = v.version === model.active_version;
  const name = el("td", {}, `v${v.version}`);
  if (active) name.append(" ", el("span", { class: "badge active" }, "active"));
  const quality = el("td", { class: "quality" });
  if (usable(v)) renderMetrics(quality, v.json.metrics, "", "not evaluated");
  else quality.append(el("span", { class: "row-error", title: v.error || "" }, "failed to load"));
  const actions = el("td", { class: "actions-cell" });
  if (usable(v)) {
    const href = `?model=${encodeURIComponent(v.ref)}#generate`;
    const link = el("a", { href, "data-model": v.ref, "aria-label": `Generate from ${v.ref}` }, "Generate");
    const file = `${v.name}-${v.version}.tar.gz`;
    const download = el(
      "a",
      { href: `/models/${v.name}/${v.version}/download`, download: file, "aria-label": `Download ${v.ref}` },
      "Download",
    );
    actions.append(link, download, button("Compare", v.ref, () => compareWith(v.ref)));
    if (!active) actions.append(button("Activate", v.ref, () => activate(v)));
  }
  actions.append(button("Delete", v.ref, () => remove(v)));
  return el("tr", { "data-ref": v.ref }, name, quality, el("td", {}, trainingFacts(v)), actions);
}

function curveChart(series) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 480 220");
  svg.setAttribute("role", "img");
  svg.setAttribute("class", "curves");
  drawCurves(svg, series);
  const key = series.map((s, i) => el("span", {}, el("span", { class: `key s${i % 4}` }), ` ${s.name} `));
  const caption = el("figcaption", {}, "likeness as training went on: ", ...key);
  return el("figure", { class: "chart curve" }, svg, caption);
}

function modelCard(model) {
  const tags = [model.default && "default", model.conditional && "conditional"].filter(Boolean);
  const head = el("h4", {}, model.name, ...tags.map((t) => el("span", { class: `tag ${t}` }, t)));
  const columns = ["Version", "Quality", "Training", "Actions"].map((h) => el("th", { scope: "col" }, h));
  const table = el(
    "table",
    { "aria-label": `Versions of ${model.name}` },
    el("thead", {}, el("tr", {}, ...columns)),
    el("tbody", {}, ...model.versions.map((v) => versionRow(model, v))),
  );
  const card = el("article", { class: "model-card", "data-model": model.name }, head);
  card.append(el("div", { class: "table-wrap" }, table));
  const series = model.versions.filter(usable).map(curveOf);
  if (series.some((s) => s.points.length)) card.append(curveChart(series));
  return card;
}

function render() {
  const list = $("models-list");
  list.replaceChildren();
  const groups = [
    ["Shipped with the service", catalog.models.filter((m) => m.shipped)],
    ["Trained here", catalog.models.filter((m) => !m.shipped)],
  ];
  for (const [title, models] of groups) {
    if (models.length) list.append(el("h3", {}, title), ...models.map(modelCard));
  }
}

export function initModels() {
  onCatalog(render);
}
