// The console's only data source: the public GraphQL API, with the session cookie and its CSRF header.
let session = null;

// Marks a GraphQL document: tests/browser/test_console_queries.py parses each tagged one out of these modules
// and validates it against schema.graphql.
export const gql = (strings) => strings.join("");

export async function currentSession() {
  if (session) return session;
  const answer = await fetch("/console/api/session", { credentials: "same-origin" });
  if (answer.status === 401) return signIn();
  session = await answer.json();
  return session;
}

function signIn() {
  window.location.assign(`/console/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
  return new Promise(() => {});
}

export class GraphQLError extends Error {}

export async function graphql(query, variables = {}) {
  const { csrfToken } = await currentSession();
  const answer = await fetch("/graphql", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", accept: "application/json", "x-panoptica-csrf": csrfToken },
    body: JSON.stringify({ query, variables }),
  });
  if (answer.status === 401) {
    session = null;
    return signIn();
  }
  const body = await answer.json();
  if (body.errors?.length) throw new GraphQLError(body.errors.map((e) => e.message).join("; "));
  return body.data;
}

export async function signOut() {
  const { csrfToken } = await currentSession();
  await fetch("/console/signout", { method: "POST", credentials: "same-origin", headers: { "x-panoptica-csrf": csrfToken } });
  session = null;
  window.location.assign("/console/signed-out");
}
