// What one version of /models is beyond its quality words: how it was trained, and its
// FID-MNIST curve (model.json's `curve`, `images_seen`, `train_seconds`, `training.recipe`; the
// shipped models predate them, so each may be absent).

import { count, duration, fmt } from "./common.js";

// How a version was trained, in a few words ("30 epochs · 1.8M images · 12 min · recipe quick").
export function trainingFacts(v) {
  const json = v.json;
  const bits = [];
  if (json.epochs_trained != null) bits.push(`${json.epochs_trained} epochs`);
  if (typeof json.images_seen === "number") bits.push(`${count(json.images_seen)} images`);
  if (typeof json.train_seconds === "number") bits.push(duration(json.train_seconds));
  const recipe = json.training && json.training.recipe;
  if (recipe) bits.push(`recipe ${recipe}`);
  bits.push(v.job != null ? `trained here (job ${v.job})` : "shipped");
  return bits.join(" · ");
}

// A version's FID-MNIST against images seen: its curve, else its final score alone.
export function curveOf(v) {
  const json = v.json;
  const point = (p) => ({
    x: p.images_seen,
    y: p.fid_mnist,
    title: `${v.ref}${p.epoch != null ? `, epoch ${p.epoch}` : ""}: FID-MNIST ${fmt(p.fid_mnist, 2)} ` +
      `after ${count(p.images_seen)} images`,
  });
  const number = (x) => typeof x === "number" && Number.isFinite(x);
  const ok = (p) => p && number(p.images_seen) && number(p.fid_mnist) && p.fid_mnist > 0; // log scale
  const curve = Array.isArray(json.curve) ? json.curve.filter(ok) : [];
  const last = { images_seen: json.images_seen, fid_mnist: (json.metrics || {}).fid_mnist };
  const points = curve.length ? curve : ok(last) ? [last] : [];
  return { name: v.ref, points: points.map(point) };
}

