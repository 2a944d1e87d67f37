// Settings: Slack link code, Slack admins, the audit log.
import { gql, graphql } from "../api.js";
import { field, h, replace, when } from "../dom.js";

export const SETTINGS = gql`
  query ConsoleSettings {
    slackAdmins
    apiTokens { id userEmail createdAt revokedAt }
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

export const CREATE_TOKEN = gql`
  mutation ConsoleCreateToken { createApiToken { token apiToken { id userEmail createdAt revokedAt } } }
`;

export const REVOKE_TOKEN = gql`
  mutation ConsoleRevokeToken($id: ID!) {
    revokeApiToken(id: $id) {
      __typename
      ... on ApiToken { id revokedAt }
      ... on UserError { code message }
    }
  }
`;

function tokensSection(tokens, reload) {
  const shown = h("div", { role: "status" });
  return h(
    "section",
    {},
    h("h2", {}, "API tokens"),
    h("p", {}, "Programs call the GraphQL API with Authorization: Bearer <token>. A token is shown once, when it is created."),
    h("button", { type: "button", onclick: async () => { const c = (await graphql(CREATE_TOKEN)).createApiToken; await reload(); const box = document.getElementById("new-token"); replace(box, h("p", { class: "ok" }, "New token (copy it now, it is not shown again): ", h("code", { class: "code big" }, c.token))); } }, "Create an API token"),
    h("div", { id: "new-token" }),
    shown,
    tokens.length
      ? h(
          "table",
          { class: "data" },
          h("caption", { class: "visually-hidden" }, "API tokens"),
          h("thead", {}, h("tr", {}, ["Created", "User", "Status", ""].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            tokens.map((t) =>
              h(
                "tr",
                {},
                h("td", {}, when(t.createdAt)),
                h("td", {}, t.userEmail),
                h("td", {}, t.revokedAt ? `revoked ${when(t.revokedAt)}` : "active"),
                h("td", {}, t.revokedAt ? null : h("button", { type: "button", "aria-label": `Revoke the token created ${when(t.createdAt)} for ${t.userEmail}`, onclick: async () => { const r = (await graphql(REVOKE_TOKEN, { id: t.id })).revokeApiToken; if (r.__typename !== "ApiToken") shown.textContent = r.message; else await reload(); } }, "Revoke"))
              )
            )
          )
        )
      : h("p", { class: "empty" }, "No API tokens.")
  );
}

export async function render(main, { isCurrent }) {
  const data = await graphql(SETTINGS);
  if (!isCurrent()) return;
  const code = h("div", { role: "status" });
  const admins = h("input", { name: "admins", value: data.slackAdmins.join(", "), placeholder: "U0123ABCD, U0456EFGH" });
  const adminsMessage = h("p", { role: "status" });
  const reloadTokens = async () => {
    const { apiTokens } = await graphql(SETTINGS);
    const box = document.getElementById("tokens");
    const created = document.getElementById("new-token")?.cloneNode(true);
    replace(box, tokensSection(apiTokens, reloadTokens));
    if (created) document.getElementById("new-token").replaceWith(created);
  };
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
    h("div", { id: "tokens" }, tokensSection(data.apiTokens, reloadTokens)),
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
