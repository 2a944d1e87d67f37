// Code Security → Repositories: filters, search, columns, page size and cursor paging, all kept in the URL.
import { gql, graphql } from "../api.js";
import { announce, badge, field, h, plural, replace, select, severityBar, when } from "../dom.js";

export const REPOSITORIES = gql`
  query ConsoleRepositories($first: Int, $after: String, $filter: RepositoryFilter) {
    repositories(first: $first, after: $after, filter: $filter) {
      totalCount
      totalCountIsCapped
      pageInfo { hasNextPage endCursor }
      nodes {
        id name project organization visibility webUrl isDisabled excludedReason
        scanStatus scanError lastScannedAt
        findingCounts { critical high medium low info }
      }
    }
  }
`;

export const FILTER_CHOICES = gql`
  query ConsoleRepositoryFilters {
    connections { id organization status statusReason }
    scmProviders { kind name available }
  }
`;

const STATUSES = ["NEVER_SCANNED", "QUEUED", "RUNNING", "SUCCEEDED", "PARTIAL", "FAILED"];
const SIZES = ["2", "10", "25", "50", "100"];
const COLUMNS = {
  name: ["Repository", (r) => h("a", { href: `/repositories/${encodeURIComponent(r.id)}` }, r.name)],
  organization: ["Organization", (r) => r.organization],
  project: ["Project", (r) => r.project],
  visibility: ["Visibility", (r) => r.visibility],
  status: [
    "Scan status",
    (r) => [
      badge(r.scanStatus.replace("_", " "), r.scanStatus.toLowerCase()),
      r.scanError ? h("div", { class: "error-text" }, r.scanError) : null,
      r.excludedReason ? h("div", { class: "muted" }, `Not scanned: ${r.excludedReason}`) : null,
    ],
  ],
  lastScanned: ["Last scanned", (r) => when(r.lastScannedAt)],
  findings: ["Open findings", (r) => severityBar(r.findingCounts)],
};
const DEFAULT_COLUMNS = ["name", "organization", "project", "status", "lastScanned", "findings"];

export function columnsOf(params) {
  const chosen = (params.get("cols") || localStorage.getItem("panoptica.columns") || "").split(",").filter((c) => c in COLUMNS);
  return chosen.length ? chosen : DEFAULT_COLUMNS;
}

function filterOf(params) {
  const filter = {};
  if (params.get("provider")) filter.provider = params.get("provider");
  if (params.get("status")) filter.scanStatus = params.get("status");
  if (params.get("org")) filter.organization = params.get("org");
  if (params.get("visibility")) filter.visibility = params.get("visibility");
  if (params.get("q")) filter.search = params.get("q");
  return filter;
}

function urlWith(_params, changes) {
  // From the address bar as it is now: another change may have navigated since this page was drawn.
  const next = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === "" || value === undefined) next.delete(key);
    else next.set(key, value);
  }
  const query = next.toString();
  return `/repositories${query ? "?" + query : ""}`;
}

