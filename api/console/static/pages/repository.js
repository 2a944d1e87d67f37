// One repository: files with findings on the left, the chosen file's findings on the right (suppress and
// unsuppress with a reason and an expiry; a secret found in git history with its occurrences), "Scan now" with
// the run's progress, the git history scan (and where it stopped), and the run history.
import { gql, graphql } from "../api.js";
import { announce, badge, field, h, replace, when } from "../dom.js";
import { historyBadge, taxonomy } from "./findings.js";
import { followRun, runsTable } from "./scans.js";

// The page: the repository, its files with findings (the tree), its runs; then the chosen file's findings.
export const REPOSITORY_PAGE = gql`
  query ConsoleRepository($id: ID!, $statuses: [FindingStatus!]) {
    repository(id: $id) {
      id name organization project webUrl defaultBranch scanStatus scanError lastScannedAt
      findingCounts { critical high medium low info }
      historyScan { commitsScanned lastRunCommits stoppedAtBound reason lastCommit lastCommitAt unreachableCommits note scannedAt }
      findingFiles(filter: { statuses: $statuses }) {
        truncated
        files { path counts { critical high medium low info } }
      }
      scanRuns(first: 10) {
        nodes { id repositoryId status trigger commit reused error newFindings fixedFindings openFindings createdAt finishedAt }
      }
    }
  }
`;

export const FILE_FINDINGS = gql`
  query ConsoleFileFindings($id: ID!, $statuses: [FindingStatus!], $path: String!, $after: String) {
    repository(id: $id) {
      id
      findings(first: 100, after: $after, filter: { statuses: $statuses, path: $path }) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes {
          id scanner ruleId title message description remediation severity category path line
          preview commit status suppressedReason suppressedUntil firstSeenAt webUrl cwe owasp inHistoryOnly
          occurrences { commit path line committedAt authorName inHead reachable }
        }
      }
    }
  }
`;

export const SUPPRESS = gql`
  mutation ConsoleSuppress($id: ID!, $reason: String!, $until: DateTime) {
    suppressFinding(id: $id, reason: $reason, until: $until) {
      __typename
      ... on FindingSuccess { finding { id status suppressedReason suppressedUntil } }
      ... on UserError { code message }
    }
  }
`;

export const UNSUPPRESS = gql`
  mutation ConsoleUnsuppress($id: ID!) {
    unsuppressFinding(id: $id) {
      __typename
      ... on FindingSuccess { finding { id status } }
      ... on UserError { code message }
    }
  }
`;

export const SCAN_REPOSITORY = gql`
  mutation ConsoleScanRepository($id: ID!) {
    scanRepository(id: $id) {
      __typename
      ... on ScanQueued { alreadyQueued message run { id status createdAt } }
      ... on RateLimitedError { code message retryAfterSeconds }
      ... on UserError { code message }
    }
  }
`;

const ORDER = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3, INFO: 4 };

