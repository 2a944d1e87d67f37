// CI/CD posture per connection: the summary, each project's results, failing controls with their rationale
// and remediation, and NOT_EVALUATED results with what Azure DevOps refused.
import { gql, graphql } from "../api.js";
import { badge, h, replace, when } from "../dom.js";

export const POSTURE_CONNECTIONS = gql`
  query ConsolePostureConnections { connections { id organization status } }
`;

export const POSTURE = gql`
  query ConsolePosture($id: ID!, $after: String) {
    connection(id: $id) { id organization status }
    postureChecks(connectionId: $id, first: 50, after: $after) {
      repositoriesPageInfo { hasNextPage endCursor }
      latestRun { id status error createdAt finishedAt }
      summary { passed failed notEvaluated failedBySeverity { critical high medium low info } }
      projects {
        projectId name
        results { status reason resourceType resourceName control { id title severity rationale remediation helpUri } }
      }
      repositories {
        repositoryId name projectName
        results { status reason resourceType resourceName control { id title severity rationale remediation helpUri } }
      }
    }
  }
`;

export const EVALUATE = gql`
  mutation ConsoleEvaluatePosture($id: ID!) {
    evaluatePosture(connectionId: $id) {
      __typename
      ... on PostureQueued { alreadyQueued message run { id status } }
      ... on RateLimitedError { code message retryAfterSeconds }
      ... on UserError { code message }
    }
  }
`;

export async function render(main, { id, params, navigate, isCurrent }) {
  if (!id) {
    const { connections } = await graphql(POSTURE_CONNECTIONS);
    if (!isCurrent()) return;
    if (connections.length === 1) return navigate(`/posture/${encodeURIComponent(connections[0].id)}`, { replaceState: true });
    replace(
      main,
      h("h1", {}, "CI/CD posture"),
      connections.length
        ? h("ul", {}, connections.map((c) => h("li", {}, h("a", { href: `/posture/${encodeURIComponent(c.id)}` }, c.organization), ` (${c.status.toLowerCase()})`)))
        : h("p", { class: "empty" }, "No organization is connected yet. ", h("a", { href: "/add" }, "Add repositories"))
    );
    return;
  }
  const data = await graphql(POSTURE, { id, after: params.get("after") || null });
  if (!isCurrent()) return;
  if (!data.connection || !data.postureChecks) return replace(main, h("h1", {}, "Not found"), h("p", {}, "This connection does not exist."));
  const report = data.postureChecks;
  const s = report.summary;
  const message = h("p", { role: "status" });
  const evaluate = h("button", { type: "button" }, "Evaluate now");
  evaluate.addEventListener("click", async () => {
    const answer = (await graphql(EVALUATE, { id })).evaluatePosture;
    message.textContent = answer.message;
  });
  const sections = [
    ...report.projects.map((p) => [`Project ${p.name}`, p.results]),
    ...report.repositories.map((r) => [`Repository ${r.projectName} / ${r.name}`, r.results]),
  ].filter(([, results]) => results.length);
  replace(
    main,
    h("div", { class: "page-head" }, h("h1", {}, `CI/CD posture: ${data.connection.organization}`), evaluate),
    message,
    report.latestRun
      ? h("p", { class: "muted" }, `Evaluated ${when(report.latestRun.finishedAt || report.latestRun.createdAt)} (${report.latestRun.status.toLowerCase()})`, report.latestRun.error ? h("span", { class: "error-text" }, ` ${report.latestRun.error}`) : null)
      : h("p", { class: "empty" }, "Not evaluated yet: press Evaluate now (it also runs with every scan)."),
    h(
      "dl",
      { class: "summary" },
      h("div", { class: "pass" }, h("dt", {}, "Passed"), h("dd", {}, String(s.passed))),
      h("div", { class: "fail" }, h("dt", {}, "Failed"), h("dd", {}, String(s.failed))),
      h("div", { class: "not_evaluated" }, h("dt", {}, "Not evaluated"), h("dd", {}, String(s.notEvaluated)))
    ),
    sections.map(([title, results]) => projectSection(title, results)),
    report.repositoriesPageInfo.hasNextPage || params.get("after")
      ? h(
          "nav",
          { class: "pager", "aria-label": "Repository pages" },
          h("span", {}, "Repositories are listed 50 at a time."),
          params.get("after") ? h("button", { type: "button", onclick: () => history.back() }, "Previous repositories") : null,
          report.repositoriesPageInfo.hasNextPage
            ? h("button", { type: "button", onclick: () => navigate(`/posture/${encodeURIComponent(id)}?after=${encodeURIComponent(report.repositoriesPageInfo.endCursor)}`) }, "Next repositories")
            : null
        )
      : null
  );
}

const RANK = { FAIL: 0, NOT_EVALUATED: 1, PASS: 2 };

function projectSection(title, results) {
  const sorted = [...results].sort((a, b) => RANK[a.status] - RANK[b.status]);
  const counts = (status) => results.filter((r) => r.status === status).length;
  return h(
    "section",
    { class: "posture-project" },
    h("h2", {}, title, " ", h("span", { class: "muted" }, `${counts("FAIL")} failed, ${counts("NOT_EVALUATED")} not evaluated, ${counts("PASS")} passed`)),
    h(
      "ul",
      { class: "results" },
      sorted.map((r) =>
        h(
          "li",
          { class: `result ${r.status.toLowerCase()}` },
          h("div", {}, badge(r.status.replace("_", " "), r.status.toLowerCase()), " ", badge(r.control.severity, r.control.severity.toLowerCase()), " ", h("strong", {}, r.control.title), " ", h("span", { class: "code" }, r.control.id)),
          h("p", {}, r.reason),
          r.status === "FAIL"
            ? h("details", {}, h("summary", {}, "Why it matters and how to fix it"), h("p", {}, h("strong", {}, "Why: "), r.control.rationale), h("p", {}, h("strong", {}, "Fix: "), r.control.remediation), r.control.helpUri ? h("p", {}, h("a", { href: r.control.helpUri, target: "_blank", rel: "noopener" }, "Reference")) : null)
            : null
        )
      )
    )
  );
}
