// The emulator's inspector: every panel is a view on the /_emulator control API, polled once a second.
// One namespace is shown at a time (the X-Emulator-Namespace header of every call); the URL's #ns= names it.
"use strict";

const API = "/_emulator";
const POLL_MS = 1000;
const JOURNAL_ROWS = 200; // the journal keeps at most this many rows on the page, newest first
const PAGE = 20; // resources per page

const state = {
  ns: null,
  vendors: [], // GET /operations: names, operations, error codes
  journalSeq: 0, // the newest journal entry shown
  journalCount: 0, // the namespace's journal size at the last poll (a drop means it was cleared)
  journalGen: 0, // bumped whenever the journal starts over, so an answer to an older query is dropped
  cursors: [null], // the resources pages walked so far (the last one is shown)
  selected: null, // the resource whose own journal is shown
};

const $ = (selector) => document.querySelector(selector);

// ---- helpers -------------------------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// Virtual times (epoch seconds) as UTC "2026-05-01 00:01:30", or just the time of day.
function iso(epoch) {
  return epoch === null || epoch === undefined ? "" : new Date(epoch * 1000).toISOString().slice(0, 19).replace("T", " ");
}

function clockTime(epoch) {
  return iso(epoch).slice(11);
}

async function api(method, path, { body, query, contentType, namespace = state.ns } = {}) {
  const headers = {};
  if (namespace) headers["X-Emulator-Namespace"] = namespace;
  if (body !== undefined) {
    headers["Content-Type"] = contentType || "application/json";
    if (typeof body !== "string") body = JSON.stringify(body);
  }
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== "" && value !== null && value !== undefined) params.set(key, value);
  }
  const url = API + path + (params.toString() ? "?" + params : "");
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  const data = text ? JSON.parse(text) : {};
  if (!res.ok) throw new Error((data.error && data.error.message) || res.status + " " + res.statusText);
  return data;
}

function say(text, isError) {
  const node = $("#message");
  node.textContent = text;
  node.className = isError ? "error" : "";
}

// Run an action from a button or form; show its error instead of losing it, then refresh everything.
function action(fn) {
  return async (event) => {
    if (event && event.preventDefault) event.preventDefault();
    try {
      const done = await fn(event);
      if (done) say(done);
    } catch (err) {
      say(err.message, true);
    }
    await refresh();
  };
}

function statusClass(status, terminal) {
  if (!terminal) return "badge moving";
  return /fail|cancel|stop|terminat|timed_out|partial/i.test(status) ? "badge bad" : "badge good";
}

function options(select, values, first) {
  const kept = select.value;
  select.replaceChildren(...(first ? [el("option", { value: "" }, first)] : []),
    ...values.map((v) => el("option", { value: v }, v)));
  if ([...select.options].some((o) => o.value === kept)) select.value = kept;
}

// ---- namespaces ----------------------------------------------------------------------------------------------

function choose(name) {
  if (name === state.ns) return;
  state.ns = name;
  state.journalSeq = 0;
  state.journalGen += 1;
  state.journalCount = 0;
  state.cursors = [null];
  state.selected = null;
  $("#ns-name").textContent = name;
  $("#journal tbody").replaceChildren();
  $("#resource-journal").hidden = true;
  if (location.hash !== "#ns=" + encodeURIComponent(name)) location.hash = "ns=" + encodeURIComponent(name);
}

async function showNamespaces() {
  const { namespaces } = await api("GET", "/namespaces", { namespace: null });
  if (state.ns === null) choose(namespaces.length ? namespaces[0].name : "default");
  $("#namespaces").replaceChildren(...namespaces.map((ns) => {
    const records = Object.values(ns.resources).reduce((a, b) => a + b, 0);
    return el("li", { class: ns.name === state.ns ? "current" : "" },
      el("a", { href: "#ns=" + encodeURIComponent(ns.name) }, ns.name),
      el("button", { class: "drop", title: "drop this namespace", "aria-label": "drop " + ns.name,
        onclick: action(async () => {
          await api("DELETE", "/namespaces/" + encodeURIComponent(ns.name), { namespace: null });
          return "dropped " + ns.name;
        }) }, "×"),
      el("div", { class: "meta" }, iso(ns.clock.now) + " · " + ns.clock.mode),
      el("div", { class: "meta" }, `${records} records · ${ns.journal} calls · ${ns.faults} faults`));
  }));
  const mine = namespaces.find((ns) => ns.name === state.ns);
  const count = mine ? mine.journal : 0;
  if (count < state.journalCount) startJournalOver(); // cleared or reset elsewhere
  state.journalCount = count;
}