export async function render(main, { id, params, navigate, isCurrent }) {
  const showSuppressed = params.get("suppressed") === "1";
  const statuses = showSuppressed ? ["OPEN", "REOPENED", "SUPPRESSED"] : ["OPEN", "REOPENED"];
  const data = await graphql(REPOSITORY_PAGE, { id, statuses });
  if (!isCurrent()) return;
  const repo = data.repository;
  if (!repo) return replace(main, h("h1", {}, "Not found"), h("p", {}, "This repository does not exist or is not yours."));
  const files = new Map(repo.findingFiles.files.map((f) => [f.path, f.counts]));
  const paths = [...files.keys()].sort();
  const chosen = params.get("file") && files.has(params.get("file")) ? params.get("file") : paths[0];
  const runs = repo.scanRuns.nodes;
  // Every finding of the chosen file, page after page (complete, however many).
  const findings = [];
  for (let after = null, more = Boolean(chosen); more; ) {
    const page = (await graphql(FILE_FINDINGS, { id, statuses, path: chosen, after })).repository.findings;
    findings.push(...page.nodes);
    more = page.pageInfo.hasNextPage;
    after = page.pageInfo.endCursor;
  }
  if (!isCurrent()) return;
  const count = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
  const total = [...files.values()].reduce((sum, counts) => sum + count(counts), 0);
  const progress = h("div", { class: "progress", role: "status", "aria-live": "polite" });
  const scan = h("button", { type: "button", class: "primary" }, "Scan now");
  scan.addEventListener("click", async () => {
    scan.disabled = true;
    const { scanRepository: answer } = await graphql(SCAN_REPOSITORY, { id });
    if (answer.__typename !== "ScanQueued") {
      replace(progress, h("span", { class: "error-text" }, answer.message));
      scan.disabled = false;
      return;
    }
    await followRun(progress, answer.run.id);
    scan.disabled = false;
    announce("Scan finished");
  });
  const link = (path) => {
    const next = new URLSearchParams(params);
    next.set("file", path);
    return `/repositories/${encodeURIComponent(id)}?${next}`;
  };
  const toggle = new URLSearchParams(params);
  if (showSuppressed) toggle.delete("suppressed");
  else toggle.set("suppressed", "1");
  replace(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "/repositories" }, "Repositories"), " / ", h("a", { href: `/repositories?org=${encodeURIComponent(repo.organization)}` }, repo.organization), ` / ${repo.project}`),
    h("div", { class: "page-head" }, h("h1", {}, repo.name), h("div", {}, scan)),
    h("p", { class: "muted" }, "Last scanned ", when(repo.lastScannedAt), " · ", h("a", { href: repo.webUrl, target: "_blank", rel: "noopener" }, "Open in Azure DevOps"), repo.scanError ? h("span", { class: "error-text" }, ` · ${repo.scanError}`) : null),
    progress,
    historyScan(repo.historyScan),
    h("p", {}, `${total} ${showSuppressed ? "open or suppressed" : "open"} findings in ${paths.length} files${repo.findingFiles.truncated ? " (only the first 2,000 files are listed)" : ""}. `, h("a", { href: `/repositories/${encodeURIComponent(id)}?${toggle}` }, showSuppressed ? "Hide suppressed" : "Show suppressed too")),
    paths.length
      ? h(
          "div",
          { class: "split" },
          h(
            "nav",
            { class: "tree", "aria-label": "Files with findings" },
            h("h2", {}, "Files"),
            fileTree(paths, files, chosen, link, count)
          ),
          h("section", { class: "file-findings", "aria-labelledby": "file-title" }, h("h2", { id: "file-title" }, chosen), findings.sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || (a.line || 0) - (b.line || 0)).map((f) => findingCard(f, () => render(main, { id, params, navigate, isCurrent }))))
        )
      : h("div", { class: "empty" }, h("p", {}, runs.length ? "No open findings in this repository." : "This repository has not been scanned yet: press Scan now.")),
    h("h2", {}, "Scan history"),
    runsTable(runs)
  );
}

// The git history scan in one line: how many commits were read, and what stopped it before the beginning.
function historyScan(scan) {
  if (!scan) return h("p", { class: "muted history-scan" }, "Git history: not scanned yet.");
  const oldest = scan.lastCommit ? ` · oldest commit read ${scan.lastCommit.slice(0, 12)} (${when(scan.lastCommitAt)})` : "";
  return h(
    "div",
    { class: "history-scan", role: "group", "aria-label": "Git history scan" },
    // A first history scan stopped by a limit has read nothing yet: only its reason below.
    h("p", { class: "muted" }, scan.scannedAt ? `Git history: ${scan.commitsScanned.toLocaleString("en")} commits scanned${oldest} · last scan ${when(scan.scannedAt)}: ${scan.note}` : "Git history: not scanned yet."),
    scan.reason ? h("p", { class: "notice", role: "note" }, scan.stoppedAtBound ? "Stopped at the bound: " : "Stopped: ", scan.reason) : null
  );
}

// Where a secret found in git history was added: each commit, file and line, when and who (as git records it).
function occurrencesTable(f) {
  if (!f.occurrences?.length) return null;
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data occurrences" },
      h("caption", { class: "visually-hidden" }, `Occurrences of ${f.title}`),
      h("thead", {}, h("tr", {}, ["Commit", "File", "Line", "Date", "Author", "Where"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        f.occurrences.map((o) =>
          h(
            "tr",
            {},
            h("td", { class: "code", title: o.commit }, o.commit.slice(0, 12)),
            h("td", { class: "code" }, o.path),
            h("td", {}, o.line ?? "—"),
            h("td", {}, when(o.committedAt)),
            h("td", {}, o.authorName),
            h("td", {}, o.inHead ? "still in the head" : "only in history", o.reachable ? "" : " (rewritten away)")
          )
        )
      )
    )
  );
}

