"""What the console reads over GraphQL: Relay nodes and pages, object links without N+1, enums, finding links
into Azure DevOps, full-text search, capped counts, and a connection scan's progress."""

from contextlib import contextmanager

from sqlalchemy import event, insert
from sqlmodel import select

from core.db import session_scope
from core.db.columns import new_id, utcnow
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from core.scans.models import ScanRun
from tests.api.seed import seed_repositories
from tests.support.connect_api import connect, consented

LOG4SHELL_MESSAGE = (
    "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1 (direct dependency) is affected by "
    "GHSA-jfh8-c2jp-5v3q (aliases: CVE-2021-44228); fixed in 2.15.0."
)


def finding(account_id: str, repository_id: str, index: int, **fields) -> dict:
    now = utcnow()
    row = {
        "id": new_id(),
        "account_id": account_id,
        "repository_id": repository_id,
        "scanner": "pipelines",
        "rule_id": f"ADO-PIPE-{index:02d}",
        "title": f"Pipeline rule {index}",
        "description": "",
        "remediation": "",
        "help_uri": "",
        "severity": "HIGH",
        "category": "PIPELINE",
        "path": f"pipelines/build-{index}.yml",
        "line": 3,
        "end_line": None,
        "message": "",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "fingerprint": new_id(),
        "status": "OPEN",
        "first_seen_at": now,
        "last_seen_at": now,
        "suppressed_reason": "",
        "suppressed_by": "",
    }
    return {**row, **fields}


async def seed(db, account_id: str, repositories: int = 6, per_repository: int = 3) -> list[AzureRepository]:
    await seed_repositories(db, account_id, count=repositories)
    async with session_scope(db) as session:
        repos = list(
            (
                await session.exec(
                    select(AzureRepository)
                    .where(AzureRepository.account_id == account_id)
                    .order_by(AzureRepository.name)
                )
            ).all()
        )
        for repo in repos:
            repo.web_url = f"https://dev.azure.com/contoso/{repo.project_name}/_git/{repo.name}"
            session.add(repo)
        rows = [finding(account_id, repo.id, i) for repo in repos for i in range(per_repository)]
        if rows:
            await session.exec(insert(Finding), params=rows)
        session.add_all(
            ScanRun(account_id=account_id, repository_id=repo.id, trigger="MANUAL") for repo in repos
        )
    return repos


@contextmanager
def statements(app):
    """The SQL statements the app runs inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    engine = app.state.services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# --- Relay: node(id:), PageInfo ----------------------------------------------------------------------------

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Repository { name } ... on Finding { ruleId } ... on ScanRun { status }
  ... on AzureConnection { organization } } }"""


async def test_node_refetches_each_kind_and_answers_null_for_another_accounts_ids(alice, mallory, db):
    repos = await seed(db, alice.account_id, repositories=2, per_repository=1)
    page = await alice.graphql(
        """{ repositories(first: 1) { edges { node { id connection { id } findings { edges { node { id } } }
        scanRuns { edges { node { id } } } } } } }"""
    )
    repo = page["data"]["repositories"]["edges"][0]["node"]
    ids = {
        "Repository": repo["id"],
        "AzureConnection": repo["connection"]["id"],
        "Finding": repo["findings"]["edges"][0]["node"]["id"],
        "ScanRun": repo["scanRuns"]["edges"][0]["node"]["id"],
    }
    assert repo["id"] == repos[0].id  # ids are the ones the API always answered
    for kind, node_id in ids.items():
        node = (await alice.graphql(NODE, id=node_id))["data"]["node"]
        assert node["__typename"] == kind and node["id"] == node_id
        assert (await mallory.graphql(NODE, id=node_id))["data"]["node"] is None
    assert (await alice.graphql(NODE, id="no-such-id"))["data"]["node"] is None
    repository = await alice.graphql("query($id: ID!) { repository(id: $id) { name } }", id=repos[1].id)
    assert repository["data"]["repository"] == {"name": repos[1].name}
    other = await mallory.graphql("query($id: ID!) { repository(id: $id) { name } }", id=repos[1].id)
    assert other["data"]["repository"] is None


PAGE = """query($after: String) { repositories(first: 2, after: $after) { totalCount
  pageInfo { hasPreviousPage hasNextPage startCursor endCursor } edges { cursor node { name } } nodes { name } } }"""