// ---- clock ---------------------------------------------------------------------------------------------------

async function showClock() {
  const clock = await api("GET", "/clock");
  $("#clock-now").textContent = iso(clock.now) + " UTC";
  $("#clock-now").dateTime = clock.iso;
  $("#clock-mode").textContent = clock.mode;
}

// ---- resources -----------------------------------------------------------------------------------------------

function stillToCome(r) {
  const described = (fields) => {
    const { status, state: st, ...rest } = fields;
    const target = status || st;
    const others = Object.keys(rest).map((k) => "+" + k).join(" ");
    return [target ? "→ " + target : "", others].filter(Boolean).join(" ");
  };
  if (r.steps.length) {
    return r.steps.map((s) => (s.at !== undefined ? "at " + clockTime(s.at)
      : `after ${s.after_polls} polls (${r.polls} so far)`) + " " + described(s.fields)).join("; ");
  }
  return r.next ? `→ ${r.next.status} at ${clockTime(r.next.at)}` : "";
}

async function showResources() {
  const form = $("#resource-filters");
  const page = await api("GET", "/resources", { query: {
    vendor: form.vendor.value, kind: form.kind.value, limit: PAGE, cursor: state.cursors[state.cursors.length - 1],
  } });
  const kinds = [...new Set(page.kinds.map((k) => k.kind))];
  options(form.kind, kinds, "every kind");
  $("#resources-total").textContent = `${page.total} in all · page ${state.cursors.length}`;
  $("#page-older").disabled = !page.next_cursor;
  $("#page-older").dataset.cursor = page.next_cursor || "";
  $("#page-newer").disabled = state.cursors.length === 1;
  $("#resources tbody").replaceChildren(...page.resources.map((r) => el("tr", {
    class: r.id === state.selected ? "selected" : "", "data-id": r.id,
    onclick: () => { state.selected = r.id; refresh(); },
  },
  el("td", {}, r.vendor), el("td", {}, r.kind), el("td", { class: "id" }, r.id),
  el("td", {}, el("span", { class: statusClass(r.status, r.terminal) }, r.status)),
  el("td", { class: "time" }, iso(r.created)), el("td", {}, stillToCome(r)))));
}

// ---- journal -------------------------------------------------------------------------------------------------

function journalRow(e) {
  const request = e.method + " " + e.path + (e.query ? "?" + e.query : "");
  return el("tr", { class: e.faults.length ? "faulted" : e.status >= 400 || e.status === 0 ? "failed" : "",
    "data-seq": e.seq },
  el("td", {}, String(e.seq)), el("td", { class: "time" }, clockTime(e.time)),
  el("td", {}, (e.vendor || "") + " " + (e.operation || "—")), el("td", { class: "request" }, request),
  el("td", {}, e.status === 0 ? "dropped" : String(e.status)),
  el("td", {}, e.state ? e.state + (e.terminal ? " (terminal)" : "") : ""),
  el("td", {}, ...e.faults.map((f) => el("span", { class: "badge bad" }, f))));
}

function journalQuery() {
  const form = $("#journal-filters");
  return { vendor: form.vendor.value, operation: form.operation.value, status: form.status.value,
    resource: form.resource.value.trim() };
}

async function showJournal() {
  const query = { ...journalQuery(), limit: JOURNAL_ROWS };
  if (state.journalSeq) query.since = state.journalSeq;
  const gen = state.journalGen;
  const { entries, total } = await api("GET", "/journal", { query });
  if (gen !== state.journalGen) return; // the filters or the namespace changed meanwhile
  const body = $("#journal tbody");
  for (const entry of entries) {
    body.prepend(journalRow(entry));
    state.journalSeq = Math.max(state.journalSeq, entry.seq);
  }
  while (body.rows.length > JOURNAL_ROWS) body.lastElementChild.remove();
  if (!query.since) $("#journal-total").textContent = total > JOURNAL_ROWS ? `newest ${JOURNAL_ROWS} of ${total}` : "";
}

