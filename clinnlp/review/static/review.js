// clinnlp review page: plain JavaScript, no library, nothing fetched but this server's API.
"use strict";

const STATUSES = ["present", "negated", "hypothetical", "possible", "historical", "family"];
const LABELS = ["Drug", "Adverse-Effect", "Dose"];
const state = { queue: [], note: null, selected: null };

function $(id) { return document.getElementById(id); }

function say(text) {
  $("message").textContent = text;
  if (text) { setTimeout(() => { if ($("message").textContent === text) $("message").textContent = ""; }, 4000); }
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) { throw new Error(data.error || response.statusText); }
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function showProgress(progress) {
  $("progress").textContent = `${progress.done} of ${progress.total} notes done`;
}

async function loadQueue() {
  const data = await api("/api/queue");
  state.queue = data.notes;
  $("run").textContent = data.run;
  showProgress(data.progress);
  renderQueue();
}

function renderQueue() {
  const list = $("queue");
  list.replaceChildren();
  for (const item of state.queue) {
    const current = state.note && state.note.id === item.id;
    const button = el("button", { type: "button", class: current ? "current" : "", "data-note": item.id,
      onclick: () => openNote(item.id) }, item.id + " ");
    if (item.reports_ade) button.append(el("span", { class: "ade" }, `ADE ${item.events}`));
    if (item.done) button.append(el("span", { class: "done" }, " ✓ done"));
    list.append(el("li", {}, button));
  }
}

async function openNote(id) {
  state.note = await api("/api/notes/" + notePath(id));
  state.selected = null;
  renderNote();
  renderQueue();
}

function notePath(id) { return encodeURIComponent(id).replace(/%2F/g, "/"); }

function sentenceOf(text, start, end) {
  let from = start, to = end;
  while (from > 0 && !/[.!?\n]/.test(text[from - 1])) from--;
  while (to < text.length && !/[.!?\n]/.test(text[to])) to++;
  return [from, Math.min(text.length, to + 1)];
}

function renderNote() {
  const note = state.note;
  $("note-title").textContent = note.id + (note.done ? " (done)" : "");
  $("note-actions").hidden = false;
  $("done").textContent = note.done ? "Reopen note (d)" : "Mark note done (d)";
  const box = $("text");
  box.replaceChildren();
  let at = 0;
  for (const entity of note.entities) {
    if (entity.start < at) continue;
    box.append(document.createTextNode(note.text.slice(at, entity.start)));
    const status = entity.attributes && entity.attributes.assertion;
    const mark = el("mark", {
      class: [entity.label, entity.decision, state.selected === entity.id ? "selected" : ""].join(" "),
      "data-entity": entity.id, "data-start": entity.start, "data-end": entity.end,
      title: `${entity.label}${status ? ", " + status : ""}${entity.decision ? " (" + entity.decision + ")" : ""}`,
      onclick: () => select(entity.id),
    }, note.text.slice(entity.start, entity.end));
    mark.append(el("span", { class: "tag" }, entity.label + (status && status !== "present" ? " · " + status : "")));
    box.append(mark);
    at = entity.end;
  }
  box.append(document.createTextNode(note.text.slice(at)));
  renderEvents();
  renderEntity();
}

function renderEvents() {
  const list = $("events");
  list.replaceChildren();
  const summary = state.note.adverse_drug_events;
  for (const [status, events] of Object.entries(summary)) {
    if (!Array.isArray(events)) continue;
    for (const event of events) {
      const [from, to] = sentenceOf(state.note.text, event.start, event.end);
      const entity = state.note.entities.find((e) => e.start === event.start && e.end === event.end);
      list.append(el("li", {},
        el("button", { type: "button", onclick: () => entity && select(entity.id) }, event.event),
        ` ← ${event.drugs.map((d) => d.text).join(", ")} (${status})`,
        el("div", { class: "sentence" }, state.note.text.slice(from, to).trim())));
    }
  }
  if (!list.children.length) list.append(el("li", { class: "hint" }, "None reported."));
}

function entityById(id) { return state.note.entities.find((e) => e.id === id); }

function select(id) {
  state.selected = id;
  renderNote();
}

function drugsOf(entityId) {
  return state.note.relations.filter((r) => r.tail === entityId && r.label === "Causes").map((r) => r.head);
}

