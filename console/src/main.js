// The investigators' console. Views by address (#/applicant/ID, #/rings, #/ring/ID,
// #/path, #/identifier/KIND/VALUE, #/skiptrace/ID), each read from the /v1 API
// with the key signed in with; the key lives in this page's memory only.
import "./app.css";

import { ApiError, client, identifierPath } from "./api.js";
import { h, show, table } from "./dom.js";
import { GraphView } from "./graph.js";

const state = { api: null, me: null, config: null, graph: null, selected: null };
const $ = (id) => document.getElementById(id);
const can = (route) => Boolean(state.me && state.me.routes.includes(route));
const applicantNode = (id) => `applicant:${id}`;
const KINDS = [["applicant", "applicant id"], ["phone", "phone"], ["device", "device"], ["ip", "IP"],
               ["id_number", "identity number"], ["email", "e-mail"]];

function say(message, kind = "error") {
  show($("message"), message ? h("div", { class: `note ${kind}`, role: kind === "error" ? "alert" : "status" }, message) : null);
}

async function guarded(work) {
  try {
    say(null);
    return await work();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signOut("that key is not accepted: sign in again");
    else if (error instanceof ApiError && error.status === 403) say(`not for your role (${state.me.role}): ${error.message}`);
    else say(error instanceof ApiError ? `${error.status}: ${error.message}` : String(error));
    return undefined;
  }
}

// -- signing in -----------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const key = $("key").value.trim();
  $("key").value = "";
  if (!key) return;
  const api = client(key);
  try {
    state.me = await api.get("/v1/me");
  } catch (error) {
    say(error instanceof ApiError && error.status === 401 ? "that key is not accepted" : String(error));
    return;
  }
  state.api = api;
  $("signin").hidden = true;
  $("app").hidden = false;
  $("who").textContent = `${state.me.name} (${state.me.role})`;
  $("nav-rings").hidden = !can("list_rings");
  $("nav-path").hidden = !can("get_paths");
  $("graph-panel").hidden = !can("get_network");
  if (can("get_network") && !state.graph) {
    state.graph = new GraphView($("graph"), state.config, { onSelect: select });
    drawLegend();
  }
  route();
}

function signOut(message) {
  state.api = null;
  state.me = null;
  if (state.graph) state.graph.clear();
  show($("view"));
  $("app").hidden = true;
  $("signin").hidden = false;
  say(message || null, "info");
  if (location.hash) history.replaceState(null, "", "#");
}

// -- search ---------------------------------------------------------------------------

async function search(event) {
  event.preventDefault();
  const kind = $("search-kind").value;
  const value = $("search-value").value.trim();
  if (!value) return;
  location.hash = kind === "applicant" ? `#/applicant/${encodeURIComponent(value)}`
    : `#/identifier/${kind}/${encodeURIComponent(value)}`;
}

async function identifierView(kind, value) {
  const found = await state.api.get(identifierPath(kind, value));
  show($("view"),
    h("h2", {}, `${kind} ${found.value ?? "(identity number, withheld)"}`),
    h("p", { class: "muted" }, found.hub ? `a hub: ${found.degree} holders, not listed (too widely shared to link anyone)`
      : `${found.degree} applicant${found.degree === 1 ? "" : "s"} hold or list it`),
    found.applicants.length ? table([
      ["applicant", (r) => h("a", { href: `#/applicant/${encodeURIComponent(r.applicant_id)}` }, r.applicant_id)],
      ["role", (r) => r.role], ["relation", (r) => r.relation ?? ""],
      ["first seen", (r) => r.first_seen ?? ""], ["last seen", (r) => r.last_seen ?? ""], ["times", (r) => r.count],
    ], found.applicants, { id: "holders" }) : null);
}

// -- one applicant --------------------------------------------------------------------

function evidenceText(evidence) {
  return Object.entries(evidence).filter(([k]) => k !== "steps").map(([k, v]) => {
    const shown = Array.isArray(v) ? v.map((x) => (typeof x === "object" && x !== null ? Object.values(x).map((y) => y ?? "withheld").join(" ") : x)).join(", ")
      : typeof v === "object" && v !== null ? JSON.stringify(v) : v;
    return `${k.replaceAll("_", " ")}: ${shown}`;
  }).join("; ");
}