async def test_page_info_is_relays(alice, db):
    await seed(db, alice.account_id, repositories=5, per_repository=0)
    first = (await alice.graphql(PAGE))["data"]["repositories"]
    info = first["pageInfo"]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (False, True)
    assert (
        info["startCursor"] == first["edges"][0]["cursor"]
        and info["endCursor"] == first["edges"][1]["cursor"]
    )
    assert [n["name"] for n in first["nodes"]] == [e["node"]["name"] for e in first["edges"]]
    last = (await alice.graphql(PAGE, after=info["endCursor"]))["data"]["repositories"]
    last = (await alice.graphql(PAGE, after=last["pageInfo"]["endCursor"]))["data"]["repositories"]
    assert (last["pageInfo"]["hasPreviousPage"], last["pageInfo"]["hasNextPage"]) == (True, False)
    assert [n["name"] for n in last["nodes"]] == ["repo-004"] and last["totalCount"] == 5


# --- object links without N+1 ------------------------------------------------------------------------------

REPOSITORIES_PAGE = """query($first: Int) { repositories(first: $first) { edges { node { id name
  findingCounts { critical high } connection { organization status }
  findings(first: 2) { totalCount edges { node { ruleId webUrl repository { name } } } }
  scanRuns(first: 1) { totalCount edges { node { status repository { name } } } } } } } }"""
FINDINGS_PAGE = """query($first: Int) { findings(first: $first) { edges { node { id status category scanner
  webUrl repository { name connection { organization } } } } } }"""


async def test_statements_per_page_do_not_grow_with_page_size(app, alice, db):
    await seed(db, alice.account_id, repositories=12, per_repository=3)
    counted = {}
    for query, field in ((REPOSITORIES_PAGE, "repositories"), (FINDINGS_PAGE, "findings")):
        for first in (2, 10):
            with statements(app) as seen:
                result = await alice.graphql(query, first=first)
            assert "errors" not in result, result
            assert len(result["data"][field]["edges"]) == first
            counted[(field, first)] = len(seen)
    assert counted[("repositories", 2)] == counted[("repositories", 10)]
    assert counted[("findings", 2)] == counted[("findings", 10)]
    # authentication, page, counts by severity, connections (3), findings page and count, runs page and count
    assert counted[("repositories", 10)] <= 12, counted


async def test_links_render_what_the_console_shows(alice, db):
    repos = await seed(db, alice.account_id, repositories=2, per_repository=1)
    async with session_scope(db) as session:
        row = (await session.exec(select(Finding).where(Finding.repository_id == repos[1].id))).one()
        row.path, row.line, row.end_line = "deploy/main app.bicep", 7, 9
        session.add(row)
    result = await alice.graphql(
        """query($id: ID!) { repository(id: $id) { connection { organization }
        findings { edges { node { webUrl repository { name project } } } } } }""",
        id=repos[1].id,
    )
    repository = result["data"]["repository"]
    assert repository["connection"] == {"organization": "contoso"}
    [edge] = repository["findings"]["edges"]
    assert edge["node"]["repository"] == {"name": repos[1].name, "project": repos[1].project_name}
    assert edge["node"]["webUrl"] == (
        f"https://dev.azure.com/contoso/{repos[1].project_name}/_git/{repos[1].name}"
        "?path=/deploy/main%20app.bicep&version=GC0123456789abcdef0123456789abcdef01234567"
        "&line=7&lineEnd=10&lineStartColumn=1&lineEndColumn=1&lineStyle=plain&_a=contents"
    )


# --- enums -------------------------------------------------------------------------------------------------


async def test_enums_keep_the_json_strings_and_refuse_unknown_values(alice, db):
    await seed(db, alice.account_id, repositories=1, per_repository=2)
    by_literal = await alice.graphql(
        "{ findings(filter: {statuses: [OPEN], category: PIPELINE, scanner: pipelines}) "
        "{ totalCount edges { node { status category scanner } } } }"
    )
    assert by_literal["data"]["findings"]["totalCount"] == 2
    assert by_literal["data"]["findings"]["edges"][0]["node"] == {
        "status": "OPEN",
        "category": "PIPELINE",
        "scanner": "pipelines",
    }
    by_variable = await alice.graphql(
        "query($f: FindingFilter) { findings(filter: $f) { totalCount } }",
        f={"statuses": ["FIXED"], "category": "PIPELINE"},
    )
    assert by_variable["data"]["findings"]["totalCount"] == 0
    wrong = await alice.graphql(
        "query($f: FindingFilter) { findings(filter: $f) { totalCount } }", f={"category": "NOPE"}
    )
    assert "NOPE" in wrong["errors"][0]["message"] and wrong.get("data") is None


# --- search ------------------------------------------------------------------------------------------------


