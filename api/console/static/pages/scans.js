// Scans: "Scan now" per connection, live progress (polled) until the work ends, and the run history.
import { gql, graphql } from "../api.js";
import { announce, badge, h, replace, when } from "../dom.js";

export const SCAN_RUNS = gql`
  query ConsoleScanRuns($first: Int, $after: String, $repositoryId: ID) {
    scanRuns(first: $first, after: $after, repositoryId: $repositoryId) {
      totalCount
      totalCountIsCapped
      pageInfo { hasNextPage endCursor }
      nodes {
        id repositoryId status trigger commit reused error newFindings fixedFindings openFindings createdAt finishedAt
        repository { id name organization }
      }
    }
  }
`;

// What "Scan now" answered, polled until it ends: a repository's run or a connection's scan.
export const SCAN_ACTIVITY = gql`
  query ConsoleScanActivity($id: ID!) {
    node(id: $id) {
      __typename
      ... on ScanRun {
        id status reused error newFindings fixedFindings openFindings finishedAt
        scannerOutcomes { scanner status error }
      }
      ... on ConnectionScan {
        id status phase repositoriesTotal repositoriesDone message finishedAt
        runsByStatus { status count }
        scanners { scanner succeeded failed }
      }
    }
  }
`;

export const SCAN_PAGE = gql`
  query ConsoleScanPage {
    connections { id organization status repositoryCount }
  }
`;

export const SCAN_CONNECTION = gql`
  mutation ConsoleScanConnection($id: ID!) {
    scanConnection(id: $id) {
      __typename
      ... on ScanQueued { alreadyQueued message run { id status } }
      ... on RateLimitedError { code message retryAfterSeconds }
      ... on UserError { code message }
    }
  }
`;

const ACTIVE = ["QUEUED", "RUNNING"];
const POLL_MS = 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Poll what a "Scan now" started (node(id:)) until it has ended; show its progress meanwhile.
export async function followRun(box, runId) {
  for (;;) {
    const { node } = await graphql(SCAN_ACTIVITY, { id: runId });
    if (!node) {
      replace(box, "The scan is no longer listed.");
      return null;
    }
    replace(box, node.__typename === "ConnectionScan" ? connectionLine(node) : runLine(node));
    if (node.finishedAt && !ACTIVE.includes(node.status)) return node;
    await sleep(POLL_MS);
  }
}

function runLine(run) {
  const failed = (run.scannerOutcomes || []).filter((o) => o.status === "FAILED").map((o) => `${o.scanner}: ${o.error}`);
  return h(
    "span",
    {},
    "Scan ",
    badge(run.status, run.status.toLowerCase()),
    ACTIVE.includes(run.status) ? " …" : ` · ${run.newFindings} new, ${run.fixedFindings} fixed, ${run.openFindings} open${run.reused ? " (unchanged commit: reused)" : ""}`,
    (run.scannerOutcomes || []).length ? h("span", { class: "muted" }, ` · ${run.scannerOutcomes.map((o) => `${o.scanner} ${o.status.toLowerCase()}`).join(", ")}`) : null,
    run.error ? h("span", { class: "error-text" }, ` ${run.error}`) : null,
    failed.length ? h("span", { class: "error-text" }, ` ${failed.join("; ")}`) : null
  );
}

function connectionLine(scan) {
  const total = scan.repositoriesTotal;
  const tally = scan.scanners.map((s) => `${s.scanner}: ${s.succeeded} ok${s.failed ? `, ${s.failed} failed` : ""}`).join(" · ");
  return h(
    "span",
    {},
    badge(scan.phase, scan.phase.toLowerCase()),
    total === null ? " Verifying the connection and discovering repositories…" : ` ${scan.repositoriesDone} of ${total} repositories scanned`,
    scan.finishedAt ? [" · ", badge(scan.status, scan.status.toLowerCase()), h("span", { class: "ok-text" }, " Scan finished.")] : " …",
    tally ? h("div", { class: "muted" }, tally) : null,
    scan.message ? h("div", { class: "muted" }, scan.message) : null
  );
}

export function runsTable(runs, names = false) {
  if (!runs.length) return h("p", { class: "empty" }, "No scans yet.");
  return h(
    "table",
    { class: "data runs" },
    h("caption", { class: "visually-hidden" }, "Scan runs"),
    h("thead", {}, h("tr", {}, ["Started", names ? "Repository" : null, "Trigger", "Status", "New", "Fixed", "Open", "Commit"].filter(Boolean).map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      runs.map((r) =>
        h(
          "tr",
          {},
          h("td", {}, when(r.createdAt)),
          names ? h("td", {}, h("a", { href: `/repositories/${encodeURIComponent(r.repositoryId)}` }, r.repository ? `${r.repository.organization} / ${r.repository.name}` : "repository")) : null,
          h("td", {}, r.trigger),
          h("td", {}, badge(r.status, r.status.toLowerCase()), r.error ? h("div", { class: "error-text" }, r.error) : null),
          h("td", {}, String(r.newFindings)),
          h("td", {}, String(r.fixedFindings)),
          h("td", {}, String(r.openFindings)),
          h("td", { class: "code" }, (r.commit || "").slice(0, 8))
        )
      )
    )
  );
}

export async function render(main, { isCurrent }) {
  const data = await graphql(SCAN_PAGE);
  if (!isCurrent()) return;
  const history = h("div", {});
  const loadHistory = async () => {
    const { scanRuns } = await graphql(SCAN_RUNS, { first: 25 });
    replace(
      history,
      scanRuns.totalCount > scanRuns.nodes.length ? h("p", { class: "muted" }, `The ${scanRuns.nodes.length} newest of ${scanRuns.totalCount}${scanRuns.totalCountIsCapped ? "+" : ""} runs.`) : null,
      runsTable(scanRuns.nodes, true)
    );
  };
  replace(
    main,
    h("h1", {}, "Scans"),
    h("h2", {}, "Organizations"),
    data.connections.length
      ? h("ul", { class: "cards" }, data.connections.map((c) => connectionCard(c, loadHistory)))
      : h("p", { class: "empty" }, "No organization is connected yet. ", h("a", { href: "/add" }, "Add repositories")),
    h("h2", {}, "Run history"),
    history
  );
  await loadHistory();
}

function connectionCard(connection, onDone) {
  const progress = h("div", { class: "progress", role: "status", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "primary", disabled: !["CONNECTED", "DEGRADED"].includes(connection.status) }, `Scan ${connection.organization} now`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    const { scanConnection: answer } = await graphql(SCAN_CONNECTION, { id: connection.id });
    if (answer.__typename !== "ScanQueued") {
      replace(progress, h("span", { class: "error-text" }, answer.message));
      button.disabled = false;
      return;
    }
    await followRun(progress, answer.run.id);
    button.disabled = false;
    announce(`Scan of ${connection.organization} finished`);
    await onDone();
  });
  return h("li", { class: "card" }, h("h3", {}, connection.organization), h("p", {}, badge(connection.status, connection.status.toLowerCase()), ` · ${connection.repositoryCount} repositories`), button, progress);
}