function reasonsTable(reasons, id) {
  return reasons.length ? table([["reason", (r) => r.code], ["points", (r) => r.points],
    ["evidence", (r) => h("span", {}, evidenceText(r.evidence),
      (r.evidence.steps || []).length ? h("ol", { class: "steps" }, r.evidence.steps.map((s) =>
        h("li", {}, `${s.from} → ${s.to}: ${s.links.join("; ")}`))) : null)]], reasons, { id })
    : h("p", { class: "muted" }, "no reasons: nothing in the graph raised this score");
}

async function applicantView(id) {
  const a = await state.api.get(`/v1/applicants/${encodeURIComponent(id)}`);
  const actions = h("div", { class: "actions" },
    can("get_network") ? h("button", { id: "open-graph", onclick: () => guarded(() => expand(id)) }, "Show in graph") : null,
    can("explain_applicant") ? h("button", { id: "explain", onclick: () => guarded(() => explain(id)) }, "Explain") : null,
    can("get_paths") ? h("a", { class: "button", href: `#/path/${encodeURIComponent(id)}/` }, "Path from here") : null,
    can("skiptrace") ? h("a", { class: "button", id: "open-skiptrace", href: `#/skiptrace/${encodeURIComponent(id)}` }, "Skip-trace") : null);
  show($("view"),
    h("h2", {}, `applicant ${a.applicant_id}`),
    h("p", { id: "score", class: `band band-${a.band || "none"}` },
      a.score === null ? "not scored yet" : `score ${a.score}, band ${a.band}`,
      a.ring_id ? h("span", {}, " · ", can("get_ring") ? h("a", { href: `#/ring/${encodeURIComponent(a.ring_id)}` }, `ring ${a.ring_id}`) : `ring ${a.ring_id}`) : null,
      a.run_id ? h("span", { class: "muted" }, ` · run ${a.run_id}`) : null),
    actions,
    h("h3", {}, "Reasons"), reasonsTable(a.reasons, "reasons"),
    h("div", { id: "explained" }),
    h("h3", {}, "Timeline"),
    table([["when", (e) => e.at ?? "undated"], ["what", (e) => e.event]], a.timeline, { id: "timeline" }),
    h("h3", {}, "Identifiers"),
    table([["kind", (r) => r.kind], ["value", (r) => r.value ?? "withheld"], ["role", (r) => r.role],
           ["relation", (r) => r.relation ?? ""], ["name", (r) => r.name ?? ""],
           ["first seen", (r) => r.first_seen ?? ""], ["last seen", (r) => r.last_seen ?? ""], ["times", (r) => r.count]],
          a.identifiers, { id: "identifiers" }));
  if (can("get_network") && state.graph && state.graph.size() === 0) await expand(id);
}

async function explain(id) {
  const e = await state.api.get(`/v1/applicants/${encodeURIComponent(id)}/explain`);
  show($("explained"), h("h3", {}, `Explained (run ${e.run_id}, consent rules ${e.consent_version})`),
    reasonsTable(e.reasons, "explanation"));
}

// -- the graph ------------------------------------------------------------------------

async function expand(applicantId, { hops = 2, maxNodes = 200 } = {}) {
  const started = performance.now();
  const network = await state.api.get(`/v1/applicants/${encodeURIComponent(applicantId)}/network`,
                                      { hops, max_nodes: maxNodes });
  const added = state.graph.merge(network.elements, applicantNode(applicantId));
  const took = Math.round(performance.now() - started);
  $("graph-status").textContent = `${state.graph.size()} nodes; +${added} from ${applicantId}`
    + `${network.truncated ? " (truncated)" : ""} in ${took} ms`;
  document.body.dataset.expanded = String((Number(document.body.dataset.expanded) || 0) + 1);
  return added;
}

function select(data) {
  state.selected = data;
  const hub = data.hub ? ` — a hub with ${data.degree} holders: counted, not expanded` : "";
  $("selection").textContent = `${data.kind} ${data.label ?? "(withheld)"}${hub}`;
  $("expand").disabled = data.kind !== "applicant" && (data.hub || data.label === null || data.id.includes(":~"));
}

async function expandSelected() {
  const data = state.selected;
  if (!data) return;
  if (data.kind === "applicant") {
    await expand(data.label);
    return;
  }
  if (data.hub) return say("a hub is counted, never expanded", "info");
  const found = await state.api.get(identifierPath(data.kind, data.label));
  for (const holder of found.applicants.slice(0, 20)) if (!state.graph.has(applicantNode(holder.applicant_id))) {
    await expand(holder.applicant_id, { hops: 1 });
  }
}

function drawLegend() {
  show($("legend"), state.graph.legend().map(([name, colour]) =>
    h("span", { class: "key" }, h("i", { class: "swatch", dataset: { colour } }), name)));
  for (const swatch of $("legend").querySelectorAll(".swatch")) swatch.style.background = swatch.dataset.colour;
}