function fileTree(paths, files, chosen, link, count) {
  // Folders as nested lists, files as links with their counts; the chosen one is aria-current.
  const root = { dirs: new Map(), files: [] };
  for (const path of paths) {
    const parts = path.split("/");
    let node = root;
    for (const dir of parts.slice(0, -1)) {
      if (!node.dirs.has(dir)) node.dirs.set(dir, { dirs: new Map(), files: [] });
      node = node.dirs.get(dir);
    }
    node.files.push([parts.at(-1), path]);
  }
  const list = (node) =>
    h(
      "ul",
      {},
      [...node.dirs.entries()].map(([name, child]) => h("li", { class: "dir" }, h("span", { class: "dirname" }, `${name}/`), list(child))),
      node.files.map(([name, path]) =>
        h("li", {}, h("a", { href: link(path), "aria-current": path === chosen ? "true" : null }, name, " ", h("span", { class: "count-pill" }, String(count(files.get(path))))))
      )
    );
  return list(root);
}

function findingCard(f, reload) {
  const error = h("p", { class: "error-text", role: "alert" });
  const suppressed = f.status === "SUPPRESSED";
  const reason = h("input", { name: "reason", required: true, maxlength: 500 });
  const until = h("input", { name: "until", type: "date" });
  const form = h(
    "form",
    {
      class: "suppress",
      hidden: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const answer = (await graphql(SUPPRESS, { id: f.id, reason: reason.value.trim(), until: until.value ? `${until.value}T00:00:00+00:00` : null })).suppressFinding;
        if (answer.__typename !== "FindingSuccess") error.textContent = answer.message;
        else {
          announce("Finding suppressed");
          reload();
        }
      },
    },
    field("Reason", reason),
    field("Until (optional)", until, "The suppression lifts itself on that day."),
    h("button", { type: "submit" }, "Suppress finding"),
    error
  );
  const action = suppressed
    ? h("button", {
        type: "button",
        onclick: async () => {
          const answer = (await graphql(UNSUPPRESS, { id: f.id })).unsuppressFinding;
          if (answer.__typename !== "FindingSuccess") error.textContent = answer.message;
          else {
            announce("Suppression lifted");
            reload();
          }
        },
      }, "Unsuppress")
    : h("button", { type: "button", "aria-expanded": "false", onclick: (e) => { form.hidden = !form.hidden; e.target.setAttribute("aria-expanded", String(!form.hidden)); if (!form.hidden) reason.focus(); } }, "Suppress…");
  const location = f.line ? `line ${f.line}` : "whole file";
  return h(
    "article",
    { class: `finding ${f.severity.toLowerCase()}`, "aria-label": `${f.severity} ${f.title}` },
    h("header", {}, badge(f.severity, f.severity.toLowerCase()), " ", h("strong", {}, f.title), " ", h("span", { class: "code" }, f.ruleId), " ", historyBadge(f), " ", suppressed ? badge("SUPPRESSED", "suppressed") : null),
    h("p", {}, f.message),
    taxonomy(f),
    f.preview ? h("p", { class: "code" }, `Value: ${f.preview}`) : null,
    h("p", { class: "muted" }, `${f.scanner} · ${f.category} · ${location}`, f.webUrl ? [" · ", h("a", { href: f.webUrl, target: "_blank", rel: "noopener" }, f.line ? `Line ${f.line} in Azure DevOps` : "Open in Azure DevOps")] : null, ` · first seen ${when(f.firstSeenAt)}`),
    suppressed ? h("p", { class: "muted" }, `Suppressed: ${f.suppressedReason}${f.suppressedUntil ? ` (until ${when(f.suppressedUntil)})` : ""}`) : null,
    occurrencesTable(f),
    // A secret in history is fixed only by rotating it: its remediation is open, not behind a click.
    f.remediation ? h("details", { open: f.occurrences?.length > 0 }, h("summary", {}, "How to fix"), h("p", {}, f.remediation)) : null,
    h("div", { class: "actions" }, action),
    form,
    suppressed ? error : null
  );
}
