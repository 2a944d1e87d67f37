"""CODE (SAST) findings over GraphQL: CWE and OWASP from the rule pack, filters by CWE and language, each account
seeing only its own."""

import json
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from core.db import session_scope
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from tests.api.seed import seed_repositories

FINDINGS = """query($filter: FindingFilter) { findings(first: 50, filter: $filter) { totalCount
  edges { node { ruleId category path cwe owasp } } } }"""
REPOSITORY_FINDINGS = """query($filter: FindingFilter) { repositories(first: 2) { edges { node { name
  findings(first: 10, filter: $filter) { totalCount edges { node { ruleId } } }
  findingFiles(filter: $filter) { files { path } } } } } }"""

# (rule, path, category, scanner): the pack's SQL injection rules of two languages, a Java crypto rule, a file
# semgrep could not parse (CODE, but no rule of the pack) and a secret (not CODE).
ALICE = (
    ("CODE-PY-001", "app/db.py", "CODE", "semgrep"),
    ("CODE-CS-001", "src/Orders.cs", "CODE", "semgrep"),
    ("CODE-JAVA-010", "src/Hash.java", "CODE", "semgrep"),
    ("CODE-PARSE", "src/Broken.java", "CODE", "semgrep"),
    ("SECRET-AZURE-DEVOPS-PAT", "config.yml", "SECRET", "secrets"),
)
MALLORY = (("CODE-PY-001", "mallory/db.py", "CODE", "semgrep"),)


async def seed(db, account_id: str, findings) -> None:
    await seed_repositories(db, account_id, count=1)
    async with session_scope(db) as session:
        repo = (
            await session.exec(select(AzureRepository).where(AzureRepository.account_id == account_id))
        ).one()
        for rule, path, category, scanner in findings:
            session.add(
                Finding(
                    account_id=account_id,
                    repository_id=repo.id,
                    scanner=scanner,
                    rule_id=rule,
                    title=rule,
                    severity="HIGH",
                    category=category,
                    path=path,
                    line=3,
                    fingerprint=f"{rule}:{path}",
                )
            )


def rows(answer: dict) -> dict[str, dict]:
    assert "errors" not in answer, answer
    return {e["node"]["path"]: e["node"] for e in answer["data"]["findings"]["edges"]}


async def test_cwe_and_owasp_come_from_the_rule_pack(alice, mallory, db):
    await seed(db, alice.account_id, ALICE)
    await seed(db, mallory.account_id, MALLORY)
    found = rows(await alice.graphql(FINDINGS))
    assert set(found) == {path for _, path, _, _ in ALICE}  # never mallory's
    assert found["app/db.py"]["cwe"] == ["CWE-89"]
    assert found["app/db.py"]["owasp"] == "A03:2021 - Injection"
    assert found["src/Hash.java"]["cwe"] == ["CWE-327", "CWE-328"]
    assert found["src/Hash.java"]["owasp"] == "A02:2021 - Cryptographic Failures"
    assert (found["src/Broken.java"]["cwe"], found["src/Broken.java"]["owasp"]) == ([], None)
    assert (found["config.yml"]["cwe"], found["config.yml"]["owasp"]) == ([], None)


