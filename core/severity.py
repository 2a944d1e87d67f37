"""How bad a finding (or a failing control) is: one ordered vocabulary for every scanner, filter and surface.

`Severity` is a str enum, so a member equals (and hashes as) its name: rows, JSON and payloads keep plain
strings such as "HIGH", and `"HIGH" in ORDER`, `counts["HIGH"]` work either way. The order is the
declaration's, most severe first; comparisons follow it (`Severity.CRITICAL > Severity.HIGH`), never the
alphabet. The GraphQL enum is derived from it (api/graphql/types.py).
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import InvalidInput


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFO = "INFO"

    @classmethod
    def parse(cls, text: str) -> Severity:
        """A severity by name, any case; InvalidInput naming the allowed ones otherwise."""
        try:
            return cls(str(text).strip().upper())
        except ValueError:
            raise InvalidInput(f"severity must be one of {', '.join(cls)}") from None

    @property
    def rank(self) -> int:
        """0 for CRITICAL, 4 for INFO: a sort key, most severe first."""
        return ORDER.index(self)

    def at_or_above(self) -> tuple[Severity, ...]:
        """This severity and every worse one, most severe first (a minimum-severity filter)."""
        return ORDER[: self.rank + 1]

    # More severe compares greater. A plain string that names a severity compares the same way.
    def __lt__(self, other: object) -> bool:
        return _rank_of(other) < self.rank if _known(other) else NotImplemented

    def __le__(self, other: object) -> bool:
        return _rank_of(other) <= self.rank if _known(other) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return _rank_of(other) > self.rank if _known(other) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return _rank_of(other) >= self.rank if _known(other) else NotImplemented


ORDER: tuple[Severity, ...] = tuple(Severity)  # most severe first
NAMES = frozenset(s.value for s in ORDER)


def _known(value: object) -> bool:
    return isinstance(value, str) and value in NAMES


def _rank_of(value: object) -> int:
    return Severity(value).rank


def rank(value: str) -> int:
    """The sort key of a stored severity, most severe first; an unknown one sorts after INFO."""
    return Severity(value).rank if _known(value) else len(ORDER)


def at_or_above(minimum: str) -> tuple[Severity, ...]:
    """Every severity at or above `minimum`; all of them when `minimum` names none (no threshold)."""
    return Severity(minimum).at_or_above() if _known(minimum) else ORDER


__all__ = ["ORDER", "Severity", "at_or_above", "rank"]
