// dcgan-digits page: plain JavaScript, no build step, no external requests.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const FINISHED = ["succeeded", "failed", "cancelled", "interrupted"];
  const TOKEN_KEY = "dcgan-digits-token";

  // ---- the API: relative URLs (works under a path prefix), errors in words ----

  const url = (path) => new URL(path.replace(/^\//, ""), document.baseURI);

  class ApiError extends Error {}

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

  function authHeaders() {
    const token = $("token").value.trim();
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  async function api(path, options = {}) {
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
  function setError(regionId, source, message) {
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

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key.startsWith("data-") || key.startsWith("aria-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    node.append(...children);
    return node;
  }

  const fmt = (x, digits = 3) => (typeof x === "number" ? x.toFixed(digits) : "–");
  const pct = (x) => (typeof x === "number" ? `${(100 * x).toFixed(1)}%` : "–");

  function duration(seconds) {
    if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "–";
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }

  // Quality numbers from training.evaluate, as one line of words.
  function describeMetrics(m) {
    if (!m || typeof m.fid_mnist !== "number") return null;
    const parts = [
      ["FID-MNIST", `${fmt(m.fid_mnist, 2)} (floor ${fmt(m.fid_mnist_floor, 2)}; lower is better)`],
      ["mean confidence", fmt(m.confidence, 3)],
      ["confident (≥ 0.9)", pct(m.confident_share)],
      ["class entropy", `${fmt(m.class_entropy, 3)} of 2.303`],
    ];
    if (typeof m.digit_accuracy === "number") parts.push(["requested digit", pct(m.digit_accuracy)]);
    return parts;
  }

  function renderMetrics(node, metrics, prefix, empty) {
    const parts = describeMetrics(metrics);
    node.replaceChildren();
    if (prefix) node.append(prefix);
    if (!parts) {
      node.append(empty);
      return;
    }
    parts.forEach(([name, value], i) => {
      if (i) node.append(" · ");
      node.append(`${name} `, el("b", {}, value));
    });
  }

  // ---- models ----

  const models = { byRef: new Map(), defaultName: null };

  async function loadModels() {
    try {
      const data = await (await api("/models")).json();
      models.defaultName = data.default;
      models.byRef.clear();
      const select = $("model");
      const keep = select.value;
      select.replaceChildren();
      for (const m of data.models) {
        const group = el("optgroup", { label: m.name + (m.default ? " (default)" : "") });
        const active = m.versions.find((v) => v.version === m.active_version);
        if (m.status === "ready" && active) {
          models.byRef.set(m.name, { ...active, name: m.name, conditional: m.conditional });
          group.append(el("option", { value: m.name }, `${m.name}: active v${m.active_version}${short(active)}`));
        }
        for (const v of m.versions) {
          const ref = `${m.name}@${v.version}`;
          if (v.status === "ready") {
            models.byRef.set(ref, { ...v, name: m.name });
            group.append(el("option", { value: ref }, `${ref}${short(v)}`));
          } else {
            group.append(el("option", { value: ref, disabled: true }, `${ref}: failed to load`));
          }
        }
        select.append(group);
      }
      const wanted = new URLSearchParams(location.search).get("model");
      select.value = [keep, wanted, data.default].find((ref) => ref && models.byRef.has(ref)) || "";
      setError("gen-error", "models", null);
    } catch (err) {
      setError("gen-error", "models", `Could not list the models: ${err.message}`);
    }
    modelChanged();
  }

  function short(version) {
    const m = (version.model_json || {}).metrics || {};
    const bits = [];
    if (typeof m.fid_mnist === "number") bits.push(`FID ${fmt(m.fid_mnist, 2)}`);
    if (typeof m.confidence === "number") bits.push(`conf ${fmt(m.confidence, 2)}`);
    if (typeof m.digit_accuracy === "number") bits.push(`digit ${pct(m.digit_accuracy)}`);
    if (version.conditional) bits.unshift("conditional");
    return bits.length ? ` (${bits.join(", ")})` : "";
  }

  function selectedModel() {
    return models.byRef.get($("model").value) || null;
  }

  function modelChanged() {
    const model = selectedModel();
    const digit = $("digit");
    digit.disabled = !(model && model.conditional);
    if (digit.disabled) digit.value = "";
    const info = $("model-quality");
    if (!model) {
      info.textContent = "";
      return;
    }
    const json = model.model_json || {};
    const about = [`${model.name}@${model.version}`];
    if (json.epochs_trained != null) about.push(`${json.epochs_trained} epochs`);
    if (model.conditional) about.push("conditional");
    renderMetrics(info, json.metrics, `${about.join(", ")}: `, "no quality numbers (not evaluated)");
  }

  // ---- the grid ----

  const grid = { controller: null, objectUrl: null, timer: null };

  function gridParams() {
    const p = new URLSearchParams();
    const n = $("n").value.trim();
    const seed = $("seed").value.trim();
    if (n) p.set("n", n);
    if (seed) p.set("seed", seed);
    if ($("model").value) p.set("model", $("model").value);
    if (!$("digit").disabled && $("digit").value !== "") p.set("digit", $("digit").value);
    p.set("scale", $("scale").value);
    return p;
  }

  function soon(state, fn, delay = 250) {
    clearTimeout(state.timer);
    state.timer = setTimeout(fn, delay);
  }

  async function showImage(state, img, path, onHeaders) {
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
    if ($("model").value) p.set("model", $("model").value);
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

  // ---- training: the form ----

  const NUMBER_FIELDS = ["epochs", "batch_size", "learning_rate", "beta_1", "label_smoothing", "seed", "limit", "eval_every"];

  function jobBody() {
    const body = { name: $("job-name").value.trim() };
    for (const field of NUMBER_FIELDS) {
      const input = $(`job-${field}`);
      if (input.validity.badInput) throw new ApiError(`${field}: not a number`);
      const raw = input.value.trim();
      if (raw !== "") body[field] = Number(raw); // blank: the service's default
    }
    body.mixed_precision = $("job-mixed_precision").value;
    body.conditional = $("job-conditional").checked;
    body.activate = $("job-activate").checked;
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

  async function jobAction(id, action) {
    try {
      await api(`/jobs/${id}/${action}`, { method: "POST", headers: authHeaders() });
      setError("train-error", "action", null);
      if (action === "resume") watch(id); // a new run: follow it (its stream had ended)
    } catch (err) {
      setError("train-error", "action", `Could not ${action} job ${id}: ${err.message}`);
    }
    loadJobs();
  }

  // ---- training: the live view over EventSource ----

  const live = { id: null, source: null, points: [], epochs: 0, state: null, job: null };

  function watch(id) {
    if (live.source) live.source.close();
    Object.assign(live, { id, source: null, points: [], epochs: 0, state: null, job: null });
    $("live").hidden = false;
    $("live-title").textContent = `Job ${id}`;
    $("live-progress").value = 0;
    $("live-progress-label").textContent = "waiting for the trainer…";
    $("live-note").textContent = "";
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
        live.epochs = live.epochs || job.params.epochs;
        const p = job.params;
        const what = `${p.name}${p.conditional ? " (conditional)" : ""}, ${p.epochs} epochs`;
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
      if (FINISHED.includes(live.state)) {
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

  function onState(d) {
    live.state = d.state;
    const badge = $("live-state");
    badge.textContent = d.state;
    badge.className = `badge ${d.state}`;
    $("live-cancel").hidden = !["queued", "running"].includes(d.state);
    $("live-resume").hidden = !["cancelled", "failed", "interrupted"].includes(d.state);
    const generate = $("live-generate");
    generate.hidden = !(d.state === "succeeded" && d.model_version);
    if (!generate.hidden) {
      generate.textContent = `Generate from ${d.model_version}`;
      generate.dataset.model = d.model_version;
      generate.href = `?model=${encodeURIComponent(d.model_version)}#generate`;
    }
    if (d.state === "failed" || d.state === "interrupted") {
      setError("live-error", "job", `Job ${live.id} ${d.state}: ${d.error || "no reason given"}`);
    } else {
      setError("live-error", "job", null);
      setError("live-error", "trainer", null);
    }
    $("live-gif-figure").hidden = true;
    if (FINISHED.includes(d.state)) {
      if (d.state === "succeeded") {
        $("live-progress").value = 1;
        $("live-progress-label").textContent = `epoch ${live.epochs}/${live.epochs}: done`;
        $("live-note").textContent = `served as ${d.model_version}${d.active ? " (active)" : ""}`;
      }
      if (live.points.length) showGif();
      if (d.model_version) loadModels();
    } else if (d.state === "queued") {
      $("live-note").textContent = "queued: one job trains at a time";
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

  // The loss curves as inline SVG: x in epochs, y in loss; a dot marks each epoch's mean.
  function drawChart() {
    const svg = $("loss-chart");
    const NS = "http://www.w3.org/2000/svg";
    const W = 480;
    const H = 220;
    const pad = { l: 48, r: 14, t: 14, b: 30 };
    const shape = (tag, attrs, text) => {
      const node = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      if (text !== undefined) node.textContent = text;
      return node;
    };
    const points = live.points;
    svg.replaceChildren();
    svg.dataset.points = String(points.length);
    const xMax = Math.max(1, live.epochs || 0, ...points.map((p) => p.x));
    const ys = points.flatMap((p) => [p.g, p.d]);
    let yMin = ys.length ? Math.min(...ys) : 0;
    let yMax = ys.length ? Math.max(...ys) : 1;
    if (yMax - yMin < 1e-6) {
      yMin -= 0.5;
      yMax += 0.5;
    }
    const span = yMax - yMin;
    yMin = Math.max(0, yMin - 0.08 * span);
    yMax += 0.08 * span;
    const sx = (x) => pad.l + (x / xMax) * (W - pad.l - pad.r);
    const sy = (y) => H - pad.b - ((y - yMin) / (yMax - yMin)) * (H - pad.t - pad.b);

    for (let i = 0; i <= 4; i += 1) {
      const y = yMin + (i / 4) * (yMax - yMin);
      svg.append(shape("line", { class: "grid", x1: pad.l, x2: W - pad.r, y1: sy(y), y2: sy(y) }));
      svg.append(shape("text", { x: pad.l - 6, y: sy(y) + 4, "text-anchor": "end" }, y.toFixed(2)));
    }
    const every = Math.max(1, Math.ceil(xMax / 10));
    for (let e = 0; e <= xMax; e += every) {
      svg.append(shape("text", { x: sx(e), y: H - pad.b + 16, "text-anchor": "middle" }, String(e)));
    }
    svg.append(shape("text", { x: W - pad.r, y: H - 4, "text-anchor": "end" }, "epoch"));
    svg.append(shape("line", { class: "axis", x1: pad.l, x2: pad.l, y1: pad.t, y2: H - pad.b }));
    svg.append(shape("line", { class: "axis", x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b }));

    if (!points.length) {
      svg.append(
        shape("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "losses appear as the trainer reports them"),
      );
      return;
    }
    for (const key of ["g", "d"]) {
      const coords = points.map((p) => `${sx(p.x).toFixed(1)},${sy(p[key]).toFixed(1)}`).join(" ");
      svg.append(shape("polyline", { class: key, points: coords }));
      for (const p of points.filter((q) => q.epoch)) {
        svg.append(shape("circle", { class: key, cx: sx(p.x).toFixed(1), cy: sy(p[key]).toFixed(1), r: 3.5 }));
      }
    }
    const last = points[points.length - 1];
    svg.setAttribute(
      "aria-label",
      `Loss by epoch, ${points.length} points; latest generator ${fmt(last.g)}, discriminator ${fmt(last.d)}`,
    );
  }

  // ---- training: the list of jobs ----

  const jobs = { offset: 0, limit: 10, list: [] };

  async function loadJobs() {
    try {
      const page = await (await api(`/jobs?limit=${jobs.limit}&offset=${jobs.offset}`)).json();
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
      if (job.error) state.append(el("div", { class: "row-error", title: job.error }, clip(job.error, 160)));
      const actions = el("td", { class: "actions-cell" });
      actions.append(button("Watch", `Watch job ${job.id}`, () => watch(job.id)));
      if (["queued", "running"].includes(job.state)) {
        actions.append(button("Cancel", `Cancel job ${job.id}`, () => jobAction(job.id, "cancel")));
      }
      if (["cancelled", "failed", "interrupted"].includes(job.state)) {
        actions.append(button("Resume", `Resume job ${job.id}`, () => jobAction(job.id, "resume")));
      }
      if (job.model_version && job.state === "succeeded") {
        actions.append(generateLink(job.model_version, "Generate"));
      }
      const created = new Date(job.created_at * 1000);
      body.append(
        el(
          "tr",
          { "data-job": String(job.id), class: job.id === live.id ? "watched" : "" },
          el("td", {}, `#${job.id}`),
          el("td", {}, job.model_version || p.name, p.conditional ? " (conditional)" : ""),
          state,
          el("td", {}, `${progress.epoch || 0}/${p.epochs} epochs`),
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

  function clip(text, n) {
    return text.length > n ? `${text.slice(0, n - 1)}…` : text;
  }

  function button(text, label, onClick) {
    const b = el("button", { type: "button", "aria-label": label }, text);
    b.addEventListener("click", onClick);
    return b;
  }

  function generateLink(ref, text) {
    const a = el("a", { href: `?model=${encodeURIComponent(ref)}#generate`, "data-model": ref }, text);
    a.setAttribute("aria-label", `Generate from ${ref}`);
    return a;
  }

  function markWatched() {
    for (const row of document.querySelectorAll("#jobs-body tr[data-job]")) {
      row.classList.toggle("watched", Number(row.dataset.job) === live.id);
    }
  }

  // Sets the model picker to name@version (refreshing /models if it is new) and shows it.
  async function generateFrom(ref) {
    if (!models.byRef.has(ref)) await loadModels();
    if (!models.byRef.has(ref)) {
      setError("gen-error", "models", `Model ${ref} is not being served (it may have failed to load).`);
      return;
    }
    $("model").value = ref;
    history.replaceState(null, "", `?model=${encodeURIComponent(ref)}#generate`);
    modelChanged();
    updateGrid();
    updateWalk();
    $("generate").scrollIntoView();
    $("model").focus();
  }

  // ---- wiring ----

  function init() {
    const token = $("token");
    token.value = sessionStorage.getItem(TOKEN_KEY) || "";
    token.addEventListener("input", () => {
      if (token.value) sessionStorage.setItem(TOKEN_KEY, token.value);
      else sessionStorage.removeItem(TOKEN_KEY);
    });

    $("gen-form").addEventListener("submit", (e) => {
      e.preventDefault();
      updateGrid();
    });
    $("model").addEventListener("change", () => {
      modelChanged();
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

    $("job-form").addEventListener("submit", submitJob);
    $("live-cancel").addEventListener("click", () => jobAction(live.id, "cancel"));
    $("live-resume").addEventListener("click", () => jobAction(live.id, "resume"));
    $("jobs-refresh").addEventListener("click", loadJobs);
    $("jobs-newer").addEventListener("click", () => {
      jobs.offset = Math.max(0, jobs.offset - jobs.limit);
      loadJobs();
    });
    $("jobs-older").addEventListener("click", () => {
      jobs.offset += jobs.limit;
      loadJobs();
    });
    // "Generate from name@version" links: handled in place (they also work opened in a new tab).
    document.addEventListener("click", (e) => {
      const link = e.target.closest("a[data-model]");
      if (!link || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      generateFrom(link.dataset.model);
    });

    // Keep the list fresh while something is queued or running (and the tab is visible).
    setInterval(() => {
      const busy = jobs.list.some((j) => ["queued", "running"].includes(j.state));
      if (busy && document.visibilityState === "visible") loadJobs();
    }, 5000);

    loadModels().then(() => {
      updateGrid();
      updateWalk();
    });
    loadJobs().then((page) => {
      const current = page && page.jobs.find((j) => ["queued", "running"].includes(j.state));
      if (current && live.id === null) watch(current.id);
    });
  }

  init();
})();
