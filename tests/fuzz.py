"""Seeded generators of hostile inputs for the property-style fuzz tests: the same cases on every run, so a
failure names a case that can be replayed (`case` index and seed)."""

from __future__ import annotations

import json
import random

SEED = 11  # issue 11
CASES = 300

NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff\ud800",
    "é",
    "😀",
    "\u202e",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "%ff",
    "\\u0000",
    "\\ud800",
    "x" * 300,
    "9" * 5000,
    "{" * 200,
    "null",
    "NaN",
]
NASTY_NUMBERS = [
    "0",
    "-0",
    "1e309",
    "-1e309",
    "9" * 30,
    "9" * 5000,
    "1.5",
    "NaN",
    "Infinity",
    "-1",
    "2147483648",
]


def nasty_string(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(NASTY_STRINGS)
    alphabet = "abcXYZ019_-/:.{}[]\"'\\\x7f\u00e9\u4e2d\U0001f600 "  # NUL comes from NASTY_STRINGS
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def json_value(rng: random.Random, depth: int = 0, keys: list[str] | None = None):
    """A random JSON-able value; may nest deeper than our limits."""
    kind = rng.choice(
        ["null", "bool", "int", "float", "str", "list", "dict", "deep"]
        if depth < 4
        else ["str", "int", "null"]
    )
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice([0, -1, 1, 2**31, 2**63, 10**40, rng.randint(-1000, 1000)])
    if kind == "float":
        return rng.choice([0.5, -1e300, 1e-300, 3.14])
    if kind == "str":
        return nasty_string(rng)
    if kind == "list":
        return [json_value(rng, depth + 1, keys) for _ in range(rng.randint(0, 4))]
    if kind == "deep":
        value: object = 1
        for _ in range(rng.choice([10, 63, 65, 300])):
            value = [value] if rng.random() < 0.5 else {"a": value}
        return value
    names = keys or ["a", "b", "id"]
    return {rng.choice(names): json_value(rng, depth + 1, keys) for _ in range(rng.randint(0, 5))}


def encode(rng: random.Random, value) -> bytes:
    """JSON text of `value`, sometimes with the spellings Python accepts and JSON does not."""
    text = json.dumps(value, ensure_ascii=rng.random() < 0.7)
    roll = rng.random()
    if roll < 0.05:
        text = text.replace("0", "NaN", 1)
    elif roll < 0.1:
        text = text.replace("1", "9" * 5000, 1)
    elif roll < 0.15 and text.startswith("{") and len(text) > 2:
        text = text[:-1] + ', "a": 1, "a": 2}'
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate with ensure_ascii=False: send its escape instead
        return json.dumps(value).encode()


def mutate(rng: random.Random, data: bytes) -> bytes:
    """A few random byte edits: flips, cuts, insertions of bytes that are not UTF-8 or not JSON."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        position = rng.randint(0, len(buffer)) if buffer else 0
        roll = rng.random()
        if roll < 0.3 and buffer:
            buffer[min(position, len(buffer) - 1)] = rng.randint(0, 255)
        elif roll < 0.5:
            del buffer[position:]
        else:
            buffer[position:position] = rng.choice(
                [
                    b"\xff",
                    b"\xc3",
                    b"\xed\xa0\x80",
                    b"\\ud800",
                    b"\\u0000",
                    b"[" * 1500,
                    b"9" * 5000,
                    b"NaN",
                    b"\x00",
                    b'"',
                ]
            )
    return bytes(buffer)


def random_bytes(rng: random.Random) -> bytes:
    return bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 300)))
