// Findings across repositories: filters (severity, category, status, scanner, repository, for CODE findings CWE
// and language, for secrets found in git history only-in-history or still-in-the-head) and search, kept in the
// URL; cursor paging.
import { gql, graphql } from "../api.js";
import { badge, field, h, plural, replace, select, when } from "../dom.js";

export const FINDINGS = gql`
  query ConsoleFindings($first: Int, $after: String, $filter: FindingFilter) {
    findings(first: $first, after: $after, filter: $filter) {
      totalCount
      totalCountIsCapped
      pageInfo { hasNextPage endCursor }
      nodes {
        id scanner ruleId title message severity category path line status firstSeenAt webUrl cwe owasp inHistoryOnly
        repository { id name organization project }
      }
    }
  }
`;

export const FINDING_CHOICES = gql`
  query ConsoleFindingChoices {
    repositories(first: 100) { pageInfo { hasNextPage } nodes { id name organization project } }
  }
`;

const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"];
const CATEGORIES = ["SECRET", "IAC", "PIPELINE", "DEPENDENCY", "POSTURE", "CODE"];
const SCANNERS = ["secrets", "history", "checkov", "pipelines", "dependencies", "posture", "semgrep"];
// FindingFilter.inHistoryOnly, as the URL's `history`: secrets found in git history, gone from or still in the head.
const HISTORY = [["", "Any"], ["only", "Only in history"], ["head", "Still in the head"]];
const LANGUAGES = [["CSHARP", "C#"], ["JAVA", "Java"], ["JAVASCRIPT", "JavaScript / TypeScript"], ["PYTHON", "Python"], ["GO", "Go"]];
// What the API accepts ("CWE-89" or "89"): the browser refuses anything else before it is sent.
const CWE_PATTERN = "\\s*([Cc][Ww][Ee]-)?[0-9]{1,6}\\s*";
const STATUSES = ["OPEN", "REOPENED", "SUPPRESSED", "FIXED"];

function filterOf(params) {
  const filter = {};
  if (params.get("severity")) filter.minSeverity = params.get("severity");
  if (params.get("category")) filter.category = params.get("category");
  if (params.get("scanner")) filter.scanner = params.get("scanner");
  if (params.get("status")) filter.statuses = [params.get("status")];
  if (params.get("repository")) filter.repositoryId = params.get("repository");
  if (params.get("q")) filter.search = params.get("q");
  if (params.get("cwe")) filter.cwe = params.get("cwe");
  if (params.get("language")) filter.language = params.get("language");
  if (params.get("history") === "only") filter.inHistoryOnly = true;
  if (params.get("history") === "head") filter.inHistoryOnly = false;
  return filter;
}

