// The review page: one grid over the run's queue. Every decision is POSTed
// and written (fsync) by the server before the page shows it, so a closed
// tab or a crashed server loses nothing that was shown as decided.
"use strict";

const state = {
  classes: [],
  items: [],
  byPath: new Map(),
  focus: 0,         // index into visible()
  selected: new Set(),
  hideReviewed: false,
  tokenRequired: false,
  busy: false,
};

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

function token() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem("gam-review-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem("gam-review-token") || "";
}

function say(msg, isError) {
  const s = $("status");
  s.textContent = msg || "";
  s.className = msg ? "show" + (isError ? " error" : "") : "";
}

function visible() {
  return state.hideReviewed ? state.items.filter((it) => !it.decision) : state.items;
}

async function load() {
  const res = await fetch("/api/queue", { cache: "no-store" });
  if (!res.ok) throw new Error("loading the queue: " + res.status + " " + (await res.text()));
  const q = await res.json();
  state.classes = q.classes;
  state.items = q.items;
  state.byPath = new Map(q.items.map((it) => [it.path, it]));
  state.tokenRequired = q.token_required;
  const r = $("reviewer");
  if (!r.value) r.value = localStorage.getItem("gam-review-reviewer") || q.reviewer || "";
  const first = visible().findIndex((it) => !it.decision);
  state.focus = Math.max(0, first);
  render();
}

function fmt(v) { return v === undefined || v === null ? "–" : Number(v).toFixed(2); }

function cardHTML(it) {
  const cond = it.conditions ? Object.keys(it.conditions).join(", ") : "";
  const d = it.decision;
  const badge = !d ? "" : d.decision === "relabel" ? "→ " + d.class : d.decision === "accept" ? "accepted" : "rejected";
  const low = it.screen_prob !== undefined && it.screen_prob < 0.5 ? " screen-low" : "";
  return `<input class="sel" type="checkbox" tabindex="-1" aria-label="select">` +
    `<span class="badge">${esc(badge)}</span>` +
    `<img src="/img/${it.path.split("/").map(encodeURIComponent).join("/")}" alt="${esc(it.class)}" loading="lazy">` +
    `<div class="cls">${esc(it.class)}</div>` +
    `<div class="meta"><span>screen</span><b class="${low}">${fmt(it.screen_prob)}</b>` +
    `<span>conf</span><b>${fmt(it.confidence)}</b>` +
    `<span>target</span><b class="target" title="${esc(it.target || "")}">${esc(it.target || "–")}</b>` +
    (cond ? `<span>cond</span><b>${esc(cond)}</b>` : "") + `</div>`;
}

function render() {
  const grid = $("grid");
  const vis = visible();
  grid.textContent = "";
  if (vis.length === 0) {
    grid.innerHTML = `<div class="empty">${state.items.length ? "everything is reviewed" : "the review queue is empty"}</div>`;
  }
  vis.forEach((it, i) => {
    const c = document.createElement("div");
    c.className = "card";
    c.dataset.path = it.path;
    c.dataset.index = i;
    if (it.decision) c.dataset.decision = it.decision.decision;
    c.innerHTML = cardHTML(it);
    c.addEventListener("click", (e) => {
      if (e.target.classList.contains("sel") || e.shiftKey || e.ctrlKey || e.metaKey) toggle(it.path);
      setFocus(i);
    });
    grid.appendChild(c);
  });
  state.focus = Math.min(state.focus, Math.max(0, vis.length - 1));
  paint();
  progress();
}

// paint updates focus and selection marks without rebuilding the grid.
function paint() {
  document.querySelectorAll(".card").forEach((c) => {
    const i = Number(c.dataset.index);
    c.classList.toggle("focused", i === state.focus);
    const sel = state.selected.has(c.dataset.path);
    c.classList.toggle("selected", sel);
    c.querySelector(".sel").checked = sel;
  });
  $("selected-count").textContent = state.selected.size + " selected";
}

function progress() {
  const total = state.items.length;
  const done = state.items.filter((it) => it.decision).length;
  const counts = { accept: 0, reject: 0, relabel: 0 };
  state.items.forEach((it) => { if (it.decision) counts[it.decision.decision]++; });
  $("progress-text").textContent = `${done} / ${total} reviewed`;
  $("bar-fill").style.width = total ? (100 * done / total).toFixed(1) + "%" : "0";
  $("summary").textContent = `${counts.accept} accepted · ${counts.reject} rejected · ${counts.relabel} relabeled · ${total - done} left`;
}

function setFocus(i) {
  const n = visible().length;
  if (n === 0) return;
  state.focus = Math.max(0, Math.min(n - 1, i));
  paint();
  const c = document.querySelector(`.card[data-index="${state.focus}"]`);
  if (c) c.scrollIntoView({ block: "nearest" });
}

function toggle(path) {
  if (state.selected.has(path)) state.selected.delete(path); else state.selected.add(path);
  paint();
}

