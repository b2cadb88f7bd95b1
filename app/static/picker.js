// The Generate section's model picker: one entry per model (shipped first), its versions in a
// second select, and what the chosen version is, in words.

import { catalog, lookup, usable } from "./catalog.js";
import { $, el, setError } from "./common.js";
import { describeGeneration, renderMetrics, summary } from "./quality.js";

const label = (text, extra) => [text, extra].filter(Boolean).join(" · ");

function modelOption(m) {
  const servable = m.active_version != null;
  const text = `${m.name}${m.default ? " (default)" : ""}${m.conditional ? ", conditional" : ""}`;
  const shown = servable ? text : `${text}: no version loads`;
  return el("option", { value: m.name, disabled: !servable }, shown);
}

function fillModels() {
  const select = $("model");
  select.replaceChildren();
  const groups = [
    ["Shipped", catalog.models.filter((m) => m.shipped)],
    ["Trained here", catalog.models.filter((m) => !m.shipped)],
  ];
  for (const [name, models] of groups) {
    if (models.length) select.append(el("optgroup", { label: name }, ...models.map(modelOption)));
  }
}

function versionOption(v) {
  const value = String(v.version);
  if (!usable(v)) return el("option", { value, disabled: true }, `v${value}: failed to load`);
  const about = [summary(v.json.metrics), v.status === "unloaded" && "loads when used"];
  return el("option", { value }, label(`v${value}`, about.filter(Boolean).join(", ")));
}

function fillVersions(model, keep) {
  const select = $("version");
  select.replaceChildren();
  if (!model) return;
  const active = model.versions.find((v) => v.version === model.active_version);
  const name = active ? `active (v${active.version})` : "active (none)";
  select.append(el("option", { value: "" }, label(name, active && summary(active.json.metrics))));
  select.append(...model.versions.map(versionOption));
  const kept = model.versions.find((v) => String(v.version) === keep && usable(v));
  select.value = kept ? keep : "";
}

// What ?model= asked for, and a sentence when it cannot be shown as asked.
function wanted(ref) {
  const { model, version } = lookup(ref);
  const fallback = catalog.defaultName;
  const [name, number] = ref.split("@");
  if (!model) return [fallback, "", `There is no model named ${name}; showing ${fallback}.`];
  if (model.active_version == null) {
    return [fallback, "", `No version of ${name} loads; showing ${fallback}.`];
  }
  if (number === undefined) return [name, "", null];
  if (!version) return [name, "", `${name} has no version ${number}; showing its active version.`];
  if (!usable(version)) return [name, "", `${ref} failed to load; showing its active version.`];
  return [name, number, null];
}

// Fills both selects from the catalog, keeping the choice (or taking ?model= the first time).
export function fillPicker(first) {
  const keep = [$("model").value, $("version").value];
  fillModels();
  let [name, number] = keep;
  const asked = first && new URLSearchParams(location.search).get("model");
  if (asked) {
    let note;
    [name, number, note] = wanted(asked);
    setError("gen-error", "wanted", note);
  }
  const model = lookup(name).model;
  $("model").value = model && model.active_version != null ? name : catalog.defaultName || "";
  fillVersions(lookup($("model").value).model, number);
}

// "name" for the active version, or "name@version".
export function selectedRef() {
  const name = $("model").value;
  const number = $("version").value;
  return name && number ? `${name}@${number}` : name;
}

export function selectedVersion() {
  return lookup(selectedRef()).version;
}

// After the user picks a model: its versions, and no note about what the URL asked for.
export function modelPicked() {
  setError("gen-error", "wanted", null);
  fillVersions(lookup($("model").value).model, "");
}

// Set the picker to name or name@version; false when the catalog has no such usable version.
export function pick(ref) {
  const { model, version } = lookup(ref);
  if (!model || !version || !usable(version)) return false;
  $("model").value = model.name;
  fillVersions(model, ref.includes("@") ? String(version.version) : "");
  setError("gen-error", "wanted", null);
  return true;
}

export function describeChoice() {
  const v = selectedVersion();
  const digit = $("digit");
  digit.disabled = !(v && v.conditional);
  if (digit.disabled) digit.value = "";
  const info = $("model-quality");
  if (!v) {
    info.textContent = "";
    return;
  }
  const about = [v.ref];
  if (v.json.epochs_trained != null) about.push(`${v.json.epochs_trained} epochs`);
  if (v.conditional) about.push("conditional");
  renderMetrics(info, v.json.metrics, `${about.join(", ")}: `, "no quality numbers (not evaluated)");
  const how = describeGeneration(v);
  if (how) info.append(el("span", { class: "line" }, how));
}
