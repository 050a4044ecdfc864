// The playground (service/api/static/playground.html): POST /predict, POST /explain, GET /model on this server.
// No inline script, no other host: the page's Content-Security-Policy (service/api/pages.py) allows only 'self'.
"use strict";

const EXAMPLES = [
  "I love this phone, best purchase ever :)",
  "Worst customer service I have ever had. Never again.",
  "The meeting is moved to 3pm on Tuesday.",
  "not bad at all, the new season is actually great #happy",
];
const AUTO_EXPLAIN = 20; // texts explained at once; later ones get a button
const EXPLAIN_CONCURRENCY = 4;
const SUPPORTS = [29, 78, 216]; // rgb of a token that supports the label (blue)
const AGAINST = [234, 88, 12]; // ... and of one that speaks against it (orange)

const $ = (id) => document.getElementById(id);
let apiKey = sessionStorage.getItem("sentiment-api-key") || "";

class APIError extends Error {
  constructor(status, body) {
    super(body && typeof body.error === "string" ? body.error : `HTTP ${status}`);
    this.status = status;
    this.field = body && body.field;
    this.requestId = body && body.request_id;
  }
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new APIError(0, { error: `the server could not be reached (${e.message})` });
  }
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 401) askForKey();
    throw new APIError(response.status, data);
  }
  return data;
}

function askForKey() {
  const row = $("key-row");
  if (row.hidden) {
    row.hidden = false;
    $("api-key").focus();
  }
}

function showError(err) {
  const box = $("error");
  box.replaceChildren();
  if (!err) {
    box.hidden = true;
    return;
  }
  box.append(document.createTextNode(err.message));
  const meta = [];
  if (err.status) meta.push(`HTTP ${err.status}`);
  if (err.field) meta.push(`field ${err.field}`);
  if (err.requestId) meta.push(`request ${err.requestId}`);
  if (meta.length) {
    const span = document.createElement("span");
    span.className = "meta";
    span.textContent = meta.join(" · ");
    box.append(span);
  }
  box.hidden = false;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const pct = (p) => `${(100 * p).toFixed(1)}%`;
const fmt = (x, digits = 3) => (typeof x === "number" ? x.toFixed(digits) : "–");

// ---- model card -----------------------------------------------------------------------------------------------
async function loadModel() {
  const body = $("model-body");
  try {
    const info = await call("GET", "/model");
    body.replaceChildren(modelCard(info));
  } catch (err) {
    body.replaceChildren(el("p", "muted", `Model details unavailable: ${err.message}`));
  }
}

function modelCard(info) {
  const frag = document.createDocumentFragment();
  const dl = el("dl");
  const rows = [
    ["Name", info.name],
    ["Version", info.version],
    ["Labels", (info.labels || []).join(", ")],
    ["Device", `${info.device} · ${info.precision}`],
    ["Created", (info.created_at || "").replace("T", " ").replace("+00:00", " UTC")],
  ];
  for (const [k, v] of rows) {
    dl.append(el("dt", null, k), el("dd", null, v));
  }
  dl.querySelector("dd:nth-of-type(1)").id = "model-name";
  dl.querySelector("dd:nth-of-type(2)").id = "model-version";
  frag.append(dl);

  const m = info.metrics || {};
  const splits = ["test", "validation"].filter((s) => m[s]);
  if (splits.length) {
    const table = el("table");
    table.id = "model-metrics";
    table.append(el("caption", null, "Metrics at export"));
    const head = el("tr");
    head.append(el("th", null, "metric"));
    for (const s of splits) head.append(el("th", null, s));
    const thead = el("thead");
    thead.append(head);
    const tbody = el("tbody");
    const metrics = [
      ["avg_recall", "AvgRec"],
      ["f1_pn", "F1 (pos/neg)"],
      ["accuracy", "accuracy"],
      ["ece", "ECE"],
    ];
    for (const [key, name] of metrics) {
      const tr = el("tr");
      tr.append(el("th", null, name));
      for (const s of splits) tr.append(el("td", null, fmt(m[s][key])));
      tbody.append(tr);
    }
    const n = el("tr");
    n.append(el("th", null, "tweets"));
    for (const s of splits) n.append(el("td", null, m[s].n === undefined ? "–" : m[s].n.toLocaleString("en")));
    tbody.append(n);
    table.append(thead, tbody);
    frag.append(table);
    frag.append(el("p", "note", "AvgRec: mean recall over the three classes (SemEval-2017 4A's ranking metric)."));
  }
  return frag;
}

// ---- results ----------------------------------------------------------------------------------------------------
function resultItem(text, prediction) {
  const li = $("result-template").content.firstElementChild.cloneNode(true);
  li.classList.add(prediction.label);
  li.querySelector(".text").textContent = text;
  const label = li.querySelector(".label");
  label.textContent = prediction.label;
  label.classList.add(prediction.label);
  const scores = li.querySelector(".scores");
  for (const [name, p] of Object.entries(prediction.scores)) {
    const bar = el("div", `bar ${name}`);
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "1");
    bar.setAttribute("aria-valuenow", String(p));
    bar.setAttribute("aria-label", `${name} score`);
    const fill = el("span");
    fill.style.width = pct(p);
    bar.append(fill);
    const dd = el("dd");
    dd.append(bar);
    scores.append(el("dt", null, name), dd, el("dd", "value", pct(p)));
  }
  const button = li.querySelector(".explain");
  button.addEventListener("click", () => explainInto(li, text));
  return li;
}

