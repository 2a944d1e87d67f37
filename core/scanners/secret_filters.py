"""detect-secrets filters of ours, configured by path in `secrets.FILTERS` in place of upstream ones.

`is_indirect_reference` answers exactly what detect-secrets 1.5's filter of that name answers, in linear time.
Upstream searches `([^\\v=!:]*)\\s*(:=?|[!=]{1,3})\\s*([\\w.-]+[\\[\\(][^\\v]*[\\]\\)])`: the first group and `\\s*` both
take spaces, so a line of spaces costs cubic time (a 999-space line: 5 s; Yelp/detect-secrets#868; it gives up
above 1000 characters for that reason). Since the search may start anywhere and the first group may be empty, the
pattern holds exactly when some operator character (`=`, `!` or `:`) is followed by optional whitespace, a run of
`[\\w.-]`, an opening `[` or `(`, and later on the line, before any vertical tab, a closing `]` or `)`. The first
such opening is found by one regex whose parts cannot overlap (each attempt stops at the next operator), and the
closing by a reverse find. tests/core/scanners/test_secrets_throughput.py checks the two agree on generated lines.

Kept in its own module: detect-secrets clears every `lru_cache` of a filter's module on each settings change.
"""

from __future__ import annotations

import re

OPENING = re.compile(r"[=!:]\s*[\w.-]+[\[(]")
CLOSING = re.compile(r"[\])]")


def is_indirect_reference(line: str) -> bool:
    if len(line) > 1000:  # upstream's own bound, kept so the answers stay the same
        return False
    checked_until = (
        -1
    )  # a later opening before the same vertical tab has no closing if an earlier one had none
    for opening in OPENING.finditer(line):
        if opening.end() <= checked_until:
            continue
        tab = line.find("\v", opening.end())
        end = tab if tab >= 0 else len(line)
        if CLOSING.search(line, opening.end(), end):
            return True
        checked_until = end
    return False
