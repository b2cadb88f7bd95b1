// The models the service has (/models), one entry per model with its versions, shipped models
// first; every part of the page that lists models reads this one catalog.

import { api } from "./common.js";

export const catalog = { models: [], defaultName: null, byName: new Map() };
const listeners = [];

// Called with the catalog after every load (the picker, the Models section, the comparison).
export function onCatalog(listener) {
  listeners.push(listener);
}

// The refs (name@version) that jobs exported, from the newest 100 jobs. A version is
// user-trained when its model.json names a job or a job record names it.
async function jobRefs() {
  try {
    const page = await (await api("/jobs?limit=100")).json();
    return new Map(page.jobs.filter((j) => j.model_version).map((j) => [j.model_version, j.id]));
  } catch (_) {
    return new Map(); // the list of models does not need the jobs
  }
}

function entry(model, jobs) {
  const versions = model.versions.map((v) => {
    const json = v.model_json || {};
    const ref = `${model.name}@${v.version}`;
    const job = json.job != null ? json.job : jobs.get(ref);
    return { ...v, name: model.name, ref, job: job == null ? null : job, json };
  });
  // Shipped: the default model, or any model with a version no job made.
  const shipped = model.default || versions.some((v) => v.job === null);
  return { ...model, versions, shipped };
}

// Default model first, then the other shipped ones, then the user-trained ones; by name within.
function order(a, b) {
  const rank = (m) => (m.default ? 0 : m.shipped ? 1 : 2);
  return rank(a) - rank(b) || a.name.localeCompare(b.name);
}

export async function loadCatalog() {
  const [data, jobs] = await Promise.all([api("/models").then((r) => r.json()), jobRefs()]);
  catalog.defaultName = data.default;
  catalog.models = data.models.map((m) => entry(m, jobs)).sort(order);
  catalog.byName = new Map(catalog.models.map((m) => [m.name, m]));
  for (const listener of listeners) listener(catalog);
  return catalog;
}

// "name" (its active version) or "name@version" -> { model, version } (either may be null).
export function lookup(ref) {
  const [name, number] = String(ref || "").split("@");
  const model = catalog.byName.get(name) || null;
  const wanted = number === undefined ? model && model.active_version : Number(number);
  const version = (model && model.versions.find((v) => v.version === wanted)) || null;
  return { model, version };
}

// Versions that can generate (ready, or on disk and loaded by their first request).
export const usable = (version) => version.status !== "failed";
