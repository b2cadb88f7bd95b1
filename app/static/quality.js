// A model's quality numbers (training.evaluate) and how a loaded version generates, in words.

import { el, fmt, pct } from "./common.js";

// 0.999 -> "99.9%", 1 -> "100%": for the ten per-digit accuracies on one line.
const compact = (x) => (typeof x === "number" ? `${(100 * x).toFixed(1).replace(/\.0$/, "")}%` : "–");

const MEMORISATION_TITLE =
  "Median distance from a sample to its nearest training image, over the same for unseen test " +
  "digits: about 1 is healthy, near 0 means copying. Unseen digits score 1% closer than the " +
  "test set's 1st percentile by construction.";

function headline(m) {
  const parts = [
    ["FID-MNIST", `${fmt(m.fid_mnist, 2)} (floor ${fmt(m.fid_mnist_floor, 2)}; lower is better)`],
    ["mean confidence", fmt(m.confidence, 3)],
    ["confident (≥ 0.9)", pct(m.confident_share)],
    ["class entropy", `${fmt(m.class_entropy, 3)} of 2.303`],
  ];
  if (typeof m.digit_accuracy === "number") parts.push(["requested digit", pct(m.digit_accuracy)]);
  const line = el("span"); // on the prefix's line; the lines below it are blocks
  parts.forEach(([name, value], i) => {
    if (i) line.append(" · ");
    line.append(`${name} `, el("b", {}, value));
  });
  return line;
}

function perDigit(accuracies) {
  if (!Array.isArray(accuracies) || !accuracies.length) return null;
  const text = accuracies.map((a, digit) => `${digit} ${compact(a)}`).join(" · ");
  return el("span", { class: "line per-digit" }, "requested digit, per digit: ", text);
}

function memorisation(check) {
  if (!check || typeof check.median_ratio !== "number") return null;
  const line = el(
    "span",
    { class: "line memorisation", title: MEMORISATION_TITLE },
    `memorisation: median NN-distance ratio ${fmt(check.median_ratio, 2)}, ` +
      `${pct(check.close_share)} closer than the test set's 1st percentile`,
  );
  if (check.flagged) {
    line.classList.add("flagged");
    line.append(" ", el("strong", { class: "warn" }, "⚠ flagged: samples look copied from the training set"));
  }
  return line;
}

// Quality numbers as lines of words after `prefix`; `empty` when there are none.
export function renderMetrics(node, metrics, prefix, empty) {
  node.replaceChildren();
  if (prefix) node.append(prefix);
  if (!metrics || typeof metrics.fid_mnist !== "number") {
    node.append(empty);
    return;
  }
  node.append(headline(metrics));
  for (const line of [perDigit(metrics.digit_accuracy_by_digit), memorisation(metrics.memorisation)]) {
    if (line) node.append(line);
  }
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