function exportPng() {
  const link = h("a", { href: state.graph.png(), download: "graphsvc-network.png" });
  document.body.append(link);
  link.click();
  link.remove();
}

// -- rings ------------------------------------------------------------------------------

async function ringsView(params) {
  const filters = { min_risk: params.get("min_risk") || "", min_size: params.get("min_size") || "",
                    typology: params.get("typology") || "" };
  const page = await state.api.get("/v1/rings", { limit: 100, ...filters });
  const form = h("form", { id: "ring-filters", onsubmit: (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    location.hash = "#/rings?" + new URLSearchParams([...data.entries()].filter(([, v]) => v));
  } },
  h("label", {}, "min risk ", h("input", { name: "min_risk", type: "number", min: 0, max: 1, step: 0.05, value: filters.min_risk })),
  h("label", {}, "min size ", h("input", { name: "min_size", type: "number", min: 1, value: filters.min_size })),
  h("label", {}, "typology ", h("select", { name: "typology" }, ["", "device_farm", "agent", "cross_listing", "one_subnet", "burst",
    "shared_identifiers"].map((t) => h("option", { value: t, selected: t === filters.typology }, t || "any")))),
  h("button", { type: "submit" }, "Filter"));
  show($("view"), h("h2", {}, `Rings of run ${page.run_id}`), form,
    table([["ring", (r) => h("a", { href: `#/ring/${encodeURIComponent(r.ring_id)}` }, r.ring_id)],
           ["risk", (r) => r.risk.toFixed(2)], ["size", (r) => r.size], ["fraud", (r) => r.fraud],
           ["typology", (r) => r.typologies.join(", ")]], page.items, { id: "rings" }),
    page.next_cursor ? h("p", { class: "muted" }, "showing the 100 riskiest that match") : null);
}

async function ringView(id) {
  const [ring, network] = await Promise.all([state.api.get(`/v1/rings/${encodeURIComponent(id)}`),
                                             state.api.get(`/v1/rings/${encodeURIComponent(id)}/network`)]);
  state.graph.clear();
  state.graph.merge(network.elements, applicantNode(ring.members[0].applicant_id));
  if (state.graph.size() <= 300) state.graph.relayout(); // a ring has no centre: a force layout shows its shape
  $("graph-status").textContent = `ring ${id}: ${state.graph.size()} nodes`;
  show($("view"), h("h2", {}, `ring ${ring.ring_id}`),
    h("p", {}, `risk ${ring.risk.toFixed(2)}, ${ring.size} members, ${ring.fraud} fraud, ${ring.default} default · ${ring.typologies.join(", ")}`),
    h("h3", {}, "Features"),
    table([["feature", ([k]) => k.replaceAll("_", " ")], ["value", ([, v]) => (v === null ? "no evidence" : v)]],
          Object.entries(ring.features), { id: "ring-features" }),
    h("h3", {}, "Members"),
    table([["applicant", (m) => h("a", { href: `#/applicant/${encodeURIComponent(m.applicant_id)}` }, m.applicant_id)],
           ["score", (m) => m.score ?? ""], ["band", (m) => m.band ?? ""]], ring.members, { id: "members" }));
}

// -- paths ------------------------------------------------------------------------------

async function pathView(from, to) {
  const form = h("form", { id: "path-form", onsubmit: (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    location.hash = `#/path/${encodeURIComponent(data.get("from"))}/${encodeURIComponent(data.get("to"))}`;
  } }, h("label", {}, "from ", h("input", { name: "from", value: from, required: true })),
  h("label", {}, "to ", h("input", { name: "to", value: to, required: true })),
  h("button", { type: "submit" }, "Find path"));
  show($("view"), h("h2", {}, "Path between two applicants"), form, h("div", { id: "path-result" }));
  if (!from || !to) return;
  const found = await state.api.get("/v1/paths", { from, to, max_hops: 4 });
  if (!found.found) {
    show($("path-result"), h("p", { id: "no-path" }, `no path within 4 steps${found.truncated ? " (the search was cut short)" : ""}`));
    return;
  }
  show($("path-result"), h("p", {}, `${found.hops} step${found.hops === 1 ? "" : "s"}`),
    h("ol", { id: "path-steps" }, found.steps.map((s) => h("li", {}, `${s.from} → ${s.to}: `,
      s.links.map((l) => `${l.how} ${l.kind} ${l.value ?? "(withheld)"}`).join("; ")))));
  const people = [found.from, ...found.steps.map((s) => s.to)];
  for (const person of people.slice(0, -1)) if (!state.graph.cy.getElementById(applicantNode(person)).hasClass("expanded")) {
    await expand(person, { maxNodes: 100 });
  }
  state.graph.highlight(people.map(applicantNode));
}

