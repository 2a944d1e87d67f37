"""The console's sign-in and session, tried as an attacker with an account of their own would.

Alice (Contoso's admin) is a member of Acme; Eve (Fabrikam) is a member of Other Corp. Both sign in on the
emulated Microsoft page at the multi-tenant authority, over real HTTPS; our callbacks are reached through
the app. GraphQL with the session cookie needs the CSRF header; API tokens keep working unchanged.
"""

from datetime import timedelta

import httpx
from sqlmodel import select

from api.app import create_app
from core.accounts import service as accounts
from core.accounts import sessions
from core.accounts.session_models import ConsoleSession, ConsoleSignIn
from core.db import session_scope
from core.db.columns import utcnow
from tests.signin import Emulator, sign_in
from tests.support.console import console_sign_in, csrf_of, gql, new_account, person
from tests.worlds import ADMIN, DEVELOPER, FABRIKAM_ADMIN

AUDIT = "{ auditEvents(first: 10) { edges { node { action subject } } } }"


def subjects(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [edge["node"]["subject"] for edge in response.json()["data"]["auditEvents"]["edges"]]


async def test_a_member_signs_in_and_reads_only_their_account(app, settings, db, world):
    await new_account(db, world, "Acme", ADMIN, "acme-only")
    await new_account(db, world, "Other Corp", FABRIKAM_ADMIN, "other-only")

    alice = await console_sign_in(app, settings, ADMIN)
    eve = await console_sign_in(app, settings, FABRIKAM_ADMIN)
    assert alice.last_callback.status_code == 303
    assert alice.last_callback.headers["location"] == "/repositories?org=x"
    cookie = alice.last_callback.headers["set-cookie"]
    assert "panoptica_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    info = (await alice.get("/console/api/session")).json()
    assert info["user"] == ADMIN and info["accountName"] == "Acme"

    assert subjects(await gql(alice, AUDIT, await csrf_of(alice))) == ["acme-only"]
    assert subjects(await gql(eve, AUDIT, await csrf_of(eve))) == ["other-only"]
    # Eve's CSRF token with Alice's cookie (or the reverse) is no credential.
    refused = await gql(alice, AUDIT, await csrf_of(eve))
    assert refused.status_code == 401
    # The console shell is served to a signed-in browser, under a policy allowing only our own scripts.
    shell = await alice.get("/repositories")
    assert shell.status_code == 200 and 'type="module"' in shell.text
    assert "script-src 'self'" in shell.headers["content-security-policy"]


async def test_the_cookie_without_the_csrf_header_authenticates_nothing(app, settings, db, world):
    await new_account(db, world, "Acme", ADMIN, "acme-only")
    alice = await console_sign_in(app, settings, ADMIN)
    no_header = await gql(alice, AUDIT)
    assert no_header.status_code == 401
    assert no_header.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    wrong = await gql(alice, AUDIT, "0" * 64)
    assert wrong.status_code == 401
    # A GET (what an <img> or a link would send) with the cookie alone: refused as well.
    get = await alice.get("/graphql", params={"query": AUDIT}, headers={"accept": "application/json"})
    assert get.status_code == 401


async def test_api_tokens_keep_working_beside_a_session(app, settings, db, world, http):
    account_id = await new_account(db, world, "Acme", ADMIN, "acme-only")
    other_id = await new_account(db, world, "Other Corp", FABRIKAM_ADMIN, "other-only")
    async with session_scope(db) as session:
        issued = await accounts.issue_token(session, other_id, "bot@other.test")
    alice = await console_sign_in(app, settings, ADMIN)
    # The bearer token names its own account, whatever cookie the client also carries.
    both = await gql(alice, AUDIT, await csrf_of(alice), authorization=f"Bearer {issued.token}")
    assert subjects(both) == ["other-only"]
    assert account_id != other_id


async def test_an_expired_session_is_refused(app, settings, db, world):
    await new_account(db, world, "Acme", ADMIN, "acme-only")
    alice = await console_sign_in(app, settings, ADMIN)
    csrf = await csrf_of(alice)
    async with session_scope(db) as session:
        for row in (await session.exec(select(ConsoleSession))).all():
            row.expires_at = utcnow() - timedelta(seconds=1)
            session.add(row)
    assert (await gql(alice, AUDIT, csrf)).status_code == 401
    assert (await alice.get("/console/api/session")).status_code == 401
    shell = await alice.get("/findings")
    assert shell.status_code == 303 and shell.headers["location"] == "/console/signin?next=%2Ffindings"


async def test_sign_out_ends_the_session(app, settings, db, world):
    await new_account(db, world, "Acme", ADMIN, "acme-only")
    alice = await console_sign_in(app, settings, ADMIN)
    csrf = await csrf_of(alice)
    cookie = alice.cookies.get("panoptica_session")
    assert (await alice.post("/console/signout")).status_code == 403  # a cross-site form cannot sign out
    assert (await gql(alice, AUDIT, csrf)).status_code == 200
    signed_out = await alice.post("/console/signout", headers={"X-Panoptica-CSRF": csrf})
    assert signed_out.status_code == 200
    assert alice.cookies.get("panoptica_session") is None
    # The old cookie value, replayed, is dead.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as replay:
        replay.cookies.set("panoptica_session", cookie)
        assert (await gql(replay, AUDIT, csrf)).status_code == 401


async def test_a_person_no_account_knows_gets_a_page_and_no_session(app, settings, db, world):
    await new_account(db, world, "Acme", ADMIN, "acme-only")
    stranger = await console_sign_in(app, settings, DEVELOPER)
    page = stranger.last_callback
    assert page.status_code == 403
    assert "No Panoptica account knows you yet" in page.text
    assert person(world, DEVELOPER)[1] in page.text  # the object id to give to an operator
    assert stranger.cookies.get("panoptica_session") is None
    async with session_scope(db) as session:
        assert (await session.exec(select(ConsoleSession))).all() == []


async def test_a_callback_completed_in_another_browser_signs_nobody_in(app, settings, db, world):
    """Login CSRF: Mallory starts a sign-in, signs in herself, and sends the callback link to a victim."""
    await new_account(db, world, "Acme", ADMIN, "acme-only")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as mallory:
        started = await mallory.get("/console/signin")
        link = await sign_in(Emulator.of(settings), started.headers["location"], ADMIN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as victim:
        answer = await victim.get(link)
        assert answer.status_code == 400
        assert victim.cookies.get("panoptica_session") is None


async def test_next_never_leaves_our_origin():
    for bad in ("https://evil.test/", "//evil.test/x", "/\\evil.test", "javascript:alert(1)", "/a\nb"):
        assert sessions.safe_next(bad) == "/"
    assert sessions.safe_next("/repositories?scanStatus=FAILED") == "/repositories?scanStatus=FAILED"


async def test_under_https_the_cookies_are_secure(settings, db, world):
    served = settings.model_copy(update={"public_url": "https://testserver"})
    await new_account(db, world, "Acme", ADMIN, "acme-only")
    app = create_app(served, run_jobs=False)
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")
        async with client:
            started = await client.get("/console/signin")
            assert "Secure" in started.headers["set-cookie"]
            callback = await client.get(
                await sign_in(Emulator.of(served), started.headers["location"], ADMIN)
            )
            assert callback.status_code == 303
            cookie = callback.headers["set-cookie"]
            assert "panoptica_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie


async def test_stale_sign_ins_and_sessions_go_at_the_next_sign_in(app, settings, db, world):
    await new_account(db, world, "Acme", ADMIN, "acme-only")
    await console_sign_in(app, settings, ADMIN)
    async with session_scope(db) as session:
        for row in (await session.exec(select(ConsoleSession))).all():
            row.expires_at = utcnow() - timedelta(days=2)
            session.add(row)
    await console_sign_in(app, settings, ADMIN)
    async with session_scope(db) as session:
        rows = (await session.exec(select(ConsoleSession))).all()
        assert len(rows) == 1 and rows[0].expires_at > utcnow()  # only the new one
        for row in (await session.exec(select(ConsoleSignIn))).all():
            row.expires_at = utcnow() - timedelta(days=2)
            session.add(row)
    await console_sign_in(app, settings, ADMIN)
    async with session_scope(db) as session:
        assert [r.used_at is not None for r in (await session.exec(select(ConsoleSignIn))).all()] == [True]
