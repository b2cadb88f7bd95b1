// What every part of the page uses: the API (relative URLs, errors in words), error
// regions, element building and number formatting.

export const $ = (id) => document.getElementById(id);

// ---- the API: relative URLs (works under a path prefix), errors in words ----

export const url = (path) => new URL(path.replace(/^\//, ""), document.baseURI);

export class ApiError extends Error {}

// The server's words alone (no status line): `detail` is a sentence, or (422) a list of
// problems whose `msg`s are sentences; other fields may come and are not needed here.
function describeDetail(detail) {
  if (Array.isArray(detail)) {
    return detail.map((item) => (item && item.msg) || JSON.stringify(item)).join("; ");
  }
  if (typeof detail === "string") return detail;
  return detail == null ? "" : JSON.stringify(detail);
}

async function errorOf(response) {
  let detail = "";
  try {
    detail = describeDetail((await response.json()).detail);
  } catch (_) {
    detail = "";
  }
  // Only an answer without words falls back to the status, said as a sentence.
  let text = detail || `the service answered ${response.status} ${response.statusText || ""}`.trim();
  if (response.status === 401) text += " (enter the service's API token under Train)";
  const retry = response.headers.get("Retry-After");
  if ((response.status === 503 || response.status === 429) && retry) text += ` (retry in ${retry} s)`;
  return new ApiError(text);
}

export function authHeaders() {
  const token = $("token").value.trim();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(url(path), options);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(`could not reach the service (${err.message})`);
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

// Fetch an image into <img> as a blob: URL; a newer call aborts an older one (`state` holds
// the request and the URL). The response's headers, or null when aborted.
export async function showImage(state, img, path) {
  if (state.controller) state.controller.abort();
  const controller = (state.controller = new AbortController());
  img.classList.add("stale");
  const response = await api(path, { signal: controller.signal });
  const blob = await response.blob();
  if (controller.signal.aborted) return null;
  const previous = state.objectUrl;
  state.objectUrl = URL.createObjectURL(blob);
  img.src = state.objectUrl;
  img.hidden = false;
  img.classList.remove("stale");
  if (previous) URL.revokeObjectURL(previous);
  return response.headers;
}

// One error region per section; each source (models, grid, walk, ...) owns one message.
const errors = new Map();
export function setError(regionId, source, message) {
  if (!errors.has(regionId)) errors.set(regionId, new Map());
  const messages = errors.get(regionId);
  if (message) messages.set(source, message);
  else messages.delete(source);
  const region = $(regionId);
  region.replaceChildren(
    ...[...messages.values()].map((text) => {
      const p = document.createElement("p");
      p.textContent = text;
      return p;
    }),
  );
}

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-") || key.startsWith("aria-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

export const fmt = (x, digits = 3) => (typeof x === "number" ? x.toFixed(digits) : "–");
export const pct = (x) => (typeof x === "number" ? `${(100 * x).toFixed(1)}%` : "–");

// 1234 -> "1.2k", 1800000 -> "1.8M": image counts on an axis or in a sentence.
export function count(n) {
  if (typeof n !== "number") return "–";
  if (n >= 1e6) return `${(n / 1e6).toFixed(1).replace(/\.0$/, "")}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1).replace(/\.0$/, "")}k`;
  return String(Math.round(n));
}

export function duration(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// A finished job whose export loaded (a failed load leaves model_version set, with an error).
// Jobs and their `state` events say what may be done through flags, never by state name.
export const exported = (job) => Boolean(job.finished && job.model_version && !job.error);

// What a job's state means, in words from the page's legend (#state-help in index.html), and
// what may come next as its `resumable` flag says: the scripts name no state themselves.
export function explainState(job) {
  const item = document.querySelector(`#state-help dd[data-state="${CSS.escape(job.state)}"]`);
  if (!item) return "";
  const next = job.resumable ? item.dataset.resumable : item.dataset.otherwise;
  return [item.textContent.trim(), next].filter(Boolean).join(" ");
}