// -- skip-trace -------------------------------------------------------------------------

function skiptraceView(id) {
  const form = h("form", { id: "skiptrace-form", onsubmit: (event) => {
    event.preventDefault();
    guarded(() => skiptrace(id, new FormData(event.target).get("purpose").trim()));
  } }, h("label", {}, "purpose of this trace (recorded in the audit trail) ",
    h("input", { name: "purpose", required: true, minlength: 3, maxlength: 200, placeholder: "collections: overdue loan …" })),
  h("button", { type: "submit" }, "Trace"));
  show($("view"), h("h2", {}, `Skip-trace ${id}`),
    h("p", { class: "muted" }, "Own channels may be used to contact the borrower. Third parties may only be asked "
      + "for a way to reach the borrower: never told of the debt."), form, h("div", { id: "skiptrace-result" }));
}

async function skiptrace(id, purpose) {
  const found = await state.api.post("/v1/skiptrace", { applicant_id: id }, { "X-Purpose": purpose });
  const rules = { contact_borrower: "may contact the borrower", ask_for_borrower_only: "ask only for a way to reach the borrower" };
  const cell = (c) => {
    const number = h("span", { class: "phone" }, c.phone);
    if (c.shown !== "masked" || !c.reveal) return number;
    return h("span", {}, number, " ", h("button", { class: "reveal", onclick: (event) => guarded(async () => {
      const shown = await state.api.post("/v1/skiptrace/reveal", { applicant_id: id, reveal: c.reveal }, { "X-Purpose": purpose });
      number.textContent = shown.phone;
      event.target.remove();
    }) }, "reveal"));
  };
  show($("skiptrace-result"), h("p", { class: "muted" }, `purpose: ${found.purpose} · consent rules ${found.consent_version}`),
    table([["rank", (c) => c.rank], ["channel", (c) => (c.channel === "own" ? "own" : "third party")], ["number", cell],
           ["relation", (c) => c.relation ?? ""], ["evidence", (c) => c.evidence], ["confidence", (c) => c.confidence.toFixed(2)],
           ["rule", (c) => rules[c.usage]]], found.candidates, { id: "candidates" }));
}

// -- addresses ----------------------------------------------------------------------------

async function route() {
  if (!state.api) return;
  const hash = location.hash;
  const [path, query] = hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  document.body.dataset.view = parts[0] || "home";
  await guarded(async () => {
    if (parts[0] === "applicant" && parts[1]) await applicantView(parts[1]);
    else if (parts[0] === "identifier" && parts[2]) await identifierView(parts[1], parts[2]);
    else if (parts[0] === "rings") await ringsView(params);
    else if (parts[0] === "ring" && parts[1]) await ringView(parts[1]);
    else if (parts[0] === "path") await pathView(parts[1] || "", parts[2] || "");
    else if (parts[0] === "skiptrace" && parts[1]) skiptraceView(parts[1]);
    else show($("view"), h("p", { class: "muted" }, "Search for an applicant, a phone, a device, an IP or an identity number."));
  });
  document.body.dataset.rendered = hash; // the address whose view is drawn (tests and benchmarks wait for it)
}

async function start() {
  state.config = await (await fetch("/ui/config.json", { cache: "no-store" })).json();
  show($("search-kind"), KINDS.map(([value, name]) => h("option", { value }, name)));
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut("signed out"));
  $("search").addEventListener("submit", search);
  $("expand").addEventListener("click", () => guarded(expandSelected));
  $("pin").addEventListener("click", () => state.selected && state.graph.pin(state.selected.id));
  $("hide").addEventListener("click", () => state.selected && state.graph.hide(state.selected.id));
  $("undo").addEventListener("click", () => state.graph.undo());
  $("relayout").addEventListener("click", () => state.graph.relayout());
  $("png").addEventListener("click", exportPng);
  window.addEventListener("hashchange", route);
  document.body.dataset.started = "yes";
  // for the browser tests and benchmarks/console.py: the state, and one expansion timed to the next painted frame
  window.graphsvcConsole = Object.assign(state, {
    async timedExpand(id) {
      const started = performance.now();
      await expand(id);
      await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
      return performance.now() - started;
    },
  });
}

start();