async def test_search_covers_title_message_rule_aliases_package_and_path(alice, db):
    repos = await seed(db, alice.account_id, repositories=1, per_repository=2)
    async with session_scope(db) as session:
        log4shell = finding(
            alice.account_id,
            repos[0].id,
            99,
            scanner="dependencies",
            category="DEPENDENCY",
            rule_id="GHSA-jfh8-c2jp-5v3q",
            title="Remote code injection in Log4j",
            message=LOG4SHELL_MESSAGE,
            path="services/api/pom.xml",
            severity="CRITICAL",
        )
        await session.exec(insert(Finding), params=[log4shell])
    query = "query($s: String) { findings(filter: {search: $s}) { totalCount edges { node { ruleId } } } }"
    for search in (
        "CVE-2021-44228",  # an alias
        "ghsa-JFH8-c2jp",  # the rule id, any case
        "log4j",  # title and package
        "log4j-core@2.14",  # the package version
        "api/pom.xml",  # the path
        "Remote code",
    ):
        found = (await alice.graphql(query, s=search))["data"]["findings"]
        assert [e["node"]["ruleId"] for e in found["edges"]] == ["GHSA-jfh8-c2jp-5v3q"], search
    assert (await alice.graphql(query, s="CVE-2099-0001"))["data"]["findings"]["totalCount"] == 0
    # LIKE's wildcards are literal characters in a search.
    assert (await alice.graphql(query, s="%"))["data"]["findings"]["totalCount"] == 0
    assert (await alice.graphql(query, s="build_"))["data"]["findings"]["totalCount"] == 0


# --- totalCount: only when selected, capped ----------------------------------------------------------------


async def test_total_count_is_read_only_when_selected_and_capped_at_10000(app, alice, db):
    repos = await seed(db, alice.account_id, repositories=1, per_repository=0)
    rows = [finding(alice.account_id, repos[0].id, i % 50) for i in range(10_001)]
    async with session_scope(db) as session:
        for start in range(0, len(rows), 2000):
            await session.exec(insert(Finding), params=rows[start : start + 2000])
    with statements(app) as without_count:
        await alice.graphql("{ findings(first: 5) { edges { node { id } } } }")
    with statements(app) as with_count:
        counted = await alice.graphql("{ findings(first: 5) { totalCount totalCountIsCapped } }")
    assert len(with_count) == len(without_count) + 1  # one count, shared by both fields
    assert not any("count(" in s.lower() for s in without_count)
    assert counted["data"]["findings"] == {"totalCount": 10_000, "totalCountIsCapped": True}
    exact = await alice.graphql(
        '{ findings(filter: {search: "build-7.yml"}) { totalCount totalCountIsCapped } }'
    )
    assert exact["data"]["findings"] == {"totalCount": 200, "totalCountIsCapped": False}
    nested = await alice.graphql(
        "query($id: ID!) { repository(id: $id) { findings(first: 1) { totalCount totalCountIsCapped } } }",
        id=repos[0].id,
    )
    assert nested["data"]["repository"]["findings"] == {"totalCount": 10_000, "totalCountIsCapped": True}


# --- scans: the run they started, and its progress ---------------------------------------------------------

SCAN_CONNECTION = """mutation($id: ID!) { scanConnection(id: $id) { __typename
  ... on ScanQueued { alreadyQueued jobId run { __typename id status ... on ConnectionScan { phase } } } } }"""
PROGRESS = """query($id: ID!) { node(id: $id) { ... on ConnectionScan { status phase repositoriesTotal
  repositoriesDone message finishedAt runsByStatus { status count } scanners { scanner succeeded failed }
  connection { organization } } } }"""
SCAN_REPOSITORY = """mutation($id: ID!) { scanRepository(id: $id) { ... on ScanQueued { run { __typename id
  status ... on ScanRun { repository { name } scannerOutcomes { scanner status } } } } } }"""


