// The live view of one job: its event stream, progress, samples and loss chart.

import { drawLossChart } from "./chart.js";
import { $, api, duration, explainState, exported, fmt, setError, url } from "./common.js";
import { loadModels } from "./generate.js";
import { loadJobs, markWatched } from "./jobs.js";
import { renderMetrics } from "./quality.js";

const FRESH = { source: null, points: [], epochs: 0, state: null, finished: false, job: null };
export const live = { id: null, ...FRESH };

export function watch(id) {
  if (live.source) live.source.close();
  Object.assign(live, { id, ...FRESH });
  for (const action of ["cancel", "resume", "delete"]) $(`live-${action}`).hidden = true;
  $("live").hidden = false;
  $("live-title").textContent = `Job ${id}`;
  $("live-progress").value = 0;
  $("live-progress-label").textContent = "waiting for the trainer…";
  $("live-note").textContent = "";
  $("live-explain").textContent = "";
  $("live-sample").hidden = true;
  $("live-sample-caption").textContent = "The latest sample grid appears after each epoch.";
  $("live-gif-figure").hidden = true;
  $("live-metrics").textContent = "";
  setError("live-error", "job", null);
  setError("live-error", "stream", null);
  drawChart();
  api(`/jobs/${id}`)
    .then((r) => r.json())
    .then((job) => {
      if (live.id !== id) return;
      live.job = job;
      const p = job.params;
      live.epochs = live.epochs || (job.progress || {}).epochs || p.epochs;
      const bits = [p.conditional ? `${p.name} (conditional)` : p.name];
      if (p.recipe) bits.push(`recipe ${p.recipe}`);
      if (live.epochs) bits.push(`${live.epochs} epochs`);
      const what = bits.join(", ");
      $("live-title").textContent = `Job ${id}: ${what}`;
      drawChart();
    })
    .catch((err) => setError("live-error", "job", `Could not read job ${id}: ${err.message}`));
  markWatched();

  const source = new EventSource(url(`/jobs/${id}/events`));
  live.source = source;
  const on = (kind, handler) =>
    source.addEventListener(kind, (event) => {
      if (live.source === source) handler(JSON.parse(event.data));
    });
  on("state", onState);
  on("start", (d) => {
    live.epochs = d.epochs;
    $("live-note").textContent = `started at epoch ${d.start_epoch} of ${d.epochs}, ${d.steps_per_epoch} steps each`;
  });
  on("progress", (d) => {
    live.epochs = d.epochs || live.epochs;
    const x = d.epoch - 1 + d.step / d.steps;
    addPoint(x, d, false);
    showProgress(x, `epoch ${d.epoch}/${live.epochs}, step ${d.step}/${d.steps}`, d);
  });
  on("epoch", (d) => {
    live.epochs = d.epochs || live.epochs;
    addPoint(d.epoch, d, true);
    showProgress(d.epoch, `epoch ${d.epoch}/${live.epochs}`, d);
    const img = $("live-sample");
    img.src = url(d.sample_url).href;
    img.hidden = false;
    img.alt = `Sample grid after epoch ${d.epoch}`;
    $("live-sample-caption").textContent = `after epoch ${d.epoch} (${fmt(d.seconds, 1)} s)`;
    if (d.metrics) renderMetrics($("live-metrics"), d.metrics, `Quality after epoch ${d.epoch}: `, "");
  });
  on("checkpoint", (d) => {
    $("live-note").textContent = `checkpoint saved (epoch ${d.epoch})`;
  });
  on("export", (d) => {
    $("live-note").textContent = `exported as version ${d.version}; loading it…`;
  });
  on("cancelling", () => {
    $("live-note").textContent = "cancelling: the trainer is writing a checkpoint…";
  });
  on("done", (d) => {
    $("live-note").textContent = d.stopped ? "the trainer stopped early" : "training finished";
  });
  // A named `error` event (the trainer's message) and a connection error share the name.
  source.addEventListener("error", (event) => {
    if (live.source !== source) return;
    if (event.data !== undefined) {
      const d = JSON.parse(event.data);
      setError("live-error", "trainer", `The trainer reported an error: ${d.message || event.data}`);
      return;
    }
    if (live.finished) {
      source.close(); // the stream ended with the job: do not reconnect
      return;
    }
    if (source.readyState === EventSource.CLOSED) {
      setError("live-error", "stream", `Lost the event stream of job ${id}; reload or press Watch.`);
    } else {
      $("live-note").textContent = "connection lost; reconnecting…";
    }
  });
  source.addEventListener("open", () => setError("live-error", "stream", null));
}