export async function render(main, { params, navigate, isCurrent }) {
  const choices = await graphql(FINDING_CHOICES);
  if (!isCurrent()) return;
  const repositories = choices.repositories.nodes;
  const more = choices.repositories.pageInfo.hasNextPage;
  const names = new Map(repositories.map((r) => [r.id, `${r.organization} / ${r.project} / ${r.name}`]));
  const go = (changes) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) (v ? next.set(k, v) : next.delete(k));
    next.delete("after");
    navigate(`/findings?${next}`);
  };
  const search = h("input", { type: "search", name: "q", value: params.get("q") || "", placeholder: "CVE, package, rule, path, title" });
  const cwe = h("input", { type: "text", name: "cwe", value: params.get("cwe") || "", placeholder: "CWE-89", pattern: CWE_PATTERN, size: 9, title: "A CWE id: CWE-89 or 89" });
  const change = (name) => (e) => go({ [name]: e.target.value });
  const data = await graphql(FINDINGS, { first: 50, after: params.get("after") || null, filter: filterOf(params) });
  if (!isCurrent()) return;
  const rows = data.findings.nodes;
  replace(
    main,
    h("h1", {}, "Findings"),
    h(
      "form",
      { class: "filters", role: "search", "aria-label": "Filter findings", onsubmit: (e) => { e.preventDefault(); go({ q: search.value.trim(), cwe: cwe.value.trim() }); } },
      field("Search", search),
      field("Minimum severity", select("severity", [["", "Any severity"], ...SEVERITIES.map((s) => [s, s.toLowerCase()])], params.get("severity") || "", { onchange: change("severity") })),
      field("Category", select("category", [["", "Any category"], ...CATEGORIES.map((c) => [c, c.toLowerCase()])], params.get("category") || "", { onchange: change("category") })),
      field("Status", select("status", [["", "Open and reopened"], ...STATUSES.map((s) => [s, s.toLowerCase()])], params.get("status") || "", { onchange: change("status") })),
      field("Scanner", select("scanner", [["", "Any scanner"], ...SCANNERS.map((s) => [s, s])], params.get("scanner") || "", { onchange: change("scanner") })),
      field("CWE (code)", cwe),
      field("Language (code)", select("language", [["", "Any language"], ...LANGUAGES], params.get("language") || "", { onchange: change("language") })),
      field("Git history (secrets)", select("history", HISTORY, params.get("history") || "", { onchange: change("history") })),
      field("Repository", select("repository", [["", "All repositories"], ...repositories.map((r) => [r.id, names.get(r.id)]), ...(more ? [["-", "(the first 100 are listed: open a repository from Repositories for the others)", true]] : [])], params.get("repository") || "", { onchange: change("repository") })),
      h("button", { type: "submit" }, "Search")
    ),
    rows.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data" },
            h("caption", { class: "visually-hidden" }, "Findings"),
            h("thead", {}, h("tr", {}, ["Severity", "Finding", "Repository", "Location", "Status", "First seen"].map((t) => h("th", { scope: "col" }, t)))),
            h(
              "tbody",
              {},
              rows.map((f) =>
                h(
                  "tr",
                  {},
                  h("td", {}, badge(f.severity, f.severity.toLowerCase())),
                  h("th", { scope: "row" }, f.title, " ", historyBadge(f), h("div", { class: "code" }, `${f.scanner} · ${f.ruleId}`), taxonomy(f), h("div", { class: "muted" }, f.message)),
                  h("td", {}, f.repository ? h("a", { href: `/repositories/${encodeURIComponent(f.repository.id)}?file=${encodeURIComponent(f.path)}` }, `${f.repository.organization} / ${f.repository.project} / ${f.repository.name}`) : "project-wide"),
                  h("td", { class: "code" }, f.path ? (f.webUrl ? h("a", { href: f.webUrl, target: "_blank", rel: "noopener" }, `${f.path}${f.line ? ":" + f.line : ""}`) : `${f.path}${f.line ? ":" + f.line : ""}`) : "—"),
                  h("td", {}, f.status.toLowerCase()),
                  h("td", {}, when(f.firstSeenAt))
                )
              )
            )
          ),
          h(
            "nav",
            { class: "pager", "aria-label": "Pages" },
            h("span", {}, `${plural(data.findings.totalCount, "finding")}${data.findings.totalCountIsCapped ? " or more" : ""}`),
            params.get("after") ? h("button", { type: "button", onclick: () => history.back() }, "Previous") : null,
            h("button", { type: "button", disabled: !data.findings.pageInfo.hasNextPage, onclick: () => { const n = new URLSearchParams(params); n.set("after", data.findings.pageInfo.endCursor); navigate(`/findings?${n}`); } }, "Next")
          )
        )
      : h("div", { class: "empty" }, h("p", {}, "No findings match."))
  );
}

// A CODE finding's CWE ids (each linked to MITRE's definition) and OWASP Top 10 category; nothing for others.
export function taxonomy(f) {
  if (!f.cwe.length && !f.owasp) return null;
  const links = f.cwe.map((id, i) => [i ? ", " : "", h("a", { href: `https://cwe.mitre.org/data/definitions/${encodeURIComponent(id.replace(/^CWE-/, ""))}.html`, target: "_blank", rel: "noopener" }, id)]);
  return h("div", { class: "muted" }, ...links, f.cwe.length && f.owasp ? " · " : "", f.owasp ? `OWASP ${f.owasp}` : "");
}

// A secret found in git history: whether a file at the default branch's head still holds it. Either way it was
// published, so both say so in words (colour is never the only carrier); nothing for other findings.
export function historyBadge(f) {
  if (f.inHistoryOnly === null || f.inHistoryOnly === undefined) return null;
  return f.inHistoryOnly ? badge("Only in history", "history-only") : badge("In head", "in-head");
}
