// Settings: Slack link code, Slack admins, the audit log.
import { gql, graphql } from "../api.js";
import { field, h, replace, when } from "../dom.js";

export const SETTINGS = gql`
  query ConsoleSettings {
    slackAdmins
    auditEvents(first: 50) { edges { node { id actor action subject createdAt } } }
  }
`;

export const SLACK_CODE = gql`
  mutation ConsoleSlackLinkCode { createSlackLinkCode { code expiresAt instructions } }
`;

export const SLACK_ADMINS = gql`
  mutation ConsoleSlackAdmins($userIds: [String!]!) {
    setSlackAdmins(userIds: $userIds) {
      __typename
      ... on SlackAdmins { userIds }
      ... on UserError { code message }
    }
  }
`;

export async function render(main, { isCurrent }) {
  const data = await graphql(SETTINGS);
  if (!isCurrent()) return;
  const code = h("div", { role: "status" });
  const admins = h("input", { name: "admins", value: data.slackAdmins.join(", "), placeholder: "U0123ABCD, U0456EFGH" });
  const adminsMessage = h("p", { role: "status" });
  replace(
    main,
    h("h1", {}, "Settings"),
    h(
      "section",
      {},
      h("h2", {}, "Slack"),
      h("p", {}, "Link a Slack workspace: create a code, then a workspace admin types it in Slack within 15 minutes."),
      h("button", { type: "button", onclick: async () => { const c = (await graphql(SLACK_CODE)).createSlackLinkCode; replace(code, h("p", {}, h("strong", { class: "code big" }, c.code), ` (valid until ${when(c.expiresAt)})`), h("p", {}, c.instructions)); } }, "Create a link code"),
      code,
      h(
        "form",
        { onsubmit: async (e) => { e.preventDefault(); const ids = admins.value.split(/[\s,]+/).filter(Boolean); const a = (await graphql(SLACK_ADMINS, { userIds: ids })).setSlackAdmins; adminsMessage.textContent = a.__typename === "SlackAdmins" ? `Saved: ${a.userIds.length} Slack admins.` : a.message; } },
        field("Slack admins (user ids, besides workspace admins and owners)", admins),
        h("button", { type: "submit" }, "Save Slack admins"),
        adminsMessage
      )
    ),
    h("section", {}, h("h2", {}, "API tokens"), h("p", { class: "muted" }, "Programs use API tokens: create and revoke them with the panoptica command (panoptica tokens create / revoke); the GraphQL API has no token mutations yet.")),
    h(
      "section",
      {},
      h("h2", {}, "Audit log"),
      data.auditEvents.edges.length
        ? h("table", { class: "data" }, h("thead", {}, h("tr", {}, ["When", "Who", "What", "Subject"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, data.auditEvents.edges.map(({ node: a }) => h("tr", {}, h("td", {}, when(a.createdAt)), h("td", {}, a.actor), h("td", { class: "code" }, a.action), h("td", {}, a.subject)))))
        : h("p", { class: "empty" }, "Nothing yet.")
    )
  );
}
