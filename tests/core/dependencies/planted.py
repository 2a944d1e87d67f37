"""What the dependency tests plant in the emulated Azure DevOps (payments-api's lockfiles) and read back, shared by
the test modules of this folder, so that none imports another."""

import json
import zipfile

from sqlalchemy import delete
from sqlmodel import select

from core.db import session_scope
from core.dependencies.models import OsvQuery
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from core.scans.models import ScanRun
from tests.support.flows import connect_organization

PACKAGE_LOCK = """{
  "name": "shop",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "shop",
      "version": "1.0.0",
      "dependencies": {
        "lodash": "4.17.15"
      }
    },
    "node_modules/lodash": {
      "version": "4.17.15"
    },
    "node_modules/mixin-deep": {
      "version": "1.3.1"
    }
  }
}
"""
REQUIREMENTS = "flask==2.3.2\njinja2==2.10\nPyYAML==5.3.1\n"
POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.contoso</groupId>
  <artifactId>billing</artifactId>
  <version>1.0.0</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>2.14.1</version>
    </dependency>
  </dependencies>
</project>
"""
FILES = {"package-lock.json": PACKAGE_LOCK, "requirements.txt": REQUIREMENTS, "pom.xml": POM}

# (rule id, severity, path, line): what a user sees in the console for the planted files.
EXPECTED = {
    ("GHSA-35jh-r3h4-6jhm", "HIGH", "package-lock.json", 14),
    ("GHSA-p6mc-m468-83gw", "HIGH", "package-lock.json", 14),
    ("GHSA-g95f-p29q-9xw4", "CRITICAL", "package-lock.json", 17),
    ("GHSA-462w-v97r-4m45", "HIGH", "requirements.txt", 2),
    ("GHSA-8q59-q68h-6hv4", "CRITICAL", "requirements.txt", 3),
    ("GHSA-jfh8-c2jp-5v3q", "CRITICAL", "pom.xml", 7),
}


async def connected(services, world) -> None:
    world.organization("contoso").project("Payments").repositories[0].files = dict(FILES)
    repo = world.organization("contoso").project("Payments").repositories[0]
    repo.head_commit = repo.tree_digest()
    await connect_organization(services)


async def dependency_findings(services) -> list[Finding]:
    async with services.sessions() as session:
        return list((await session.exec(select(Finding).where(Finding.category == "DEPENDENCY"))).all())


async def runs(services) -> list[ScanRun]:
    """The runs of payments-api, the repository with the planted files."""
    async with services.sessions() as session:
        repo = (
            await session.exec(select(AzureRepository).where(AzureRepository.name == "payments-api"))
        ).one()
        query = select(ScanRun).where(ScanRun.repository_id == repo.id).order_by(ScanRun.created_at)
        return list((await session.exec(query)).all())


async def new_day(services) -> None:
    """Forget today's cached OSV answers, as the next UTC day would."""
    async with session_scope(services.sessions) as session:
        await session.exec(delete(OsvQuery))


def write_zip(path, records: list[dict]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
