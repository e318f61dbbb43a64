"""Checks of untrusted input that cost nothing and come before any work: numbers, names, JSON text and
files read with a size bound. Each raises `errors.BadInput` with one sentence naming what was refused;
the limits themselves are in `config`.
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
from pathlib import Path
from typing import Any

from sam2_gradio.errors import BadInput

# Unicode categories refused in names: controls (NUL, newlines, escapes), format characters (the
# right-to-left override U+202E, zero-width joiners, BOM), line and paragraph separators, surrogates and
# private-use characters: each can make a name show as something other than what it is.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def finite_float(value: Any, what: str) -> float:
    """`value` as a finite float; `BadInput` naming `what` for text, bools, NaN, infinities and integers too
    large for a float (10**400 raises `OverflowError` in `float`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"{what} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise BadInput(f"{what} is not a finite number") from None
    if not math.isfinite(number):
        raise BadInput(f"{what} is not a finite number")
    return number


def bounded_int(value: Any, low: int, high: int, what: str) -> int:
    """`value` when it is an integer (not a bool) from `low` to `high`, else `BadInput` naming `what`."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = value if not isinstance(value, int) or abs(value) < 10**12 else "a huge number"
        raise BadInput(f"{what} must be an integer from {low} to {high}, got {shown!r}")
    return value


def refused_character(text: str) -> str | None:
    """The first character of `text` a name may not hold (controls, NUL, bidirectional overrides, ...),
    as ``U+XXXX``, or None."""
    for character in text:
        if unicodedata.category(character) in _REFUSED_CATEGORIES:
            return f"U+{ord(character):04X}"
    return None


def check_name_text(text: str, what: str) -> str:
    """`text` when it holds no refused character (see `refused_character`), else `BadInput`."""
    bad = refused_character(text)
    if bad is not None:
        raise BadInput(f"{what} holds the control or formatting character {bad}; use visible characters")
    return text


def read_bounded(path: str | os.PathLike, limit_bytes: int, what: str) -> bytes:
    """The bytes of a file, refused unread (`BadInput`) when larger than `limit_bytes`."""
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read(limit_bytes + 1)
    except FileNotFoundError:
        raise BadInput(f"{what} {path.name} does not exist") from None
    except IsADirectoryError:
        raise BadInput(f"{what} {path.name} is a folder, not a file") from None
    except OSError as error:
        raise BadInput(
            f"{what} {path.name} cannot be read ({error.strerror or type(error).__name__})"
        ) from None
    if len(data) > limit_bytes:
        raise BadInput(f"{what} {path.name} is larger than {limit_bytes / 2**20:g} MB")
    return data


def parse_json(text: str | bytes, what: str) -> Any:
    """Parsed JSON; `BadInput` for invalid JSON, nesting deeper than Python's recursion limit and integers
    of more than 4300 digits (which `json` reports as `RecursionError` and a bare `ValueError`)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(
            f"{what} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except UnicodeDecodeError:
        raise BadInput(f"{what} is not UTF-8 text") from None
    except RecursionError:
        raise BadInput(f"{what} nests its JSON too deeply") from None
    except ValueError as error:  # int digits past sys.get_int_max_str_digits()
        raise BadInput(f"{what} holds a number too long to read ({str(error).split(':')[0]})") from None
