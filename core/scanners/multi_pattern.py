"""Which of many Python regexes may match a text, in one pass: the secrets scanner's prefilter.

`MultiPattern(patterns).possible(text)` answers the indices of the patterns that may match `text` (a superset: the
caller confirms with the pattern itself). With Hyperscan (Vectorscan, the PyPI package `hyperscan`) every pattern
is scanned at once in one pass over the text, in linear time; without it, each pattern is searched with `re`, which
gives exactly the matching ones (the same answers once confirmed, slower).

Hyperscan does not read Python's regex dialect, and a pattern it misreads would silently lose matches. So each
pattern is parsed by Python's own parser (`re._parser`) and written out again as a *relaxation* that Hyperscan
accepts and that matches wherever the original does:
- zero-width assertions (lookarounds, `^`, `$`, `\\b`, `\\A`, `\\Z`) are dropped (dropping a condition only widens);
- a bounded repeat above 16 becomes unbounded (`{86}` -> `{16,}`), a back-reference becomes "anything" (`.*` over every character), a conditional group both of its branches,
  atomic groups and possessive repeats plain ones;
- Python's Unicode classes are widened: `\\w`, `\\d` and `\\s` in a positive set also take every non-ASCII
  character (Hyperscan's are ASCII-only), negated sets are only ever narrowed in what they exclude;
- case-insensitivity is written out as explicit sets (`[kK\\x{212A}]`), the non-ASCII case folds Python applies to
  ASCII letters included, so nothing depends on Hyperscan's case rules.
Each relaxed pattern is also compiled with Hyperscan's own `HS_FLAG_PREFILTER` (a superset again). A pattern that
Hyperscan still refuses is searched with `re` on every text (`always`): slower, never lost.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Sequence
from typing import Any

# The parser's private modules (the public sre_* aliases warn as deprecated); typeshed has no stubs for them,
# so the checker sees them as Any rather than guessing at their opcodes.
C: Any = importlib.import_module("re._constants")
sre: Any = importlib.import_module("re._parser")

try:  # an optional accelerator: the same answers without it
    import hyperscan
except ImportError:  # pragma: no cover - exercised by ENGINE="re" in the tests
    hyperscan = None

MAX_CODE_POINT = 0x10FFFF
# Bounded repeats above this are written unbounded (a superset): Hyperscan's compile time grows with them (one
# `[^\n]{0,400}?` between two classes took 440 s to compile; unbounded, milliseconds) while its scan does not need
# them to stay selective (the literals and classes around a repeat do the selecting).
MAX_BOUNDED_REPEAT = 16
NON_ASCII = (0x80, MAX_CODE_POINT)
# Non-ASCII characters that Python's case-insensitive matching takes as ASCII letters (computed over every code
# point; tests/core/scanners/test_secrets_throughput.py recomputes it).
EXTRA_FOLDS = {"i": (0x130, 0x131), "s": (0x17F,), "k": (0x212A,)}
# Python's \s for str patterns beyond Hyperscan's [\t\n\v\f\r ]: \x1c-\x1f (and non-ASCII, added separately).
PYTHON_EXTRA_SPACES = (0x1C, 0x1F)


class Unsupported(Exception):
    """The pattern uses a construct this relaxation does not write out."""


def char(code: int) -> str:
    if chr(code).isascii() and chr(code).isalnum():
        return chr(code)
    return f"\\x{{{code:X}}}"


def case_variants(code: int) -> set[int]:
    c = chr(code)
    variants = {code}
    for other in (c.lower(), c.upper(), c.casefold(), c.title()):
        if len(other) == 1:
            variants.add(ord(other))
    for letter in {c.lower()} & EXTRA_FOLDS.keys():
        variants.update(EXTRA_FOLDS[letter])
    return variants


def ranges_under_case(lo: int, hi: int) -> list[tuple[int, int]]:
    """A range and its case variants (for a case-insensitive set): ASCII letters in it gain their other case and
    their non-ASCII folds; a non-ASCII part widens to every non-ASCII character."""
    out = [(lo, hi)]
    for a, b, shift in ((ord("a"), ord("z"), -32), (ord("A"), ord("Z"), 32)):
        start, end = max(lo, a), min(hi, b)
        if start <= end:
            out.append((start + shift, end + shift))
            for code in range(start, end + 1):
                out.extend((f, f) for f in EXTRA_FOLDS.get(chr(code).lower(), ()))
    if hi >= 0x80:
        out.append(NON_ASCII)
    return out


def category(name, negated_set: bool, ascii_only: bool) -> str | None:
    """A category inside a set; None when it must be left out of a negated set (leaving an item out of a negated
    set only widens it)."""
    positive = {C.CATEGORY_DIGIT: "\\d", C.CATEGORY_WORD: "\\w", C.CATEGORY_SPACE: "\\s"}
    negative = {C.CATEGORY_NOT_DIGIT: "\\D", C.CATEGORY_NOT_WORD: "\\W", C.CATEGORY_NOT_SPACE: "\\S"}
    if name in positive:
        if negated_set:  # excludes Hyperscan's ASCII class: a subset of what Python excludes
            return positive[name]
        extra = "" if ascii_only else f"{char(NON_ASCII[0])}-{char(NON_ASCII[1])}"
        if name == C.CATEGORY_SPACE and not ascii_only:
            extra += f"{char(PYTHON_EXTRA_SPACES[0])}-{char(PYTHON_EXTRA_SPACES[1])}"
        return positive[name] + extra
    if name in negative:
        # Positive set: Hyperscan's \W (not ASCII word) is a superset of Python's. Negated set: [^\W] would be
        # ASCII words only, narrower than Python's, so it is left out.
        return None if negated_set else negative[name]
    raise Unsupported(f"category {name}")


class Writer:
    def __init__(self, flags: int):
        self.flags = flags

    def pattern(self, subpattern, flags: int) -> str:
        return "".join(self.item(op, av, flags) for op, av in subpattern)

    def item(self, op, av, flags: int) -> str:
        caseless = bool(flags & re.IGNORECASE)
        ascii_only = bool(flags & re.ASCII)
        if op is C.LITERAL:
            if caseless:
                variants = case_variants(av)
                if len(variants) > 1:
                    return "[" + "".join(char(v) for v in sorted(variants)) + "]"
            return char(av)
        if op is C.NOT_LITERAL:
            return f"[^{char(av)}]"
        if op is C.ANY:
            return "[\\x{0}-\\x{10FFFF}]" if flags & re.DOTALL else "[^\\n]"
        if op is C.IN:
            return self.charset(av, caseless, ascii_only)
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            low, high, sub = av
            body = self.pattern(sub, flags)
            if not body:
                return ""
            if high == C.MAXREPEAT or high > MAX_BOUNDED_REPEAT:  # x{m,n} is within x{min(m, B),}
                bound = f"{{{min(low, MAX_BOUNDED_REPEAT)},}}"
            else:
                bound = f"{{{low},{high}}}"
            return f"(?:{body}){bound}"
        if op is C.SUBPATTERN:
            _group, add, delete, sub = av
            return "(?:" + self.pattern(sub, (flags | add) & ~delete) + ")"
        if op is C.ATOMIC_GROUP:
            return "(?:" + self.pattern(av, flags) + ")"
        if op is C.BRANCH:
            return "(?:" + "|".join(self.pattern(sub, flags) for sub in av[1]) + ")"
        if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            return ""
        if op is C.GROUPREF:
            return "[\\x{0}-\\x{10FFFF}]*"
        if op is C.GROUPREF_EXISTS:
            _group, yes, no = av
            return "(?:" + self.pattern(yes, flags) + "|" + (self.pattern(no, flags) if no else "") + ")"
        raise Unsupported(str(op))

    def charset(self, items, caseless: bool, ascii_only: bool) -> str:
        negated = bool(items) and items[0][0] is C.NEGATE
        parts: list[str] = []
        for op, av in items[1:] if negated else items:
            if op is C.LITERAL:
                codes = case_variants(av) if caseless and not negated else {av}
                parts.extend(char(c) for c in sorted(codes))
            elif op is C.RANGE:
                spans = ranges_under_case(*av) if caseless and not negated else [av]
                parts.extend(f"{char(lo)}-{char(hi)}" for lo, hi in spans)
            elif op is C.CATEGORY:
                written = category(av, negated, ascii_only)
                if written is not None:
                    parts.append(written)
            else:
                raise Unsupported(f"set item {op}")
        if negated:
            return "[^" + "".join(parts) + "]" if parts else "[\\x{0}-\\x{10FFFF}]"
        return "[" + "".join(parts) + "]" if parts else "[^\\x{0}-\\x{10FFFF}]"


def relaxed(pattern: re.Pattern) -> str:
    """A Hyperscan pattern matching (at least) wherever `pattern` matches. Raises `Unsupported`."""
    if not isinstance(pattern.pattern, str):
        raise Unsupported("bytes pattern")
    parsed = sre.parse(pattern.pattern, pattern.flags & ~re.UNICODE)
    flags = parsed.state.flags
    return Writer(flags).pattern(parsed, flags)


def compiled(written: list[tuple[int, bytes]], flags: int):
    """One database of every expression Hyperscan accepts, and the ids it refused (found by halving, so a
    refused pattern costs a few compilations, not one per pattern)."""
    assert hyperscan is not None  # only called when the accelerator is installed
    if not written:
        return None, []
    database = hyperscan.Database()
    try:
        database.compile(expressions=[e for _, e in written], ids=[i for i, _ in written], flags=flags)
        return database, []
    except hyperscan.error:
        if len(written) == 1:
            return None, [written[0][0]]
    half = len(written) // 2
    _, refused = compiled(written[:half], flags)
    _, refused_too = compiled(written[half:], flags)
    refused += refused_too
    if len(refused) == len(written):
        return None, refused
    database, _ = compiled([w for w in written if w[0] not in set(refused)], flags)
    return database, refused


class MultiPattern:
    """`possible(text)`: the indices of `patterns` that may match `text` (exactly those that match, with `re`)."""

    def __init__(self, patterns: Sequence[re.Pattern], engine: str = "auto", confirmed: Sequence[int] = ()):
        """`confirmed`: indices whose matches the caller searches for anyway; without Hyperscan they are answered
        as possible on every text rather than searched twice."""
        self.patterns = tuple(patterns)
        self.confirmed = frozenset(confirmed)
        self.always: tuple[int, ...] = tuple(range(len(self.patterns)))  # searched with `re` on every text
        self.database = None
        self.engine = "re"
        self._local = threading.local()  # a Hyperscan scratch space is per thread
        if engine in ("auto", "hyperscan") and hyperscan is not None:
            self._compile()
        elif engine == "hyperscan":
            raise RuntimeError("the hyperscan engine is not installed")

    def _compile(self) -> None:
        assert hyperscan is not None  # only called when the accelerator is installed
        flags = hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_PREFILTER
        written: list[tuple[int, bytes]] = []
        always = []
        for index, pattern in enumerate(self.patterns):
            try:
                written.append((index, relaxed(pattern).encode()))
            except (Unsupported, re.error):
                always.append(index)
        database, refused = compiled(written, flags)
        always.extend(refused)
        if database is not None:
            self.database, self.engine = database, "hyperscan"
        self.always = tuple(sorted(always))

    def possible(self, text: str) -> set[int]:
        found = {i for i in self.always if i in self.confirmed or self.patterns[i].search(text)}
        if self.database is not None and text:

            def on_match(index: int, start: int, end: int, flags: int, context) -> None:
                found.add(index)

            scratch = getattr(self._local, "scratch", None)
            if scratch is None:
                assert hyperscan is not None  # a database exists only when the accelerator is installed
                scratch = self._local.scratch = hyperscan.Scratch(self.database)
            self.database.scan(text.encode("utf-8", "replace"), match_event_handler=on_match, scratch=scratch)
        return found
