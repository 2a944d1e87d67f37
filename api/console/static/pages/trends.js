// Trends: open findings by severity at the end of each day (stacked), and new / fixed per day, for the
// account or one repository (`findingTrend`); a chart, and the same figures as a table.
import { gql, graphql } from "../api.js";
import { field, h, replace, select } from "../dom.js";

export const TREND = gql`
  query ConsoleTrend($days: Int!, $repositoryId: ID) {
    findingTrend(days: $days, repositoryId: $repositoryId) {
      day newFindings fixedFindings
      open { critical high medium low info }
    }
    repositories(first: 100) { pageInfo { hasNextPage } nodes { id name organization } }
  }
`;

const LEVELS = ["critical", "high", "medium", "low"];

function total(point) {
  return LEVELS.reduce((sum, level) => sum + point.open[level], 0);
}

function chart(points) {
  const width = 720, height = 260, pad = 40;
  const max = Math.max(1, ...points.map((p) => Math.max(total(p), p.newFindings, p.fixedFindings)));
  const step = (width - 2 * pad) / Math.max(1, points.length);
  const y = (v) => height - pad - (v / max) * (height - 2 * pad);
  const bar = Math.max(2, step * 0.6);
  return h(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-labelledby": "chart-title" },
    h("title", { id: "chart-title" }, "Open findings over time by severity, with new and fixed findings per day"),
    h("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis" }),
    h("line", { x1: pad, y1: pad, x2: pad, y2: height - pad, class: "axis" }),
    h("text", { x: 4, y: pad, class: "tick" }, String(max)),
    h("text", { x: 4, y: height - pad, class: "tick" }, "0"),
    points.map((p, i) => {
      const x = pad + i * step + (step - bar) / 2;
      let base = 0;
      const stack = LEVELS.map((level) => {
        const value = p.open[level];
        const rect = h("rect", { x, y: y(base + value), width: bar, height: y(base) - y(base + value), class: `stack ${level}` });
        base += value;
        return rect;
      });
      const label = i % Math.ceil(points.length / 8) === 0 ? h("text", { x: x + bar / 2, y: height - pad + 16, class: "tick", "text-anchor": "middle" }, p.day.slice(5)) : null;
      return [stack, label];
    }),
    h("polyline", { points: points.map((p, i) => `${pad + i * step + step / 2},${y(p.newFindings)}`).join(" "), class: "line-new" }),
    h("polyline", { points: points.map((p, i) => `${pad + i * step + step / 2},${y(p.fixedFindings)}`).join(" "), class: "line-fixed" })
  );
}

export async function render(main, { params, navigate, isCurrent }) {
  const days = Number(params.get("days") || 30);
  const repositoryId = params.get("repository") || null;
  const data = await graphql(TREND, { days, repositoryId });
  if (!isCurrent()) return;
  const points = data.findingTrend;
  const go = (changes) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) (v ? next.set(k, v) : next.delete(k));
    navigate(`/trends?${next}`);
  };
  const repositories = data.repositories.nodes;
  replace(
    main,
    h("h1", {}, "Trends"),
    h(
      "form",
      { class: "filters", "aria-label": "Trend scope" },
      field("Repository", select("repository", [["", "All repositories"], ...repositories.map((r) => [r.id, `${r.organization} / ${r.name}`]), ...(data.repositories.pageInfo.hasNextPage ? [["-", "(the first 100 are listed)", true]] : [])], repositoryId || "", { onchange: (e) => go({ repository: e.target.value }) })),
      field("Days", select("days", [["7", "7 days"], ["30", "30 days"], ["90", "90 days"]], String(days), { onchange: (e) => go({ days: e.target.value }) }))
    ),
    points.some((p) => total(p) || p.newFindings || p.fixedFindings)
      ? h("figure", { class: "trend" }, chart(points), h("figcaption", {}, LEVELS.map((l) => h("span", { class: `key ${l}` }, `Open ${l}`)), h("span", { class: "key new" }, "New per day"), h("span", { class: "key fixed" }, "Fixed per day")))
      : h("p", { class: "empty" }, "No findings in this period yet: trends appear after the first scan."),
    h(
      "table",
      { class: "data" },
      h("caption", {}, "Per day"),
      h("thead", {}, h("tr", {}, ["Day", "Open critical", "Open high", "Open medium", "Open low", "New", "Fixed"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, [...points].reverse().map((p) => h("tr", {}, h("th", { scope: "row" }, p.day), LEVELS.map((l) => h("td", {}, String(p.open[l]))), h("td", {}, String(p.newFindings)), h("td", {}, String(p.fixedFindings)))))
    )
  );
}
