// dcgan-digits page: plain JavaScript modules, no build step, no external requests.

import { $ } from "./common.js";
import { initGenerate } from "./generate.js";
import { initJobs } from "./jobs.js";

const TOKEN_KEY = "dcgan-digits-token";

// The API token lives for this tab only; POST requests send it (common.authHeaders).
const token = $("token");
token.value = sessionStorage.getItem(TOKEN_KEY) || "";
token.addEventListener("input", () => {
  if (token.value) sessionStorage.setItem(TOKEN_KEY, token.value);
  else sessionStorage.removeItem(TOKEN_KEY);
});
initGenerate();
initJobs();
