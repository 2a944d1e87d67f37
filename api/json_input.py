"""Strict JSON for untrusted request bodies: every malformed input is a `BadJSON` with a message the caller can
act on, never a RecursionError, ValueError or a string the database cannot store.

Python's `json` accepts things our callers must not see: NaN and Infinity, numbers whose conversion raises
ValueError (more than 4,300 digits), nesting deep enough to raise RecursionError, lone surrogate escapes
(`"\\ud800"`, which no UTF-8 database or encoder accepts), NUL characters (PostgreSQL refuses them in text) and
repeated keys (two parsers may disagree about which one wins). All of them are refused here.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
MAX_NUMBER_LENGTH = 100
# A surrogate can only come from a \uD800-\uDFFF escape (the text itself was decoded strictly from UTF-8), and a
# NUL from \u0000: when neither escape appears, no string needs to be looked at.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")


class BadJSON(ValueError):
    """The body cannot be used; `str(error)` is safe to show to the caller."""


def _number(text: str) -> str:
    if len(text) > MAX_NUMBER_LENGTH:
        raise BadJSON(f"A JSON number has more than {MAX_NUMBER_LENGTH} characters.")
    return text


def _int(text: str) -> int:
    return int(_number(text))


def _float(text: str) -> float:
    return float(_number(text))


def _constant(name: str) -> Any:
    raise BadJSON(f"JSON does not allow {name}.")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        repeated = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise BadJSON(f"A JSON object repeats the key {_shown(repeated)}.")
    return result


def _shown(key: str) -> str:
    return json.dumps(key[:40].encode("utf-8", "replace").decode("utf-8"))


def loads(data: bytes | str, *, what: str = "The request body") -> Any:
    """Decode `data` (bytes must be UTF-8) into JSON values, within the limits above."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadJSON(f"{what} is not valid UTF-8 (byte {error.start}).") from None
    else:
        text = data
    try:
        value = json.loads(
            text,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
    except BadJSON:
        raise
    except RecursionError:
        raise BadJSON(f"{what} is nested more than {MAX_DEPTH} levels deep.") from None
    except json.JSONDecodeError as error:
        raise BadJSON(
            f"{what} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from None
    except ValueError as error:  # int() of an over-long number, should the limits above ever be raised
        raise BadJSON(f"{what} is not valid JSON: {error}.") from None
    check(value, deep_strings=_SUSPECT_ESCAPE.search(text) is not None, what=what)
    return value


def check(value: Any, *, deep_strings: bool = True, what: str = "The request body") -> None:
    """Nesting depth, and (when `deep_strings`) no lone surrogate or NUL in any key or string."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()] if deep_strings else list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            if deep_strings and isinstance(item, str):
                check_text(item, what=what)
            continue
        if depth > MAX_DEPTH:
            raise BadJSON(f"{what} is nested more than {MAX_DEPTH} levels deep.")
        stack.extend((child, depth + 1) for child in children)


def check_text(text: str, *, what: str = "The request body") -> None:
    """Refuse what no UTF-8 encoder or PostgreSQL text column accepts."""
    if "\x00" in text:
        raise BadJSON(f"{what} contains a NUL character (\\u0000).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadJSON(
            f"{what} contains a lone surrogate (a \\uD800-\\uDFFF escape without its pair)."
        ) from None