export async function render(main, { params, navigate, isCurrent }) {
  const choices = await graphql(FILTER_CHOICES);
  if (!isCurrent()) return;
  const changeFilter = (changes) => navigate(urlWith(params, { ...changes, after: null, prev: null }));
  const organizations = [...new Set(choices.connections.map((c) => c.organization))].sort();
  const search = h("input", { type: "search", name: "q", value: params.get("q") || "", placeholder: "Repository or organization" });
  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => changeFilter({ q: search.value.trim() }), 350);
  });
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter repositories", onsubmit: (e) => { e.preventDefault(); clearTimeout(typing); changeFilter({ q: search.value.trim() }); } },
    field("Search", search),
    field("Provider", select("provider", [["", "All providers"], ...choices.scmProviders.map((p) => [p.kind, p.available ? p.name : `${p.name} (not available yet)`])], params.get("provider") || "", { onchange: (e) => changeFilter({ provider: e.target.value }) })),
    field("Scan status", select("status", [["", "Any status"], ...STATUSES.map((s) => [s, s.replace("_", " ").toLowerCase()])], params.get("status") || "", { onchange: (e) => changeFilter({ status: e.target.value }) })),
    field("Organization", select("org", [["", "All organizations"], ...organizations.map((o) => [o, o])], params.get("org") || "", { onchange: (e) => changeFilter({ org: e.target.value }) })),
    field("Visibility", select("visibility", [["", "Any visibility"], ["private", "private"], ["public", "public"]], params.get("visibility") || "", { onchange: (e) => changeFilter({ visibility: e.target.value }) })),
    field("Page size", select("size", SIZES.map((s) => [s, s]), params.get("size") || "25", { onchange: (e) => changeFilter({ size: e.target.value }) }))
  );
  const degraded = choices.connections.filter((c) => c.status === "DEGRADED" || c.status === "PROOF_REQUIRED");
  const table = h("div", { class: "table-wrap" });
  const refresh = h("button", { type: "button", onclick: () => load() }, "Refresh");
  const columnsButton = h("button", { type: "button", "aria-expanded": "false", "aria-controls": "columns-panel" }, "Columns");
  const panel = columnPanel(params, navigate);
  columnsButton.addEventListener("click", () => {
    const open = panel.hidden;
    panel.hidden = !open;
    columnsButton.setAttribute("aria-expanded", String(open));
  });
  replace(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Repositories"), h("a", { class: "button primary", href: "/add" }, "+ Add Repository")),
    degraded.map((c) =>
      h("div", { class: "notice", role: "alert" }, h("strong", {}, `${c.organization} is ${c.status.replace("_", " ").toLowerCase()}. `), c.statusReason || "", " ", h("a", { href: `/add?connection=${encodeURIComponent(c.id)}` }, "Check the connection"))
    ),
    filters,
    h("div", { class: "toolbar" }, refresh, columnsButton),
    panel,
    table
  );

  async function load() {
    table.setAttribute("aria-busy", "true");
    replace(table, h("p", { class: "loading" }, "Loading repositories…"));
    const first = Number(params.get("size") || 25);
    const data = await graphql(REPOSITORIES, { first, after: params.get("after") || null, filter: filterOf(params) });
    if (!isCurrent()) return;
    table.removeAttribute("aria-busy");
    const page = data.repositories;
    const rows = page.nodes;
    if (!rows.length) {
      const anyFilter = Object.keys(filterOf(params)).length > 0;
      replace(
        table,
        h("div", { class: "empty" }, anyFilter ? h("p", {}, "No repositories match these filters.") : [h("p", {}, "No repositories yet."), h("p", {}, h("a", { href: "/add" }, "Add a repository"), " to connect an Azure DevOps organization.")])
      );
      announce("No repositories");
      return;
    }
    const columns = columnsOf(params);
    const prev = (params.get("prev") || "").split(" ").filter(Boolean);
    const pager = h(
      "nav",
      { class: "pager", "aria-label": "Pages" },
      h("span", {}, `${plural(page.totalCount, "repository", "repositories")}${page.totalCountIsCapped ? " or more" : ""}`),
      h("button", { type: "button", disabled: !params.get("after"), onclick: () => navigate(urlWith(params, { after: prev.at(-1) === "-" ? null : prev.at(-1) || null, prev: prev.slice(0, -1).join(" ") || null })) }, "Previous"),
      h("button", { type: "button", disabled: !page.pageInfo.hasNextPage, onclick: () => navigate(urlWith(params, { after: page.pageInfo.endCursor, prev: [...prev, params.get("after") || "-"].join(" ") })) }, "Next")
    );
    replace(
      table,
      h(
        "table",
        { class: "data" },
        h("caption", { class: "visually-hidden" }, "Repositories"),
        h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, COLUMNS[c][0])))),
        h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => (c === "name" ? h("th", { scope: "row" }, COLUMNS[c][1](r)) : h("td", { dataset: { label: COLUMNS[c][0] } }, COLUMNS[c][1](r)))))))
      ),
      pager
    );
    announce(`${rows.length} of ${page.totalCount} repositories shown`);
  }

  await load();
}

function columnPanel(params, navigate) {
  const columns = columnsOf(params);
  const order = [...columns, ...Object.keys(COLUMNS).filter((c) => !columns.includes(c))];
  const save = (list) => {
    localStorage.setItem("panoptica.columns", list.join(","));
    navigate(urlWith(params, { cols: list.join(",") }), { replaceState: true });
  };
  return h(
    "fieldset",
    { id: "columns-panel", class: "columns", hidden: true },
    h("legend", {}, "Columns"),
    h(
      "ul",
      {},
      order.map((c, i) =>
        h(
          "li",
          {},
          h("label", {}, h("input", { type: "checkbox", checked: columns.includes(c), disabled: c === "name", onchange: (e) => save(order.filter((x) => (x === c ? e.target.checked : columns.includes(x)))) }), ` ${COLUMNS[c][0]}`),
          h("button", { type: "button", class: "small", "aria-label": `Move ${COLUMNS[c][0]} up`, disabled: i === 0, onclick: () => { const list = [...order]; [list[i - 1], list[i]] = [list[i], list[i - 1]]; save(list.filter((x) => columns.includes(x))); } }, "↑"),
          h("button", { type: "button", class: "small", "aria-label": `Move ${COLUMNS[c][0]} down`, disabled: i === order.length - 1, onclick: () => { const list = [...order]; [list[i + 1], list[i]] = [list[i], list[i + 1]]; save(list.filter((x) => columns.includes(x))); } }, "↓")
        )
      )
    )
  );
}
