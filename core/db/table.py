"""`TableModel`: the base of every table, SQLModel itself at run time, with the class attributes typed.

SQLModel declares `__tablename__` as a `declared_attr` method, so `__tablename__ = "accounts"` does not
type-check (fastapi/sqlmodel#98, open), and it does not declare the `__table__` that SQLAlchemy sets on a
table class. The type checker sees this subclass instead; at run time `TableModel` is `SQLModel`, so the
models, their metadata and their migrations are exactly what they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlmodel import SQLModel

if TYPE_CHECKING:
    from sqlalchemy import Table

    class TableModel(SQLModel):
        # A plain name, as every model here sets it (the base's declared_attr type is what fails to check).
        __tablename__: ClassVar[str]  # pyright: ignore[reportIncompatibleVariableOverride]
        __table__: ClassVar[Table]

else:
    TableModel = SQLModel
