// The Train section: the job form, job actions and the list of jobs.

import { $, api, ApiError, authHeaders, el, explainState, exported, setError } from "./common.js";
import { live, unwatch, watch } from "./live.js";
import { initRecipe, recipe } from "./recipe.js";

const NUMBER_FIELDS = [
  "epochs", "batch_size", "learning_rate", "beta_1", "label_smoothing", "ema_decay",
  "lr_decay_epochs", "top_k", "r1_gamma", "seed", "limit", "eval_every", "checkpoint_every",
];

// Only what the user filled in: a blank field is the recipe's (or the service's) value.
function jobBody() {
  const body = { name: $("job-name").value.trim() };
  if (recipe.choices) body.recipe = $("job-recipe").value;
  for (const field of NUMBER_FIELDS) {
    const input = $(`job-${field}`);
    if (input.validity.badInput) throw new ApiError(`${field} is not a number`);
    const raw = input.value.trim();
    if (raw !== "") body[field] = Number(raw);
  }
  if ($("job-mixed_precision").value) body.mixed_precision = $("job-mixed_precision").value;
  if ($("job-conditional").checked) body.conditional = true;
  if ($("job-activate").checked) body.activate = true;
  return body;
}

async function submitJob(event) {
  event.preventDefault();
  const button = event.submitter || $("job-form").querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const response = await api("/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify(jobBody()),
    });
    const job = await response.json();
    setError("train-error", "form", null);
    watch(job.id);
    loadJobs();
  } catch (err) {
    setError("train-error", "form", `Could not start the job: ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

// cancel and resume are POST /jobs/{id}/{action}; delete is DELETE /jobs/{id} (204).
async function jobAction(id, action) {
  const remove = action === "delete";
  const question = `Delete job ${id} with its events, samples and checkpoints?`;
  if (remove && !window.confirm(`${question} The model version it exported stays.`)) return;
  try {
    const path = remove ? `/jobs/${id}` : `/jobs/${id}/${action}`;
    await api(path, { method: remove ? "DELETE" : "POST", headers: authHeaders() });
    setError("train-error", "action", null);
    if (action === "resume") watch(id); // a new run: follow it (its stream had ended)
    if (remove && live.id === id) unwatch();
  } catch (err) {
    setError("train-error", "action", `Could not ${action} job ${id}: ${err.message}`);
  }
  loadJobs();
}

const jobs = { offset: 0, limit: 10, list: [] };

export async function loadJobs() {
  try {
    const page = await (await api(`/jobs?limit=${jobs.limit}&offset=${jobs.offset}`)).json();
    if (!page.jobs.length && jobs.offset > 0) {
      jobs.offset = Math.max(0, jobs.offset - jobs.limit); // its last job was deleted
      return loadJobs();
    }
    jobs.list = page.jobs;
    renderJobs(page);
    setError("train-error", "list", null);
    return page;
  } catch (err) {
    setError("train-error", "list", `Could not list the jobs: ${err.message}`);
    return null;
  }
}

function renderJobs(page) {
  const body = $("jobs-body");
  body.replaceChildren();
  if (!page.jobs.length) {
    body.append(el("tr", {}, el("td", { colSpan: 6 }, "No jobs yet.")));
  }
  for (const job of page.jobs) {
    const p = job.params;
    const progress = job.progress || {};
    const state = el("td", {}, el("span", { class: `badge ${job.state}` }, job.state));
    if (job.finished && !exported(job)) state.append(el("div", { class: "state-note" }, explainState(job)));
    if (job.error) state.append(el("div", { class: "row-error", title: job.error }, clip(job.error, 160)));
    const actions = el("td", { class: "actions-cell" });
    actions.append(button("Watch", `Watch job ${job.id}`, () => watch(job.id)));
    // What may be done comes from the job's flags; the badge only names the state.
    if (job.cancellable) actions.append(actionButton(job.id, "cancel", "Cancel"));
    if (job.resumable) actions.append(actionButton(job.id, "resume", "Resume"));
    if (job.deletable) actions.append(actionButton(job.id, "delete", "Delete"));
    if (exported(job)) actions.append(generateLink(job.model_version, "Generate"));
    const created = new Date(job.created_at * 1000);
    body.append(
      el(
        "tr",
        { "data-job": String(job.id), class: job.id === live.id ? "watched" : "" },
        el("td", {}, `#${job.id}`),
        el("td", {}, job.model_version || p.name, p.conditional ? " (conditional)" : ""),
        state,
        el("td", {}, progressText(progress, p)),
        el("td", { class: "created", title: created.toISOString() }, created.toLocaleString()),
        actions,
      ),
    );
  }
  const first = page.total ? page.offset + 1 : 0;
  const last = page.offset + page.jobs.length;
  $("jobs-range").textContent = `${first}–${last} of ${page.total}`;
  $("jobs-newer").disabled = page.offset === 0;
  $("jobs-older").disabled = last >= page.total;
}

// "3/50 epochs · grow": the stage when the trainer names one. Until the trainer starts, the
// recipe (which sets the run's length unless the job gives epochs).
function progressText(progress, p) {
  const epochs = progress.epochs || p.epochs;
  if (epochs == null) return `${p.recipe || "default"} recipe, not started`;
  const text = `${progress.epoch || 0}/${epochs} epochs`;
  return progress.stage ? `${text} · ${progress.stage}` : text;
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

function button(text, label, onClick) {
  const b = el("button", { type: "button", "aria-label": label }, text);
  b.addEventListener("click", onClick);
  return b;
}

function actionButton(id, action, text) {
  return button(text, `${text} job ${id}`, () => jobAction(id, action));
}

function generateLink(ref, text) {
  const a = el("a", { href: `?model=${encodeURIComponent(ref)}#generate`, "data-model": ref }, text);
  a.setAttribute("aria-label", `Generate from ${ref}`);
  return a;
}

export function markWatched() {
  for (const row of document.querySelectorAll("#jobs-body tr[data-job]")) {
    row.classList.toggle("watched", Number(row.dataset.job) === live.id);
  }
}

export function initJobs() {
  $("job-form").addEventListener("submit", submitJob);
  initRecipe();
  $("live-cancel").addEventListener("click", () => jobAction(live.id, "cancel"));
  $("live-resume").addEventListener("click", () => jobAction(live.id, "resume"));
  $("live-delete").addEventListener("click", () => jobAction(live.id, "delete"));
  $("jobs-refresh").addEventListener("click", loadJobs);
  $("jobs-newer").addEventListener("click", () => {
    jobs.offset = Math.max(0, jobs.offset - jobs.limit);
    loadJobs();
  });
  $("jobs-older").addEventListener("click", () => {
    jobs.offset += jobs.limit;
    loadJobs();
  });
  // Keep the list fresh while something is queued or running (and the tab is visible).
  setInterval(() => {
    const busy = jobs.list.some((j) => !j.finished);
    if (busy && document.visibilityState === "visible") loadJobs();
  }, 5000);
  loadJobs().then((page) => {
    const current = page && page.jobs.find((j) => !j.finished);
    if (current && live.id === null) watch(current.id);
  });
}
