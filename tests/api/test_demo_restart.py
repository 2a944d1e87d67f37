"""A restarted demo is the same world: the emulator's consents and memberships are kept beside the database
(sandbox/state.py), so after stopping and starting both the service and the emulator the walkthrough goes on
(the connection verifies CONNECTED, step 1 says ALREADY_CONNECTED); and every query the walkthrough prints is
valid against the schema, each mutation with its error branch."""

import re
import ssl
from types import SimpleNamespace

import httpx
from graphql import parse, validate
from pydantic import SecretStr

from api.app import create_app
from api.cli import print_walkthrough
from api.graphql.schema import schema
from sandbox import state
from sandbox.scenario import DEMO_SCENARIO, demo_world
from sandbox.server import Sandbox
from tests.api.conftest import new_caller
from tests.signin import connect_in_browser
from tests.support.connect_api import CONNECT, REFRESH, REPOS, connect, start
from tests.support.flows import DEMO_ADMIN


def pointed_at(settings, sandbox: Sandbox):
    app_registration = sandbox.world.apps[0]
    return settings.model_copy(
        update={
            "entra_client_id": app_registration.client_id,
            "entra_client_secret": SecretStr(app_registration.secret),
            "entra_authority_host": sandbox.authority_host,
            "azure_devops_url": sandbox.devops_url,
            "ca_bundle": sandbox.ca_path,
            "osv_url": sandbox.osv_url,
        }
    )


async def serving(settings):
    app = create_app(settings, run_jobs=False)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    return lifespan, http


async def test_stop_and_start_keeps_the_emulators_world_and_the_walkthrough_goes_on(settings, db, tmp_path):
    saved = tmp_path / "var" / "sandbox" / "world.json"
    first = state.load(saved, DEMO_SCENARIO)
    assert first.note.startswith("fresh from demo.yaml")
    emulator = Sandbox(first.world).start()
    keeper = state.Keeper(emulator.holder, saved, DEMO_SCENARIO).start()
    lifespan, http = await serving(pointed_at(settings, emulator))
    try:
        caller = await new_caller(db, http, "Demo", "admin@contoso.test")
        started = await start(caller, "contoso-demo")
        assert started["__typename"] == "StartAzureConnectionSuccess", started
        connection_id = started["connection"]["id"]
        page = await connect_in_browser(http, emulator, started["signInUrl"], DEMO_ADMIN)
        assert page.status_code == 200, page.text
        async with httpx.AsyncClient(
            verify=ssl.create_default_context(cafile=str(emulator.ca_path))
        ) as admin:
            url = f"{emulator.urls['admin']}/api/organizations/contoso-demo/service-principal"
            assert (await admin.post(url, json={})).status_code in (200, 201)
        assert (await connect(caller, connection_id, CONNECT))["ok"] is True
        repositories = (await caller.graphql(REPOS))["data"]["repositories"]["totalCount"]
    finally:  # stop both, as Ctrl-C on `make run` does
        await http.aclose()
        await lifespan.__aexit__(None, None, None)
        keeper.stop()
        emulator.stop()

    again = state.load(saved, DEMO_SCENARIO)
    assert again.note.startswith("restored from")
    emulator = Sandbox(again.world).start()  # new ports, new CA, new signing keys: only the world is kept
    lifespan, http = await serving(pointed_at(settings, emulator))
    try:
        caller.client = http
        refreshed = await connect(caller, connection_id, REFRESH)
        assert refreshed["ok"] is True and refreshed["connection"]["status"] == "CONNECTED", refreshed
        assert (await caller.graphql(REPOS))["data"]["repositories"]["totalCount"] == repositories
        step_one = await start(caller, "contoso-demo")
        assert step_one["code"] == "ALREADY_CONNECTED" and "already connected" in step_one["message"]
    finally:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)
        emulator.stop()


def test_a_changed_scenario_or_a_broken_file_starts_afresh(tmp_path):
    scenario = tmp_path / "demo.yaml"
    scenario.write_text(DEMO_SCENARIO.read_text())
    saved = tmp_path / "world.json"
    holder = SimpleNamespace(world=demo_world(), lock=__import__("threading").RLock())
    holder.world.tenants[0].service_principals = []
    state.save(holder, saved, state.scenario_digest(scenario))
    assert state.load(saved, scenario).world.tenants[0].service_principals == []
    assert oct(saved.stat().st_mode & 0o777) == "0o600"

    scenario.write_text(DEMO_SCENARIO.read_text() + "\n# changed\n")
    changed = state.load(saved, scenario)
    assert "changed since" in changed.note
    assert changed.world.model_dump() == demo_world().model_dump()
    saved.write_text("{not json")
    assert "unreadable" in state.load(saved, scenario).note


def printed_documents(settings) -> list[str]:
    running = SimpleNamespace(
        world=demo_world(), urls={"admin": "https://127.0.0.1:8445", "slack": "https://127.0.0.1:8444"}
    )
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_walkthrough(settings, running, "pan_token")
    text = out.getvalue()
    documents = []
    for match in re.finditer(r"\b(mutation|query) \{", text):
        depth, end = 0, match.start()
        for end in range(match.end() - 1, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                break
        documents.append(text[match.start() : end + 1])
    return documents


def test_every_printed_query_is_valid_and_every_mutation_has_its_error_branch(settings):
    documents = printed_documents(settings)
    assert len(documents) >= 8
    for document in documents:
        filled = document.replace('"<id>"', '"x"').replace('"<run id>"', '"x"')
        assert validate(schema._schema, parse(filled)) == [], document
        if document.startswith("mutation"):
            assert "... on UserError { code message }" in document, document