function startJournalOver() {
  state.journalSeq = 0;
  state.journalGen += 1;
  $("#journal tbody").replaceChildren();
  $("#journal-total").textContent = "";
}

function restartJournal() {
  startJournalOver();
  refresh();
}

async function showResourceJournal() {
  const box = $("#resource-journal");
  if (!state.selected) { box.hidden = true; return; }
  const { entries } = await api("GET", "/journal", { query: { resource: state.selected, limit: 50 } });
  box.hidden = false;
  box.querySelector("code").textContent = state.selected;
  box.querySelector("tbody").replaceChildren(...entries.reverse().map(journalRow));
}

// ---- faults --------------------------------------------------------------------------------------------------

function describeFault(f) {
  const answers = f.error || (f.status ? "status " + f.status : f.drop ? "drop" : "");
  const when = [f.nth ? "nth " + f.nth.join(",") : "", f.probability !== undefined ? "p=" + f.probability : "",
    f.times ? "≤ " + f.times + "×" : "", f.latency ? "+" + f.latency + " s" : ""].filter(Boolean).join(" ");
  return [answers, when || "every call"];
}

async function showFaults() {
  const { faults } = await api("GET", "/faults");
  $("#faults tbody").replaceChildren(...faults.map((f) => {
    const [answers, when] = describeFault(f);
    return el("tr", { "data-id": f.id },
      el("td", {}, f.id), el("td", {}, (f.vendor || "any vendor") + " " + (f.operation || "any operation")),
      el("td", {}, answers), el("td", {}, when), el("td", {}, String(f.matched)), el("td", {}, String(f.fired)),
      el("td", {}, el("button", { "aria-label": "delete " + f.id, onclick: action(async () => {
        await api("DELETE", "/faults/" + encodeURIComponent(f.id));
        return "deleted " + f.id;
      }) }, "Delete")));
  }));
}

function vendorOf(name) {
  return state.vendors.find((v) => v.name === name);
}

function operationNames(vendor) {
  const chosen = vendor ? [vendorOf(vendor)] : state.vendors;
  return [...new Set(chosen.flatMap((v) => v.operations.filter((op) => op.documented).map((op) => op.name)))];
}

function fillFaultForm() {
  const form = $("#add-fault");
  const vendor = vendorOf(form.vendor.value);
  options(form.operation, operationNames(form.vendor.value), "any operation");
  options(form.error, vendor ? vendor.error_codes : [], null);
}

// ---- set-up --------------------------------------------------------------------------------------------------

async function loadVendors() {
  const { vendors } = await api("GET", "/operations", { namespace: null });
  state.vendors = vendors;
  const names = vendors.map((v) => v.name);
  $("#openapi").append(...names.map((name) => el("a", { href: `${API}/openapi/${name}.json` }, name)));
  options($("#add-fault").vendor, names, null);
  options($("#journal-filters").vendor, names, "every vendor");
  options($("#resource-filters").vendor, names, "every vendor");
  options($("#journal-filters").operation, operationNames(""), "every operation");
  fillFaultForm();
}

async function showAll() {
  try {
    await showNamespaces();
    await Promise.all([showClock(), showResources(), showJournal(), showFaults(), showResourceJournal()]);
  } catch (err) {
    say(err.message, true);
  }
}

// One refresh at a time: a refresh asked for while one runs makes it go round once more.
let polling = null;
let running = null;
let again = false;

async function refresh() {
  if (running) {
    again = true;
    return running;
  }
  clearTimeout(polling);
  running = (async () => {
    do {
      again = false;
      await showAll();
    } while (again);
  })();
  await running;
  running = null;
  document.body.dataset.refreshed = "yes"; // every panel has been filled once (tests and bench/inspector.py)
  polling = setTimeout(refresh, POLL_MS);
}

function fromHash() {
  const found = /^#ns=(.+)$/.exec(location.hash);
  if (found) choose(decodeURIComponent(found[1]));
}

function readFile(input) {
  const file = input.files[0];
  input.value = "";
  return file ? file.text() : Promise.resolve(null);
}

