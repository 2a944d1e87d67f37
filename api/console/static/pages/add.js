// +Add Repository: provider → organization → sign-in and consent in a new tab → instructions → Connect →
// the diagnosis, check by check → the repositories. `?connection=ID` reopens a connection (e.g. DEGRADED).
import { currentSession, gql, graphql } from "../api.js";
import { announce, badge, field, h, plural, replace, select } from "../dom.js";

export const PROVIDERS = gql`
  query ConsoleProviders { scmProviders { kind name available } }
`;

export const START = gql`
  mutation ConsoleStartAzure($organization: String!) {
    startAzureConnection(organization: $organization) {
      __typename
      ... on StartAzureConnectionSuccess { signInUrl connection { id organization status } }
      ... on UserError { code message }
    }
  }
`;

export const CONNECTION = gql`
  query ConsoleConnection($id: ID!) {
    connection(id: $id) {
      id organization status statusReason projectCount repositoryCount
      checks { code status message remediation }
    }
  }
`;

export const CONNECT = gql`
  mutation ConsoleConnect($id: ID!) {
    connectAzureOrganization(connectionId: $id) {
      __typename
      ... on ConnectAzureOrganizationSuccess {
        ok
        connection { id organization status projectCount repositoryCount }
        checks { code status message remediation }
      }
      ... on UserError { code message }
    }
  }
`;

export const CHECK_LABELS = {
  ORGANIZATION_EXISTS: "Organization exists",
  ORGANIZATION_ENTRA_BACKED: "Organization uses Microsoft Entra ID",
  TENANT_MATCHES: "Consent given in the organization's tenant",
  APP_TOKEN: "App can sign in to the tenant",
  SERVICE_PRINCIPAL_MEMBER: "Service principal added to the organization",
  ACCESS_LEVEL_BASIC: "Access level is Basic",
  PROJECT_MEMBERSHIP: "Member of projects",
  CONTRIBUTORS_GROUP: "In the Contributors group",
  CAN_READ_CODE: "Can read repository contents",
};

const CONSENTED = ["CONSENT_GRANTED", "CONNECTED", "DEGRADED"];

export async function render(main, { params, isCurrent }) {
  const { scmProviders } = await graphql(PROVIDERS);
  if (!isCurrent()) return;
  const form = h("div", { class: "add-form" });
  const providers = select(
    "provider",
    [["", "Choose a provider"], ...scmProviders.map((p) => [p.kind, p.available ? p.name : `${p.name} (not available yet)`, !p.available])],
    ""
  );
  providers.addEventListener("change", () => renderProvider(form, providers.value, scmProviders));
  replace(
    main,
    h("h1", {}, "Add repositories"),
    h("p", {}, "Connect a source-code organization: its repositories are discovered and scanned daily."),
    field("Source-code provider", providers),
    form
  );
  if (params.get("connection")) await openOverlay(params.get("connection"));
}

function renderProvider(form, kind, providers) {
  if (kind !== "AZURE_DEVOPS") {
    const chosen = providers.find((p) => p.kind === kind);
    replace(form, chosen ? h("p", { class: "notice" }, `${chosen.name} cannot be connected yet.`) : null);
    return;
  }
  const organization = h("input", { name: "organization", required: true, autocomplete: "off", placeholder: "contoso" });
  const error = h("p", { class: "error-text", role: "alert" });
  const start = h("button", { type: "submit", class: "primary" }, "Sign in and consent");
  replace(
    form,
    h(
      "form",
      {
        onsubmit: async (event) => {
          event.preventDefault();
          start.disabled = true;
          error.textContent = "";
          // Opened now, while the click still counts as the user's: browsers block tabs opened later.
          const tab = window.open("", "_blank");
          try {
            const { startAzureConnection: started } = await graphql(START, { organization: organization.value.trim() });
            if (started.__typename !== "StartAzureConnectionSuccess") {
              tab?.close();
              error.textContent = started.message;
              return;
            }
            if (tab) {
              tab.opener = null; // the sign-in tab gets no handle on the console
              tab.location = started.signInUrl;
            }
            await openOverlay(started.connection.id, started.signInUrl);
          } finally {
            start.disabled = false;
          }
        },
      },
      field(
        "Azure DevOps organization",
        organization,
        "Its name, https://dev.azure.com/NAME or https://NAME.visualstudio.com. An administrator of the organization signs in next, in a new tab."
      ),
      start,
      error
    )
  );
  organization.focus();
}

