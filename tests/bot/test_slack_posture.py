"""`/panoptica posture`: answered in the acknowledgement with the failed and unevaluated controls."""

import json

from tests.bot.slack_harness import MEMBER, text_of
from tests.core.posture.worlds import plant_posture
from tests.support.connect_api import CONNECT, connect, consented


async def test_posture_command_summarizes_the_latest_evaluation(bot, sandbox, world):
    await bot.link()
    response, _ = await bot.command("posture", user=MEMBER)
    assert "No Azure DevOps organization is connected yet." in text_of(response)

    plant_posture(world)
    connection_id = await consented(bot.caller, sandbox, bot.http)
    assert (await connect(bot.caller, connection_id, CONNECT))["ok"]
    response, _ = await bot.command("posture contoso", user=MEMBER)
    assert "contoso*: not evaluated yet." in text_of(response)

    await bot.caller.graphql(
        "mutation($id: ID!) { evaluatePosture(connectionId: $id) { __typename } }", id=connection_id
    )
    await bot.run_jobs()
    response, _ = await bot.command("posture contoso", user=MEMBER)
    text = text_of(response)
    assert "*contoso*: 28 failed · 39 passed · 4 not evaluated" in text
    # Most severe first, then by failing resources: payments-web, infra and oss-lib let authors approve.
    lines = [
        line for line in json.loads(text)["blocks"][1]["text"]["text"].split("\n") if line.startswith("•")
    ]
    assert lines[:2] == [
        "• ADO-REPO-02 Authors cannot approve their own changes (3)",
        "• ADO-REPO-01 Default branch requires at least one reviewer (2)",
    ]
    assert "Hunter2" not in text

    response, _ = await bot.command("posture contoso extra", user=MEMBER)
    assert "/panoptica posture [organization]" in text_of(response)