async def test_filter_by_cwe_and_language_combined_and_account_scoped(alice, mallory, db):
    await seed(db, alice.account_id, ALICE)
    await seed(db, mallory.account_id, MALLORY)
    for spelling in ("CWE-89", "89", " cwe-89 "):
        assert set(rows(await alice.graphql(FINDINGS, filter={"cwe": spelling}))) == {
            "app/db.py",
            "src/Orders.cs",
        }
    assert set(rows(await alice.graphql(FINDINGS, filter={"cwe": "328"}))) == {"src/Hash.java"}
    assert rows(await alice.graphql(FINDINGS, filter={"cwe": "CWE-1"})) == {}  # valid, no rule checks it
    assert set(rows(await alice.graphql(FINDINGS, filter={"language": "PYTHON"}))) == {"app/db.py"}
    # CODE-PARSE has no language: only the pack's Java rule.
    assert set(rows(await alice.graphql(FINDINGS, filter={"language": "JAVA"}))) == {"src/Hash.java"}
    assert rows(await alice.graphql(FINDINGS, filter={"language": "GO"})) == {}
    both = await alice.graphql(FINDINGS, filter={"cwe": "89", "language": "CSHARP"})
    assert set(rows(both)) == {"src/Orders.cs"} and both["data"]["findings"]["totalCount"] == 1
    # With the existing filters: category, search.
    assert set(rows(await alice.graphql(FINDINGS, filter={"cwe": "89", "category": "SECRET"}))) == set()
    assert set(rows(await alice.graphql(FINDINGS, filter={"cwe": "89", "search": "orders"}))) == {
        "src/Orders.cs"
    }
    assert set(rows(await mallory.graphql(FINDINGS, filter={"cwe": "89", "language": "PYTHON"}))) == {
        "mallory/db.py"
    }
    # A repository's findings and file tree take the same filter.
    answer = await alice.graphql(REPOSITORY_FINDINGS, filter={"cwe": "CWE-89"})
    assert "errors" not in answer, answer
    [repository] = [e["node"] for e in answer["data"]["repositories"]["edges"]]
    assert repository["findings"]["totalCount"] == 2
    assert {f["path"] for f in repository["findingFiles"]["files"]} == {"app/db.py", "src/Orders.cs"}


async def test_an_invalid_cwe_is_a_clear_error(alice, db):
    await seed(db, alice.account_id, ALICE)
    for bad in ("SQL injection", "CWE-", "CWE-89x", "0"):
        answer = await alice.graphql(FINDINGS, filter={"cwe": bad})
        assert answer.get("data") in (None, {"findings": None}), answer
        [error] = answer["errors"]
        assert 'cwe must be a CWE id such as "CWE-89" or "89"' in error["message"]
        for field in (
            "findings(first: 10, filter: $filter) { totalCount }",
            "findingFiles(filter: $filter) { truncated }",
        ):
            query = "query($filter: FindingFilter) { repositories(first: 2) { edges { node { FIELD } } } }".replace(
                "FIELD", field
            )
            nested = await alice.graphql(query, filter={"cwe": bad})
            [error] = nested["errors"]
            assert 'cwe must be a CWE id such as "CWE-89" or "89"' in error["message"], nested
            assert error["path"][-1] == field.split("(")[0]
    unknown = await alice.graphql(FINDINGS, filter={"language": "COBOL"})
    assert unknown["errors"] and "COBOL" in unknown["errors"][0]["message"]


async def test_panoptica_export_sarif_carries_a_code_findings_cwe(alice, db, database_url, tmp_path):
    """The operator's `panoptica export sarif REPO`, the installed command on the same database: the CODE
    finding's rule names its CWE (relationship and tag) and the run lists the CWE taxonomy."""
    await seed(db, alice.account_id, ALICE)
    async with session_scope(db) as session:
        repo = (
            await session.exec(select(AzureRepository).where(AzureRepository.account_id == alice.account_id))
        ).one()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PANOPTICA_DATABASE_URL": database_url}
    command = [str(Path(sys.executable).with_name("panoptica")), "export", "sarif", repo.id]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    runs = {run["tool"]["driver"]["name"]: run for run in json.loads(done.stdout)["runs"]}
    code = runs["panoptica-semgrep"]
    results = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in code["results"]}
    assert results["app/db.py"]["ruleId"] == "CODE-PY-001"
    rules = {r["id"]: r for r in code["tool"]["driver"]["rules"]}
    assert rules["CODE-PY-001"]["relationships"][0]["target"]["id"] == "89"
    assert "external/cwe/cwe-89" in rules["CODE-PY-001"]["properties"]["tags"]
    assert "relationships" not in rules["CODE-PARSE"]
    assert {t["id"] for t in code["taxonomies"][0]["taxa"]} == {"89", "327", "328"}
