"""GraphQL for the Slack app: one-time link codes and the allow-list of Slack admins, per account."""

from sqlmodel import select

from core.slack import service as slack
from core.slack.models import SlackAdmin, SlackLinkCode

CREATE = "mutation { createSlackLinkCode { code expiresAt instructions } }"
SET = """
mutation($ids: [String!]!) {
  setSlackAdmins(userIds: $ids) {
    __typename
    ... on SlackAdmins { userIds }
    ... on InvalidInputError { code message }
  }
}"""


async def test_create_link_code_stores_only_a_hash(alice, db):
    result = (await alice.graphql(CREATE))["data"]["createSlackLinkCode"]
    code = result["code"]
    assert f"/panoptica link {code}" in result["instructions"]
    async with db() as session:
        rows = (await session.exec(select(SlackLinkCode))).all()
    assert [(r.account_id, r.code_hash) for r in rows] == [(alice.account_id, slack.code_hash(code))]
    assert code not in str(rows[0].model_dump())


async def test_each_link_code_is_new(alice):
    first = (await alice.graphql(CREATE))["data"]["createSlackLinkCode"]["code"]
    second = (await alice.graphql(CREATE))["data"]["createSlackLinkCode"]["code"]
    assert first != second


async def test_slack_admins_are_per_account(alice, mallory, db):
    result = await alice.graphql(SET, ids=["u0bob", "U0ALICE"])
    assert result["data"]["setSlackAdmins"] == {"__typename": "SlackAdmins", "userIds": ["U0ALICE", "U0BOB"]}
    assert (await alice.graphql("{ slackAdmins }"))["data"]["slackAdmins"] == ["U0ALICE", "U0BOB"]
    assert (await mallory.graphql("{ slackAdmins }"))["data"]["slackAdmins"] == []
    await mallory.graphql(SET, ids=["U0MALLORY"])
    assert (await alice.graphql("{ slackAdmins }"))["data"]["slackAdmins"] == ["U0ALICE", "U0BOB"]
    await alice.graphql(SET, ids=[])
    async with db() as session:
        rows = (await session.exec(select(SlackAdmin.account_id, SlackAdmin.slack_user_id))).all()
    assert rows == [(mallory.account_id, "U0MALLORY")]


async def test_invalid_slack_admins_are_refused_and_change_nothing(alice):
    await alice.graphql(SET, ids=["U0ALICE"])
    result = (await alice.graphql(SET, ids=["U0BOB", "bob@example.com"]))["data"]["setSlackAdmins"]
    assert result["__typename"] == "InvalidInputError" and "U012ABCDEF" in result["message"]
    assert (await alice.graphql("{ slackAdmins }"))["data"]["slackAdmins"] == ["U0ALICE"]


async def test_slack_fields_need_a_token(http):
    response = await http.post("/graphql", json={"query": CREATE})
    assert response.status_code == 401