function tokenColour(attribution, scale) {
  const [r, g, b] = attribution >= 0 ? SUPPORTS : AGAINST;
  const alpha = scale > 0 ? Math.min(1, Math.abs(attribution) / scale) * 0.75 : 0;
  return `rgba(${r}, ${g}, ${b}, ${alpha.toFixed(3)})`;
}

function renderTokens(li, explanation) {
  const out = li.querySelector(".tokens");
  out.replaceChildren();
  const scale = Math.max(0, ...explanation.tokens.map((t) => Math.abs(t.attribution)));
  for (const t of explanation.tokens) {
    const span = el("span", `token ${t.attribution >= 0 ? "supports" : "against"}`, t.token);
    span.style.backgroundColor = tokenColour(t.attribution, scale);
    if (scale > 0 && Math.abs(t.attribution) / scale > 0.6) span.style.color = "#fff";
    const sign = t.attribution >= 0 ? "+" : "";
    span.title = `${t.token}: ${sign}${t.attribution.toFixed(4)} for ${explanation.label}`;
    span.dataset.attribution = String(t.attribution);
    out.append(span);
    out.append(document.createTextNode(" "));
  }
  if (explanation.truncated) out.append(el("span", "truncated", "(later tokens not explained)"));
  // for screen readers (the coloured tokens are hidden from them): the strongest words, for and against
  const ranked = [...explanation.tokens].sort((a, b) => Math.abs(b.attribution) - Math.abs(a.attribution));
  const words = (keep) => ranked.filter(keep).slice(0, 3).map((t) => t.token).join(", ") || "none";
  li.querySelector(".summary").textContent =
    `Words for ${explanation.label}: ${words((t) => t.attribution > 0)}. ` +
    `Words against: ${words((t) => t.attribution < 0)}.` +
    (explanation.truncated ? " Later tokens not explained." : "");
  li.querySelector(".explain").hidden = true;
}

async function explainInto(li, text) {
  const button = li.querySelector(".explain");
  button.disabled = true;
  try {
    renderTokens(li, await call("POST", "/explain", { text }));
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

async function explainAll(items) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const [li, text] = items[next++];
      await explainInto(li, text);
    }
  };
  await Promise.all(Array.from({ length: EXPLAIN_CONCURRENCY }, worker));
}

async function classify(event) {
  if (event) event.preventDefault();
  const key = $("api-key").value.trim();
  if (key !== apiKey) {
    apiKey = key;
    if (key) sessionStorage.setItem("sentiment-api-key", key);
    else sessionStorage.removeItem("sentiment-api-key");
  }
  const texts = $("texts")
    .value.split(/\r?\n/)
    .filter((line) => line.trim() !== "");
  showError(null);
  if (!texts.length) {
    showError(new APIError(0, { error: "type or paste at least one tweet (one per line)" }));
    $("texts").focus();
    return;
  }
  const button = $("classify");
  button.disabled = true;
  $("status").textContent = `Classifying ${texts.length} text${texts.length > 1 ? "s" : ""}…`;
  try {
    const predictions = await call("POST", "/predict", { texts });
    const list = $("results");
    const items = predictions.map((p, i) => [resultItem(texts[i], p), texts[i]]);
    list.replaceChildren(...items.map(([li]) => li));
    $("empty").hidden = true;
    $("status").textContent = `${texts.length} classified.`;
    if ($("model-body").querySelector(".muted")) loadModel(); // e.g. after the API key was entered
    await explainAll(items.slice(0, AUTO_EXPLAIN));
  } catch (err) {
    $("status").textContent = "";
    showError(err);
  } finally {
    button.disabled = false;
  }
}

function init() {
  $("form").addEventListener("submit", classify);
  $("texts").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) classify(e);
  });
  $("examples").addEventListener("click", () => {
    $("texts").value = EXAMPLES.join("\n");
    $("texts").focus();
  });
  $("clear").addEventListener("click", () => {
    $("texts").value = "";
    $("results").replaceChildren();
    $("empty").hidden = false;
    $("status").textContent = "";
    showError(null);
    $("texts").focus();
  });
  if (apiKey) {
    $("api-key").value = apiKey;
    $("key-row").hidden = false;
  }
  loadModel();
}

document.addEventListener("DOMContentLoaded", init);
