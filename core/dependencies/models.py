"""Tables for dependency advisories: OSV records (fetched or imported), query results per day, inventories.

- `osv_records`: full OSV records fetched from the API, keyed by (id, modified), so each version of a record is
  fetched once.
- `osv_queries`: the API's answer (advisory ids and modified stamps) per (ecosystem, name, version) and UTC day,
  so a second repository with the same packages the same day asks OSV nothing.
- `osv_advisories` + `osv_affected`: an imported OSV export (air-gapped installs); when present it is used
  instead of the API. `osv_affected` indexes advisories by (ecosystem, normalized name).
- `repository_dependencies`: each repository's last inventory, so an unchanged commit can be re-matched against
  new advisories without downloading it again.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class OsvRecord(TableModel, table=True):
    __tablename__ = "osv_records"

    id: str = Field(primary_key=True, max_length=100)
    modified: str = Field(primary_key=True, max_length=40)
    record: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fetched_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())


class OsvQuery(TableModel, table=True):
    __tablename__ = "osv_queries"

    ecosystem: str = Field(primary_key=True, max_length=40)
    name: str = Field(primary_key=True, max_length=300)
    version: str = Field(primary_key=True, max_length=200)
    day: date = Field(primary_key=True)
    vulns: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [{"id", "modified"}]


class OsvAdvisory(TableModel, table=True):
    __tablename__ = "osv_advisories"

    id: str = Field(primary_key=True, max_length=100)
    modified: str = Field(default="", max_length=40)
    record: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OsvAffected(TableModel, table=True):
    __tablename__ = "osv_affected"
    __table_args__ = (Index("ix_osv_affected_package", "ecosystem", "name"),)

    ecosystem: str = Field(primary_key=True, max_length=40)
    name: str = Field(primary_key=True, max_length=300)
    advisory_id: str = Field(
        primary_key=True, foreign_key="osv_advisories.id", max_length=100, ondelete="CASCADE"
    )


class RepositoryDependency(TableModel, table=True):
    __tablename__ = "repository_dependencies"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    repository_id: str = Field(
        foreign_key="azure_repositories.id", index=True, max_length=36, ondelete="CASCADE"
    )
    ecosystem: str = Field(max_length=40)
    name: str = Field(max_length=300)
    version: str = Field(default="", max_length=200)
    purl: str = Field(default="", max_length=600)
    path: str = Field(default="", max_length=1024)
    line: int | None = None
    direct: bool = False
