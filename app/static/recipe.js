// The training form's recipe select, read from the API's own schema (/openapi.json, JobParams'
// `recipe`) so its choices and their explanations cannot drift from the service. Without the
// field (an older service) the select stays hidden and the form sends no recipe.

import { $, api, el } from "./common.js";

export const recipe = { choices: null }; // [{ value, text }] once the schema has the field

// Follow $ref, allOf, anyOf and oneOf down to the node that has the choices.
function resolve(schemas, node) {
  if (!node) return null;
  if (node.$ref) return resolve(schemas, schemas[node.$ref.split("/").pop()]);
  const consts = node.oneOf || node.anyOf;
  const allConst = consts && consts.length && consts.every((n) => n && n.const !== undefined);
  if (node.enum || allConst) return node;
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    for (const sub of node[key] || []) {
      const found = resolve(schemas, sub);
      if (found) return found;
    }
  }
  return null;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// A choice's explanation: its own (oneOf const + description, or an x-enum-descriptions entry),
// else the words after its name in the field's description ("quick: ...;" or "quick (...)").
function explain(value, i, node, description) {
  const named = node["x-enum-descriptions"] || node.enumDescriptions;
  if (Array.isArray(named) && named[i]) return named[i];
  if (named && named[value]) return named[value];
  const after = new RegExp(`\\b${escape(value)}\\b\\s*(?:\\(([^)]*)\\)|[:=–—-]\\s*([^;\\n]+))`);
  const match = description.match(after);
  return match ? (match[1] || match[2]).trim().replace(/[.,]$/, "") : "";
}

export function choicesOf(openapi) {
  const schemas = (openapi.components || {}).schemas || {};
  const field = ((schemas.JobParams || {}).properties || {}).recipe;
  const node = resolve(schemas, field);
  if (!node) return null;
  const description = [field.description, node.description].filter(Boolean).join("\n");
  const consts = node.enum ? null : node.oneOf || node.anyOf;
  const values = consts ? consts.map((n) => n.const) : node.enum;
  const own = (i) => consts && (consts[i].description || consts[i].title);
  const choices = values.map((value, i) => ({
    value: String(value),
    text: own(i) || explain(String(value), i, node, description),
  }));
  const fallback = field.default !== undefined ? field.default : node.default;
  return { choices, default: fallback == null ? choices[0].value : String(fallback), description };
}

function showHint() {
  const chosen = recipe.choices.find((c) => c.value === $("job-recipe").value);
  $("job-recipe-hint").textContent = (chosen && chosen.text) || recipe.description || "";
}

export async function initRecipe() {
  let found = null;
  try {
    found = choicesOf(await (await api("/openapi.json")).json());
  } catch (_) {
    found = null; // the form works without recipes, as before them
  }
  if (!found) return;
  Object.assign(recipe, found);
  const select = $("job-recipe");
  const options = found.choices.map((c) => el("option", { value: c.value, title: c.text }, c.value));
  select.replaceChildren(...options);
  select.value = found.default;
  select.addEventListener("change", showHint);
  showHint();
  $("job-recipe-field").hidden = false;
  $("job-overrides-hint").textContent = "Blank fields take the recipe's values; fill one to override it.";
  for (const input of document.querySelectorAll("#job-form input[data-override]")) {
    input.placeholder = "recipe's";
  }
  $("job-mixed_precision").options[0].textContent = "recipe's";
}