// Stop following the job (it was deleted) and put the panel away.
export function unwatch() {
  if (live.source) live.source.close();
  Object.assign(live, { id: null, ...FRESH });
  $("live").hidden = true;
  markWatched();
}

function onState(d) {
  if (typeof d.finished !== "boolean") {
    // recorded before state events carried the flags: take them from the job's record
    const id = live.id;
    api(`/jobs/${id}`)
      .then((r) => r.json())
      .then((job) => live.id === id && job.state === d.state && onState({ ...job, ...d }))
      .catch((err) => setError("live-error", "job", `Could not read job ${id}: ${err.message}`));
    return;
  }
  live.state = d.state;
  live.finished = d.finished;
  const badge = $("live-state");
  badge.textContent = d.state; // its name, for people; what it allows comes from the flags
  badge.className = `badge ${d.state}`;
  $("live-explain").textContent = explainState(d);
  $("live-cancel").hidden = !d.cancellable;
  $("live-resume").hidden = !d.resumable;
  $("live-delete").hidden = !d.deletable;
  const generate = $("live-generate");
  generate.hidden = !exported(d);
  if (!generate.hidden) {
    generate.textContent = `Generate from ${d.model_version}`;
    generate.dataset.model = d.model_version;
    generate.href = `?model=${encodeURIComponent(d.model_version)}#generate`;
  }
  if (d.error) {
    setError("live-error", "job", `Job ${live.id} ${d.state}: ${d.error}`);
  } else {
    setError("live-error", "job", null);
    setError("live-error", "trainer", null);
  }
  $("live-gif-figure").hidden = true;
  if (d.finished) {
    if (exported(d)) {
      $("live-progress").value = 1;
      $("live-progress-label").textContent = `epoch ${live.epochs}/${live.epochs}: done`;
      $("live-note").textContent = `served as ${d.model_version}${d.active ? " (active)" : ""}`;
    } else if (!d.error) {
      $("live-note").textContent = `the job ended: ${d.state}`;
    }
    if (live.points.length) showGif();
    if (d.model_version) loadModels();
  }
  loadJobs();
}

function showGif() {
  const img = $("live-gif");
  img.onload = () => ($("live-gif-figure").hidden = false);
  img.onerror = () => ($("live-gif-figure").hidden = true);
  img.src = url(`/jobs/${live.id}/progress.gif?t=${Date.now()}`).href;
}

function showProgress(x, text, d) {
  const total = live.epochs || 1;
  $("live-progress").value = Math.min(1, x / total);
  const bits = [text];
  if (typeof d.stage === "string" && d.stage) bits.push(d.stage);
  if (d.eta_seconds != null) bits.push(`ETA ${duration(d.eta_seconds)}`);
  if (d.images_per_sec != null) bits.push(`${Math.round(d.images_per_sec)} images/s`);
  $("live-progress-label").textContent = bits.join(" · ");
  $("g-last").textContent = fmt(d.g_loss, 3);
  $("d-last").textContent = fmt(d.d_loss, 3);
}

function addPoint(x, d, epoch) {
  if (typeof d.g_loss !== "number" || typeof d.d_loss !== "number") return;
  live.points.push({ x, g: d.g_loss, d: d.d_loss, epoch });
  drawChart();
}

function drawChart() {
  drawLossChart($("loss-chart"), live.points, live.epochs);
}
