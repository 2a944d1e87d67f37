// A tiny DOM builder: every value becomes a text node or an attribute, never markup (no innerHTML).
export function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "rect", "line", "polyline", "text", "g", "title", "circle", "path"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "style") Object.assign(el.style, value); // CSSOM, allowed by style-src 'self'
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function announce(text) {
  const region = document.getElementById("announcer");
  if (region) region.textContent = text;
}

export function when(iso) {
  if (!iso) return "never";
  const date = new Date(iso);
  return date.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function plural(count, noun, many) {
  return `${count} ${count === 1 ? noun : many || noun + "s"}`;
}

export const SEVERITIES = ["critical", "high", "medium", "low"];

// A bar of counts by severity, with its numbers as text too (colour is never the only carrier).
export function severityBar(counts) {
  const total = SEVERITIES.reduce((sum, s) => sum + (counts?.[s] || 0), 0);
  const label = SEVERITIES.map((s) => `${counts?.[s] || 0} ${s}`).join(", ");
  if (!total) return h("span", { class: "bar-none" }, "No open findings");
  return h(
    "span",
    { class: "sevbar", role: "img", "aria-label": `Open findings: ${label}` },
    h(
      "span",
      { class: "bar", "aria-hidden": "true" },
      SEVERITIES.filter((s) => counts[s]).map((s) =>
        h("span", { class: `seg ${s}`, style: { flexGrow: String(counts[s]) }, title: `${counts[s]} ${s}` })
      )
    ),
    h(
      "span",
      { class: "bar-counts", "aria-hidden": "true" },
      SEVERITIES.filter((s) => counts[s]).map((s) => h("span", { class: `count ${s}` }, `${s[0].toUpperCase()}${counts[s]}`))
    )
  );
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind || String(text).toLowerCase()}` }, text);
}

export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", {}, hint) : null);
}

export function select(name, options, value, attrs = {}) {
  return h(
    "select",
    { name, ...attrs },
    options.map(([v, text, disabled]) => h("option", { value: v, selected: v === value, disabled }, text))
  );
}
