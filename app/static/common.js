// What every part of the page uses: the API (relative URLs, errors in words), error
// regions, element building and number formatting.

export const $ = (id) => document.getElementById(id);

// ---- the API: relative URLs (works under a path prefix), errors in words ----

export const url = (path) => new URL(path.replace(/^\//, ""), document.baseURI);

export class ApiError extends Error {}

function describeDetail(detail) {
  if (Array.isArray(detail)) {
    return detail
      .map((item) => {
        const loc = Array.isArray(item.loc) && item.loc.length ? item.loc[item.loc.length - 1] : "";
        const msg = item.msg || JSON.stringify(item);
        return loc !== "" && loc !== "body" ? `${loc}: ${msg}` : msg;
      })
      .join("; ");
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
  let text = `${response.status} ${response.statusText || "error"}${detail ? `: ${detail}` : ""}`;
  if (response.status === 401) text += " (enter the service's API token below)";
  const retry = response.headers.get("Retry-After");
  if (response.status === 503 && retry) text += ` (retry in ${retry} s)`;
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
