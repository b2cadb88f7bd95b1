import { count, fmt } from "./common.js";

const NS = "http://www.w3.org/2000/svg";
const W = 480;
const H = 220;
const pad = { l: 48, r: 14, t: 14, b: 30 };

function shape(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// The loss curves as inline SVG: x in epochs, y in loss; a dot marks each epoch's mean.
export function drawLossChart(svg, points, epochs) {
  svg.replaceChildren();
  svg.dataset.points = String(points.length);
  const xMax = Math.max(1, epochs || 0, ...points.map((p) => p.x));
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

// 1, 2, 5, 10, 20, 50, ... within [lo, hi]: ticks for a log scale.
function logTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); 10 ** e <= hi; e += 1) {
    for (const m of [1, 2, 5]) if (m * 10 ** e >= lo && m * 10 ** e <= hi) ticks.push(m * 10 ** e);
  }
  return ticks;
}

// Quality curves: FID-MNIST (log scale: 400 and 8 on one chart; lower is better) against the
// training images seen. `series`: [{ name, points: [{ x, y, title }] }], drawn as .s0, .s1, ...
export function drawCurves(svg, series) {
  svg.replaceChildren();
  const points = series.flatMap((s) => s.points);
  svg.dataset.points = String(points.length);
  svg.dataset.series = String(series.filter((s) => s.points.length).length);
  if (!points.length) {
    svg.append(shape("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no quality curve recorded"));
    return;
  }
  const xMax = Math.max(1, ...points.map((p) => p.x));
  const lo = Math.min(...points.map((p) => p.y)) / 1.3;
  const hi = Math.max(...points.map((p) => p.y)) * 1.3;
  const sx = (x) => pad.l + (x / xMax) * (W - pad.l - pad.r);
  const sy = (y) => H - pad.b - (Math.log(y / lo) / Math.log(hi / lo)) * (H - pad.t - pad.b);
  for (const y of logTicks(lo, hi)) {
    svg.append(shape("line", { class: "grid", x1: pad.l, x2: W - pad.r, y1: sy(y), y2: sy(y) }));
    svg.append(shape("text", { x: pad.l - 6, y: sy(y) + 4, "text-anchor": "end" }, String(y)));
  }
  for (let i = 0; i <= 4; i += 1) {
    const x = (i / 4) * xMax;
    svg.append(shape("text", { x: sx(x), y: H - pad.b + 16, "text-anchor": "middle" }, count(x)));
  }
  svg.append(shape("text", { x: W - pad.r, y: H - 4, "text-anchor": "end" }, "images seen"));
  svg.append(shape("text", { x: pad.l + 4, y: pad.t + 10 }, "FID-MNIST (lower is better)"));
  svg.append(shape("line", { class: "axis", x1: pad.l, x2: pad.l, y1: pad.t, y2: H - pad.b }));
  svg.append(shape("line", { class: "axis", x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b }));
  series.forEach((s, i) => {
    const cls = `s${i % 4}`;
    const coords = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
    svg.append(shape("polyline", { class: cls, points: coords, "data-name": s.name }));
    for (const p of s.points) {
      const dot = shape("circle", { class: cls, cx: sx(p.x).toFixed(1), cy: sy(p.y).toFixed(1), r: 3 });
      dot.append(shape("title", {}, p.title));
      svg.append(dot);
    }
  });
  const names = series.filter((s) => s.points.length).map((s) => s.name);
  svg.setAttribute("aria-label", `FID-MNIST against images seen: ${names.join(", ")}`);
}
