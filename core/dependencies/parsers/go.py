"""Go modules: `go.mod` and `go.sum`.

go.mod's `require` lines are the build list since Go 1.17 (`// indirect` marks the transitive ones). A `replace`
with a version swaps the module for the replacement (that is the code compiled); a replacement by a local
directory keeps the module's name with version "" (nothing to match). go.sum adds the modules that go.mod does
not name, as transitive. Only go.sum's code hashes count: a version that has only a `/go.mod` hash line was read
for the module graph but its code is not built, so listing it would report vulnerabilities in code that is not
compiled. The standard library is not a module and never appears.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.dependencies.parsers.common import Source


@dataclass(frozen=True)
class Requirement:
    module: str
    version: str
    line: int
    indirect: bool
    declared: str  # the module as required, before any replacement


def _tokens(code: str) -> list[str]:
    return [token.strip('"`') for token in code.split()]


def read_go_mod(text: str) -> list[Requirement]:
    """The build list after replacements, in file order."""
    requires: list[Requirement] = []
    # (module, version or "" for every version) -> (new module, new version or "" for a local directory)
    replaces: dict[tuple[str, str], tuple[str, str]] = {}
    block = ""
    for number, line in enumerate(text.splitlines(), 1):
        code, _, comment = line.partition("//")
        tokens = _tokens(code)
        if not tokens:
            continue
        if block:
            if tokens[0] == ")":
                block = ""
                continue
            directive, args = block, tokens
        elif tokens[1:] == ["("]:
            block = tokens[0]
            continue
        else:
            directive, args = tokens[0], tokens[1:]
        if directive == "require" and len(args) >= 2:
            indirect = re.search(r"\bindirect\b", comment) is not None
            requires.append(Requirement(args[0], args[1], number, indirect, args[0]))
        elif directive == "replace" and "=>" in args:
            arrow = args.index("=>")
            old, new = args[:arrow], args[arrow + 1 :]
            if old and new:
                replaces[(old[0], old[1] if len(old) > 1 else "")] = (new[0], new[1] if len(new) > 1 else "")
    resolved = []
    for req in requires:
        replacement = replaces.get((req.module, req.version)) or replaces.get((req.module, ""))
        if replacement:
            module, version = replacement if replacement[1] else (req.module, "")
            req = Requirement(module, version, req.line, req.indirect, req.module)
        resolved.append(req)
    return resolved


def parse_go_mod(src: Source) -> None:
    for req in read_go_mod(src.text):
        src.add("golang", req.module, req.version, req.line, not req.indirect)


def parse_go_sum(src: Source) -> None:
    go_mod = src.sibling("go.mod")
    # Modules go.mod already lists (under either name of a replacement) come from there, at go.mod's version.
    listed = set()
    if go_mod is not None:
        listed = {name for req in read_go_mod(go_mod.text) for name in (req.module, req.declared)}
    seen: set[tuple[str, str]] = set()
    malformed = 0
    for number, line in enumerate(src.text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3:
            malformed += 1
            continue
        module, version = fields[0], fields[1]
        if version.endswith("/go.mod") or module in listed or (module, version) in seen:
            continue
        seen.add((module, version))
        src.add("golang", module, version, number, False)
    if malformed:
        src.problem(f"{malformed} malformed line(s) skipped")