function renderEntity() {
  const box = $("entity");
  box.replaceChildren();
  const entity = state.selected && entityById(state.selected);
  if (!entity) { box.append(el("p", { class: "hint" }, "Click an entity in the note, or press j.")); return; }
  box.append(el("p", {}, el("strong", {}, entity.text), ` (${entity.id}${entity.decision ? ", " + entity.decision : ""})`));
  const label = el("select", { id: "label" });
  for (const name of LABELS) label.append(el("option", name === entity.label ? { value: name, selected: "" } : { value: name }, name));
  box.append(el("label", {}, "Label ", label));
  if (entity.label === "Adverse-Effect") {
    const status = el("select", { id: "status" });
    const current = (entity.attributes && entity.attributes.assertion) || "present";
    for (const name of STATUSES) status.append(el("option", name === current ? { value: name, selected: "" } : { value: name }, name));
    box.append(el("label", {}, "Status ", status));
    const linked = drugsOf(entity.id);
    const drugs = el("fieldset", { id: "drugs" }, el("legend", {}, "Caused by"));
    for (const drug of state.note.entities.filter((e) => e.label === "Drug")) {
      const box2 = el("input", linked.includes(drug.id) ? { type: "checkbox", value: drug.id, checked: "" } : { type: "checkbox", value: drug.id });
      drugs.append(el("label", {}, box2, ` ${drug.text} (${drug.id})`));
    }
    box.append(drugs);
  }
  box.append(el("div", { class: "buttons" },
    el("button", { type: "button", id: "accept", onclick: () => decide({ action: "accept", entity: entity.id }) }, "Accept (a)"),
    el("button", { type: "button", id: "reject", onclick: () => decide({ action: "reject", entity: entity.id }) }, "Reject (r)"),
    el("button", { type: "button", id: "save", onclick: saveEdit }, "Save correction")));
}

function saveEdit() {
  const entity = entityById(state.selected);
  const decision = { action: "edit", entity: entity.id, label: $("label").value };
  if ($("status")) decision.status = $("status").value;
  if ($("drugs")) decision.drugs = [...$("drugs").querySelectorAll("input:checked")].map((i) => i.value);
  decide(decision);
}

async function decide(decision) {
  if (!state.note) return;
  try {
    const note = await api("/api/decisions/" + notePath(state.note.id), { version: state.note.version, ...decision });
    const keep = state.selected;
    state.note = note;
    state.selected = note.entities.some((e) => e.id === keep) ? keep : null;
    if (decision.action === "add") state.selected = newest(note);
    showProgress(note.progress);
    const item = state.queue.find((q) => q.id === note.id);
    if (item) { item.done = note.done; item.version = note.version; }
    renderNote();
    renderQueue();
    say(`Saved: ${decision.action}`);
  } catch (err) {
    say(`Not saved: ${err.message}`);
  }
}

function newest(note) {
  const ids = note.entities.map((e) => parseInt(e.id.slice(1), 10)).filter((n) => !isNaN(n));
  return "T" + Math.max(...ids);
}

function selectedRange() {
  const selection = window.getSelection();
  if (!selection || selection.isCollapsed) return null;
  const box = $("text");
  const range = selection.getRangeAt(0);
  if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return null;
  const offset = (node, at) => {
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    let total = 0;
    while (walker.nextNode()) {
      const current = walker.currentNode;
      if (current.parentNode.classList && current.parentNode.classList.contains("tag")) continue;
      if (current === node) return total + at;
      total += current.textContent.length;
    }
    return total;
  };
  let start = offset(range.startContainer, range.startOffset);
  let end = offset(range.endContainer, range.endOffset);
  const text = state.note.text;
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  return start < end ? [start, end] : null;
}

function addFromSelection(label) {
  const range = selectedRange();
  if (!range) { say("Select the words in the note first"); return; }
  const decision = { action: "add", label, start: range[0], end: range[1] };
  if (label === "Adverse-Effect") decision.status = "present";
  decide(decision);
}

function moveToSelection() {
  const range = selectedRange();
  if (!range || !state.selected) { say("Select an entity, then the words it should cover"); return; }
  decide({ action: "edit", entity: state.selected, start: range[0], end: range[1] });
}

function step(delta, list, current) {
  if (!list.length) return null;
  const at = list.indexOf(current);
  return list[(at + delta + list.length) % list.length];
}

document.addEventListener("keydown", (event) => {
  if (event.target.closest && event.target.closest("select, input, textarea")) return;
  const key = event.key;
  if (!state.note && key !== "]" && key !== "[") return;
  const ids = state.note ? state.note.entities.map((e) => e.id) : [];
  if (key === "j" || key === "k") select(step(key === "j" ? 1 : -1, ids, state.selected));
  else if (key === "a" && state.selected) decide({ action: "accept", entity: state.selected });
  else if (key === "r" && state.selected) decide({ action: "reject", entity: state.selected });
  else if (key === "s" && state.selected && entityById(state.selected).label === "Adverse-Effect") {
    const current = entityById(state.selected).attributes.assertion || "present";
    decide({ action: "edit", entity: state.selected, status: step(1, STATUSES, current) });
  } else if (key === "n") addFromSelection("Adverse-Effect");
  else if (key === "g") addFromSelection("Drug");
  else if (key === "m") moveToSelection();
  else if (key === "d" && state.note) decide({ action: "done", done: !state.note.done });
  else if (key === "]" || key === "[") {
    const next = step(key === "]" ? 1 : -1, state.queue.map((q) => q.id), state.note && state.note.id);
    if (next) openNote(next);
  } else return;
  event.preventDefault();
});

$("add-event").addEventListener("click", () => addFromSelection("Adverse-Effect"));
$("add-drug").addEventListener("click", () => addFromSelection("Drug"));
$("done").addEventListener("click", () => decide({ action: "done", done: !state.note.done }));
loadQueue().catch((err) => say(`Cannot load the notes: ${err.message}`));
