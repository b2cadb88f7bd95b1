// dcgan-digits page: plain JavaScript modules, no build step, no external requests.

import { $ } from "./common.js";
import { initCompare } from "./compare.js";
import { initGenerate } from "./generate.js";
import { initJobs } from "./jobs.js";
import { initModels } from "./models.js";

const TOKEN_KEY = "dcgan-digits-token";

// The API token lives for this tab only; POST requests send it (common.authHeaders).
const token = $("token");
token.value = sessionStorage.getItem(TOKEN_KEY) || "";
token.addEventListener("input", () => {
  if (token.value) sessionStorage.setItem(TOKEN_KEY, token.value);
  else sessionStorage.removeItem(TOKEN_KEY);
});
// The Models and Compare sections follow the catalog the Generate section loads first.
initModels();
initCompare();
initGenerate();
initJobs();
