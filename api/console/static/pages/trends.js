// Trends from stored scan runs: open findings over time (each repository's latest run as of each day,
// summed) and new/fixed per day. A chart, and the same figures as a table.
import { gql, graphql } from "../api.js";
import { h, replace } from "../dom.js";

export const TREND_RUNS = gql`
  query ConsoleTrendRuns($after: String) {
    scanRuns(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id repositoryId status newFindings fixedFindings openFindings createdAt finishedAt }
    }
  }
`;

const MAX_PAGES = 10;

async function allRuns() {
  const runs = [];
  let after = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { scanRuns } = await graphql(TREND_RUNS, { after });
    runs.push(...scanRuns.nodes);
    if (!scanRuns.pageInfo.hasNextPage) break;
    after = scanRuns.pageInfo.endCursor;
  }
  return runs.filter((r) => r.finishedAt && (r.status === "SUCCEEDED" || r.status === "PARTIAL"));
}

export function daily(runs) {
  const days = new Map();
  const sorted = [...runs].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  const latest = new Map();
  for (const run of sorted) {
    const day = run.finishedAt.slice(0, 10);
    latest.set(run.repositoryId, run.openFindings);
    const entry = days.get(day) || { day, newFindings: 0, fixedFindings: 0, open: 0 };
    entry.newFindings += run.newFindings;
    entry.fixedFindings += run.fixedFindings;
    entry.open = [...latest.values()].reduce((a, b) => a + b, 0);
    days.set(day, entry);
  }
  return [...days.values()];
}

function chart(points) {
  const width = 640, height = 220, pad = 36;
  const max = Math.max(1, ...points.map((p) => Math.max(p.open, p.newFindings, p.fixedFindings)));
  const step = points.length > 1 ? (width - 2 * pad) / (points.length - 1) : 0;
  const x = (i) => pad + (points.length > 1 ? i * step : (width - 2 * pad) / 2);
  const y = (v) => height - pad - (v / max) * (height - 2 * pad);
  const barWidth = Math.max(4, Math.min(24, step / 3 || 24));
  return h(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-labelledby": "chart-title" },
    h("title", { id: "chart-title" }, "Open findings over time, with new and fixed findings per day"),
    h("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis" }),
    h("line", { x1: pad, y1: pad, x2: pad, y2: height - pad, class: "axis" }),
    h("text", { x: 4, y: pad, class: "tick" }, String(max)),
    h("text", { x: 4, y: height - pad, class: "tick" }, "0"),
    points.map((p, i) => [
      h("rect", { x: x(i) - barWidth, y: y(p.newFindings), width: barWidth, height: height - pad - y(p.newFindings), class: "bar-new" }),
      h("rect", { x: x(i), y: y(p.fixedFindings), width: barWidth, height: height - pad - y(p.fixedFindings), class: "bar-fixed" }),
      h("text", { x: x(i), y: height - pad + 16, class: "tick", "text-anchor": "middle" }, p.day.slice(5)),
    ]),
    h("polyline", { points: points.map((p, i) => `${x(i)},${y(p.open)}`).join(" "), class: "line-open" }),
    points.map((p, i) => h("circle", { cx: x(i), cy: y(p.open), r: 4, class: "dot-open" }))
  );
}

export async function render(main, { isCurrent }) {
  const runs = await allRuns();
  if (!isCurrent()) return;
  const points = daily(runs);
  replace(
    main,
    h("h1", {}, "Trends"),
    points.length
      ? [
          h("figure", { class: "trend" }, chart(points), h("figcaption", {}, h("span", { class: "key open" }, "Open findings"), h("span", { class: "key new" }, "New per day"), h("span", { class: "key fixed" }, "Fixed per day"))),
          h(
            "table",
            { class: "data" },
            h("caption", {}, "Per day"),
            h("thead", {}, h("tr", {}, ["Day", "Open findings", "New", "Fixed"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, points.map((p) => h("tr", {}, h("th", { scope: "row" }, p.day), h("td", {}, String(p.open)), h("td", {}, String(p.newFindings)), h("td", {}, String(p.fixedFindings)))))
          ),
        ]
      : h("p", { class: "empty" }, "No finished scans yet: trends appear after the first scan.")
  );
}