function columns() {
  const cards = document.querySelectorAll(".card");
  if (cards.length < 2) return 1;
  const top = cards[0].offsetTop;
  let n = 0;
  for (const c of cards) { if (c.offsetTop !== top) break; n++; }
  return Math.max(1, n);
}

// targets are the selection, else the focused image.
function targets() {
  if (state.selected.size) return [...state.selected];
  const it = visible()[state.focus];
  return it ? [it.path] : [];
}

async function decide(decision, cls) {
  if (state.busy) return;
  const paths = targets();
  if (!paths.length) return;
  const reviewer = $("reviewer").value.trim();
  if (!reviewer) {
    say("Type your name in the reviewer box first: every decision records who made it.", true);
    $("reviewer").focus();
    return;
  }
  localStorage.setItem("gam-review-reviewer", reviewer);
  const headers = { "Content-Type": "application/json" };
  let tok = token();
  if (state.tokenRequired && !tok) {
    tok = prompt("This server needs its review token:") || "";
    sessionStorage.setItem("gam-review-token", tok);
  }
  if (tok) headers["X-Review-Token"] = tok;
  const body = { paths, decision, reviewer };
  if (cls !== undefined) body.class = cls;
  state.busy = true;
  try {
    const res = await fetch("/api/decide", { method: "POST", headers, body: JSON.stringify(body) });
    if (res.status === 401) sessionStorage.removeItem("gam-review-token");
    if (!res.ok) throw new Error(res.status + " " + (await res.text()));
    const out = await res.json();
    for (const d of out.saved) {
      const it = state.byPath.get(d.path);
      if (it) it.decision = d;
    }
    say("");
    const last = state.focus;
    state.selected.clear();
    render();
    nextUndecided(last);
  } catch (e) {
    say("Not saved: " + e.message, true);
  } finally {
    state.busy = false;
  }
}

function nextUndecided(from) {
  const vis = visible();
  for (let k = 0; k < vis.length; k++) {
    const i = (from + k) % vis.length;
    if (!vis[i].decision) { setFocus(i); return; }
  }
  setFocus(from);
}

function openPicker() {
  const paths = targets();
  if (!paths.length) return;
  const intended = new Set(paths.map((p) => state.byPath.get(p).class));
  const box = $("picker-classes");
  box.textContent = "";
  state.classes.forEach((c, i) => {
    const b = document.createElement("button");
    b.dataset.class = c;
    b.innerHTML = (i < 10 ? `<kbd>${i}</kbd> ` : "") + esc(c);
    if (intended.size === 1 && intended.has(c)) b.classList.add("intended");
    b.addEventListener("click", () => { closePicker(); decide("relabel", c); });
    box.appendChild(b);
  });
  $("picker").classList.remove("hidden");
}

function closePicker() { $("picker").classList.add("hidden"); }
function pickerOpen() { return !$("picker").classList.contains("hidden"); }

function onKey(e) {
  if (e.target instanceof HTMLInputElement && e.target.type === "text") {
    if (e.key === "Enter" || e.key === "Escape") e.target.blur();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (pickerOpen()) {
    if (e.key === "Escape") closePicker();
    else if (/^[0-9]$/.test(e.key) && Number(e.key) < state.classes.length) {
      closePicker();
      decide("relabel", state.classes[Number(e.key)]);
    }
    e.preventDefault();
    return;
  }
  const cols = columns();
  switch (e.key) {
    case "a": decide("accept"); break;
    case "A": visible().forEach((it) => state.selected.add(it.path)); paint(); break;
    case "r": decide("reject"); break;
    case "l": openPicker(); break;
    case "h": $("hide-reviewed").click(); break;
    case "ArrowRight": case "j": setFocus(state.focus + 1); break;
    case "ArrowLeft": case "k": setFocus(state.focus - 1); break;
    case "ArrowDown": setFocus(state.focus + cols); break;
    case "ArrowUp": setFocus(state.focus - cols); break;
    case " ": { const it = visible()[state.focus]; if (it) toggle(it.path); break; }
    case "Escape": state.selected.clear(); paint(); break;
    default: return;
  }
  e.preventDefault();
}

function init() {
  token();
  document.addEventListener("keydown", onKey);
  $("btn-accept").addEventListener("click", () => decide("accept"));
  $("btn-reject").addEventListener("click", () => decide("reject"));
  $("btn-relabel").addEventListener("click", openPicker);
  $("btn-select-all").addEventListener("click", () => { visible().forEach((it) => state.selected.add(it.path)); paint(); });
  $("btn-clear").addEventListener("click", () => { state.selected.clear(); paint(); });
  $("hide-reviewed").addEventListener("change", (e) => { state.hideReviewed = e.target.checked; state.focus = 0; render(); });
  $("picker").addEventListener("click", (e) => { if (e.target.id === "picker") closePicker(); });
  // Buttons keep focus after a click; a later space or letter must reach the grid.
  document.querySelectorAll("nav button, nav input").forEach((b) => b.addEventListener("mouseup", () => b.blur()));
  load().then(() => { document.body.dataset.ready = "1"; }).catch((e) => say(e.message, true));
}

init();
