// A model's quality numbers (training.evaluate) in plain words, each with its numbers on hover
// (`title`), and how a loaded version generates.

import { el, fmt, pct } from "./common.js";

// FID-MNIST (lower is better) -> words. The shipped models score about 8.5, the tutorial's
// recipe after 50 epochs about 125, an untrained generator 400 and more: the bounds put those
// in "excellent", "fair" and "poor", with "good" for digits clearly on their way.
export const LIKENESS = [
  [20, "excellent"],
  [60, "good"],
  [150, "fair"],
  [Infinity, "poor"],
];
const BOUNDS = "excellent below 20, good below 60, fair below 150, poor above";

export function likeness(fid) {
  return typeof fid === "number" ? LIKENESS.find(([bound]) => fid < bound)[1] : null;
}

// 0.999 -> "99.9%", 1 -> "100%": for the ten per-digit accuracies on one line.
const compact = (x) => (typeof x === "number" ? `${(100 * x).toFixed(1).replace(/\.0$/, "")}%` : "–");

// One phrase per number: [text, title, warn].
function phrases(m) {
  const out = [];
  out.push([
    `likeness to real digits: ${likeness(m.fid_mnist)}`,
    `FID-MNIST ${fmt(m.fid_mnist, 2)} (lower is better; ${BOUNDS}; the test set's own floor ` +
      `${fmt(m.fid_mnist_floor, 2)})`,
  ]);
  if (typeof m.confident_share === "number") {
    out.push([
      `${Math.round(100 * m.confident_share)}% of digits clearly readable`,
      `the classifier is at least 90% sure of ${pct(m.confident_share)} of the samples; mean ` +
        `confidence ${fmt(m.confidence, 3)}; class entropy ${fmt(m.class_entropy, 3)} of 2.303 ` +
        "(every digit equally often)",
    ]);
  }
  if (typeof m.digit_accuracy === "number") {
    const each = (m.digit_accuracy_by_digit || []).map((a, d) => `${d} ${compact(a)}`).join(" · ");
    out.push([`draws the digit asked for ${compact(m.digit_accuracy)} of the time`, each]);
  }
  const check = m.memorisation;
  if (check && typeof check.median_ratio === "number") {
    out.push([
      `copies training digits: ${check.flagged ? "yes" : "no"}`,
      `median distance to the nearest training image over the same for unseen test digits: ` +
        `${fmt(check.median_ratio, 2)} (about 1 is healthy, near 0 means copying); ` +
        `${pct(check.close_share)} closer than the test set's 1st percentile`,
      check.flagged,
    ]);
  }
  return out;
}

// The words of a version's quality on one line, into `node` after `prefix`; `empty` without any.
export function renderMetrics(node, metrics, prefix, empty) {
  node.replaceChildren();
  if (prefix) node.append(prefix);
  if (!metrics || typeof metrics.fid_mnist !== "number") {
    node.append(empty);
    return;
  }
  phrases(metrics).forEach(([text, title, warn], i) => {
    if (i) node.append(" · ");
    node.append(warn ? el("strong", { class: "warn", title }, `⚠ ${text}`) : el("b", { title }, text));
  });
}

// The shortest summary, for a picker's option: "excellent likeness, 91% readable".
export function summary(metrics) {
  const m = metrics || {};
  const bits = [];
  if (typeof m.fid_mnist === "number") bits.push(`${likeness(m.fid_mnist)} likeness`);
  if (typeof m.confident_share === "number") bits.push(`${Math.round(100 * m.confident_share)}% readable`);
  if (m.memorisation && m.memorisation.flagged) bits.push("⚠ copies training digits");
  return bits.join(", ");
}

// How a version of /models generates, briefly (null until it has been loaded).
export function describeGeneration(version) {
  if (version.status === "unloaded") return "not in memory: loads on its first request";
  const g = version.generation;
  if (!g) return null;
  const calls = g.call_sizes && g.call_sizes.length ? ` in calls of ${g.call_sizes.join("/")}` : "";
  const exact = g.exact === false ? ", not bit-exact" : "";
  return `generation: ${g.mode}${calls}, ${g.precision}${exact}`;
}
