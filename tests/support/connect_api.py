"""Connecting an organization through the API as a customer does: the GraphQL mutations, and the administrator's
sign-in and consent in a browser. Shared by the API, Slack and core tests that start from a connected account."""

from tests.signin import connect_in_browser

START = """mutation($org: String!) { startAzureConnection(organization: $org) { __typename
  ... on StartAzureConnectionSuccess { signInUrl connection { id organization status tenantId } }
  ... on UserError { code message } } }"""
CONNECT = """mutation($id: ID!) { connectAzureOrganization(connectionId: $id) { __typename
  ... on ConnectAzureOrganizationSuccess { ok connection { id status projectCount repositoryCount }
        checks { code status message remediation } }
  ... on UserError { code message } } }"""
REFRESH = CONNECT.replace("connectAzureOrganization", "refreshAzureConnection")
REPOS = """query($filter: RepositoryFilter) { repositories(first: 100, filter: $filter) { totalCount
  edges { node { id name project excludedReason selected isFork removedAt } } } }"""


async def start(caller, org="contoso") -> dict:
    """startAzureConnection's answer (signInUrl and the new connection, or a UserError)."""
    result = await caller.graphql(START, org=org)
    return result["data"]["startAzureConnection"]


async def consented(caller, sandbox, http, org="contoso") -> str:
    """Started, then the organization's administrator signs in and consents: the connection's id (Connect not
    run yet)."""
    started = await start(caller, org)
    page = await connect_in_browser(http, sandbox, started["signInUrl"])
    assert page.status_code == 200, page.text
    return started["connection"]["id"]


async def connect(caller, connection_id: str, query: str = CONNECT) -> dict:
    """Connect (or REFRESH) the connection; its payload (ok, connection, checks)."""
    result = await caller.graphql(query, id=connection_id)
    assert "errors" not in result, result
    return result["data"][query.split("{")[1].split("(")[0].strip()]