function wire() {
  window.addEventListener("hashchange", () => { fromHash(); refresh(); });
  $("#open-namespace").addEventListener("submit", (e) => {
    e.preventDefault();
    choose(e.target.namespace.value.trim());
    e.target.reset();
    refresh();
  });
  $("#advance").addEventListener("submit", action(async (e) => {
    const clock = await api("POST", "/clock/advance", { body: { seconds: Number(e.target.seconds.value) } });
    return "clock at " + clock.iso;
  }));
  $("#set-clock").addEventListener("submit", action(async (e) => {
    const text = e.target.time.value.trim();
    const clock = await api("POST", "/clock/set", { body: { time: /^[0-9.]+$/.test(text) ? Number(text) : text } });
    return "clock at " + clock.iso;
  }));
  $("#freeze").addEventListener("click", action(async () => "clock " + (await api("POST", "/clock/freeze")).mode));
  $("#realtime").addEventListener("click", action(async () => "clock " + (await api("POST", "/clock/realtime")).mode));
  $("#reset").addEventListener("click", action(async () => {
    await api("POST", "/reset");
    startJournalOver();
    return "reset " + state.ns;
  }));
  $("#export").addEventListener("click", action(async () => {
    const snapshot = await api("GET", "/snapshot");
    const link = el("a", { download: `snapshot-${state.ns}.json`,
      href: URL.createObjectURL(new Blob([JSON.stringify(snapshot)], { type: "application/json" })) });
    document.body.append(link);
    link.click();
    link.remove();
    return "exported " + state.ns;
  }));
  $("#import").addEventListener("change", action(async (e) => {
    const text = await readFile(e.target);
    if (text === null) return null;
    await api("PUT", "/snapshot", { body: text });
    startJournalOver();
    return "imported a snapshot into " + state.ns;
  }));
  $("#scenario").addEventListener("change", action(async (e) => {
    const text = await readFile(e.target);
    if (text === null) return null;
    const own = $("#scenario-own").checked;
    const loaded = await api("POST", "/scenarios", { body: text, contentType: "application/yaml",
      namespace: own ? null : state.ns });
    choose(loaded.namespace);
    startJournalOver();
    return "loaded a scenario into " + loaded.namespace;
  }));
  const faultForm = $("#add-fault");
  faultForm.vendor.addEventListener("change", fillFaultForm);
  faultForm.addEventListener("submit", action(async (e) => {
    const f = e.target;
    const rule = { vendor: f.vendor.value, error: f.error.value };
    if (f.operation.value) rule.operation = f.operation.value;
    if (f.nth.value.trim()) rule.nth = f.nth.value.split(",").map((n) => Number(n.trim()));
    if (f.times.value) rule.times = Number(f.times.value);
    if (f.message.value.trim()) rule.message = f.message.value.trim();
    const added = await api("POST", "/faults", { body: rule });
    for (const input of [f.nth, f.times, f.message]) input.value = "";
    return "added " + added.id;
  }));
  const journalForm = $("#journal-filters");
  journalForm.addEventListener("submit", (e) => e.preventDefault());
  journalForm.vendor.addEventListener("change", () => {
    options(journalForm.operation, operationNames(journalForm.vendor.value), "every operation");
    restartJournal();
  });
  for (const name of ["operation", "status", "resource"]) journalForm[name].addEventListener("change", restartJournal);
  $("#clear-journal").addEventListener("click", action(async () => {
    await api("DELETE", "/journal");
    startJournalOver();
    return "cleared the journal";
  }));
  const resourceForm = $("#resource-filters");
  for (const name of ["vendor", "kind"]) {
    resourceForm[name].addEventListener("change", () => {
      if (name === "vendor") resourceForm.kind.value = "";
      state.cursors = [null];
      refresh();
    });
  }
  $("#page-newest").addEventListener("click", () => { state.cursors = [null]; refresh(); });
  $("#page-newer").addEventListener("click", () => { state.cursors.pop(); refresh(); });
  $("#page-older").addEventListener("click", (e) => { state.cursors.push(e.target.dataset.cursor); refresh(); });
}

async function start() {
  wire();
  fromHash();
  try {
    await loadVendors();
  } catch (err) {
    say(err.message, true);
  }
  await refresh();
}

start();