async def test_scan_connection_answers_its_run_and_the_run_shows_progress_to_the_end(
    app, alice, mallory, sandbox, world, db
):
    connection_id = await consented(alice, sandbox, alice.client)
    assert (await connect(alice, connection_id))["ok"]
    asked = (await alice.graphql(SCAN_CONNECTION, id=connection_id))["data"]["scanConnection"]
    run = asked["run"]
    assert run == {
        "__typename": "ConnectionScan",
        "id": asked["jobId"],
        "status": "QUEUED",
        "phase": "QUEUED",
    }
    again = (await alice.graphql(SCAN_CONNECTION, id=connection_id))["data"]["scanConnection"]
    assert again["alreadyQueued"] and again["run"]["id"] == run["id"]
    queued = (await alice.graphql(PROGRESS, id=run["id"]))["data"]["node"]
    assert (queued["repositoriesTotal"], queued["repositoriesDone"], queued["finishedAt"]) == (None, 0, None)
    assert (await mallory.graphql(PROGRESS, id=run["id"]))["data"]["node"] is None

    await app.state.jobs.run_until_idle()
    done = (await alice.graphql(PROGRESS, id=run["id"]))["data"]["node"]
    assert (done["status"], done["phase"]) == ("SUCCEEDED", "FINISHED"), done
    assert (done["repositoriesTotal"], done["repositoriesDone"]) == (4, 4)
    assert done["runsByStatus"] == [{"status": "SUCCEEDED", "count": 4}]
    assert done["finishedAt"] and done["connection"] == {"organization": "contoso"}
    tallies = {t["scanner"]: (t["succeeded"], t["failed"]) for t in done["scanners"]}
    assert tallies and set(tallies.values()) == {(4, 0)}, tallies

    async with db() as session:
        repository = (
            await session.exec(select(AzureRepository).where(AzureRepository.name == "payments-api"))
        ).one()
    scan = (await alice.graphql(SCAN_REPOSITORY, id=repository.id))["data"]["scanRepository"]["run"]
    assert scan["__typename"] == "ScanRun" and scan["status"] == "QUEUED"
    assert scan["repository"] == {"name": "payments-api"} and scan["scannerOutcomes"] == []
    await app.state.jobs.run_until_idle()
    finished = await alice.graphql(
        "query($id: ID!) { node(id: $id) { ... on ScanRun { status scannerOutcomes { scanner status } } } }",
        id=scan["id"],
    )
    outcomes = finished["data"]["node"]["scannerOutcomes"]
    assert finished["data"]["node"]["status"] == "SUCCEEDED"
    assert {o["scanner"] for o in outcomes} == set(tallies) and {o["status"] for o in outcomes} == {
        "SUCCEEDED"
    }


async def test_the_repository_page_lists_its_files_then_one_files_findings(alice, mallory, db):
    repos = await seed(db, alice.account_id, repositories=1, per_repository=0)
    rows = [
        finding(alice.account_id, repos[0].id, 1, path="b/deploy.yml", severity="HIGH"),
        finding(alice.account_id, repos[0].id, 2, path="b/deploy.yml", severity="LOW", line=9),
        finding(alice.account_id, repos[0].id, 3, path="a/main.tf", severity="CRITICAL"),
        finding(alice.account_id, repos[0].id, 4, path="a/main.tf", severity="CRITICAL", status="FIXED"),
    ]
    async with session_scope(db) as session:
        await session.exec(insert(Finding), params=rows)
    page = await alice.graphql(
        """query($id: ID!) { repository(id: $id) { findingFiles { truncated files { path
        counts { critical high low } } }
        findings(filter: {path: "b/deploy.yml"}) { totalCount edges { node { path line severity } } } } }""",
        id=repos[0].id,
    )
    repository = page["data"]["repository"]
    assert repository["findingFiles"] == {
        "truncated": False,
        "files": [
            {
                "path": "a/main.tf",
                "counts": {"critical": 1, "high": 0, "low": 0},
            },  # the fixed one not counted
            {"path": "b/deploy.yml", "counts": {"critical": 0, "high": 1, "low": 1}},
        ],
    }
    assert repository["findings"]["totalCount"] == 2
    assert {e["node"]["path"] for e in repository["findings"]["edges"]} == {"b/deploy.yml"}
    assert (await mallory.graphql('{ findings(filter: {path: "a/main.tf"}) { totalCount } }'))["data"][
        "findings"
    ]["totalCount"] == 0


async def test_findings_filter_by_organization_and_project(alice, db):
    await seed(db, alice.account_id, repositories=4, per_repository=2)  # proj-0 and proj-1, two each
    query = (
        "query($f: FindingFilter) { findings(filter: $f) { totalCount nodes { repository { project } } } }"
    )
    by_project = (await alice.graphql(query, f={"organization": "CONTOSO", "project": "proj-1"}))["data"]
    assert by_project["findings"]["totalCount"] == 4
    assert {n["repository"]["project"] for n in by_project["findings"]["nodes"]} == {"proj-1"}
    other = (await alice.graphql(query, f={"organization": "fabrikam"}))["data"]["findings"]
    assert other["totalCount"] == 0