// The overlay: waits for consent in the other tab, then shows the organization's instructions and Connect.
async function openOverlay(connectionId, signInUrl) {
  document.getElementById("connect-dialog")?.remove();
  const body = h("div", { class: "dialog-body" });
  const title = h("h2", { id: "connect-title" }, "Connect");
  const close = h("button", { type: "button", class: "link close", "aria-label": "Close" }, "×");
  const dialog = h("dialog", { id: "connect-dialog", "aria-labelledby": "connect-title" }, h("div", { class: "dialog-head" }, title, close), body);
  let polling = null;
  const stop = () => clearTimeout(polling);
  close.addEventListener("click", () => { stop(); dialog.close(); dialog.remove(); });
  dialog.addEventListener("cancel", stop);
  document.body.append(dialog);
  dialog.showModal();
  const { servicePrincipalName } = await currentSession();

  const poll = async () => {
    if (!dialog.isConnected) return;
    const { connection } = await graphql(CONNECTION, { id: connectionId });
    if (!connection) return replace(body, h("p", { class: "notice", role: "alert" }, "This connection no longer exists."));
    title.textContent = `Connect ${connection.organization}`;
    if (!CONSENTED.includes(connection.status)) {
      replace(
        body,
        h("p", { role: "status" }, "Waiting for an administrator of ", h("strong", {}, connection.organization), " to sign in and accept the permissions in the other tab…"),
        signInUrl ? h("p", {}, "No tab opened? ", h("a", { href: signInUrl, target: "_blank", rel: "noopener" }, "Open the sign-in page")) : null,
        connection.statusReason ? h("p", { class: "notice" }, connection.statusReason) : null
      );
      polling = setTimeout(poll, 1500);
      return;
    }
    showInstructions(body, connection, servicePrincipalName, connection.status === "DEGRADED" ? connection.checks : null);
  };
  await poll();
}

function instructions(organization, spName) {
  const users = `https://dev.azure.com/${organization}/_settings/users`;
  return h(
    "section",
    { "aria-labelledby": "steps-title" },
    h("h3", { id: "steps-title" }, "Next: add the service principal to Azure DevOps"),
    h(
      "ol",
      { class: "steps" },
      h("li", {}, "Open ", h("a", { href: users, target: "_blank", rel: "noopener" }, users), " (Organization settings → Users) as a Project Collection Administrator."),
      h("li", {}, "Choose ", h("strong", {}, "Add users"), " and type ", h("strong", {}, spName), "; pick the application of that name."),
      h("li", {}, "Set the access level to ", h("strong", {}, "Basic"), " (Stakeholder cannot read code)."),
      h("li", {}, "Add it to the projects whose repositories should be scanned, in the group ", h("strong", {}, "Project Contributors"), "."),
      h("li", {}, "Come back here and press ", h("strong", {}, "Connect"), ".")
    )
  );
}

function showInstructions(body, connection, spName, checks) {
  const result = h("div", { class: "diagnosis" });
  const connect = h("button", { type: "button", class: "primary" }, "Connect");
  connect.addEventListener("click", async () => {
    connect.disabled = true;
    replace(result, h("p", { class: "loading", role: "status" }, "Checking the connection…"));
    try {
      const { connectAzureOrganization: answer } = await graphql(CONNECT, { id: connection.id });
      if (answer.__typename !== "ConnectAzureOrganizationSuccess") {
        replace(result, h("p", { class: "notice", role: "alert" }, answer.message));
        return;
      }
      if (answer.ok) {
        const c = answer.connection;
        replace(
          result,
          h("p", { class: "ok", role: "status" }, `${c.organization} is connected. Found ${plural(c.projectCount, "project")} and ${plural(c.repositoryCount, "repository", "repositories")}.`),
          h("p", {}, h("a", { class: "button primary", href: `/repositories?org=${encodeURIComponent(c.organization)}` }, "Show the repositories")),
          checksTable(answer.checks)
        );
        connect.hidden = true;
        announce(`${c.organization} is connected`);
      } else {
        replace(result, h("p", { class: "notice", role: "alert" }, `${connection.organization} is not connected yet: fix the first failing check below, then press Connect again.`), checksTable(answer.checks));
      }
    } finally {
      connect.disabled = false;
    }
  });
  replace(
    body,
    h("p", { class: "ok", role: "status" }, `Consent granted: the ${spName} service principal exists in the organization's tenant. It cannot read anything yet.`),
    connection.status === "DEGRADED"
      ? h("div", { class: "notice", role: "alert" }, h("strong", {}, "This connection is degraded. "), connection.statusReason || "A check failed at the last verification.", " Fix what the checks below say, then press Connect.")
      : null,
    instructions(connection.organization, spName),
    connect,
    result
  );
  if (checks?.length) result.append(checksTable(checks));
}

export function checksTable(checks) {
  return h(
    "table",
    { class: "data checks" },
    h("caption", {}, "Connection checks"),
    h("thead", {}, h("tr", {}, ["Check", "Result", "What we saw", "How to fix"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      checks.map((c) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, CHECK_LABELS[c.code] || c.code, " ", h("span", { class: "code" }, c.code)),
          h("td", {}, badge(c.status, c.status.toLowerCase())),
          h("td", {}, c.message),
          h("td", {}, c.remediation)
        )
      )
    )
  );
}
