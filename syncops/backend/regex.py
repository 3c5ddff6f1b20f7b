"""Python regular expressions rewritten for libSQL's REGEXP (SQLite's ``ext/misc/regexp.c``).

Django's sqlite3 backend runs ``__regex``/``__iregex`` with Python's ``re``; libSQL's REGEXP is
a small engine where ``\\w``/``\\d``/``\\s`` are ASCII-only, ``.`` matches a newline, and
``(?i)``, ``(?:...)`` and ``\\A`` are syntax errors. This module parses the pattern with
Python's own parser and writes every character class out as the exact code-point ranges
Python would match, so both engines agree; constructs regexp.c cannot express (lookaround,
back-references, ``re.MULTILINE``, ``\\b``) raise ``NotSupportedError``.
"""

from __future__ import annotations

import re
from functools import lru_cache

# The stdlib's pattern parser (``sre_parse``): the reference for what a pattern means.
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from django.db import NotSupportedError

_MAX_UNICODE = 0x10FFFF
# Every code point a UTF-8 text can hold, in order: classes are found by scanning it once.
_ALPHABET = "".join(chr(c) for c in range(_MAX_UNICODE + 1) if not 0xD800 <= c <= 0xDFFF)
_SPECIAL = set("\\{}()[]|*+?.^$-")


def _unsupported(what: str) -> NotSupportedError:
    return NotSupportedError(
        f"Regular expression {what} is not supported by syncops.backend: libSQL's REGEXP is "
        "a smaller engine than Python's re. Filter in Python instead."
    )


def _char(code: int) -> str:
    """One code point as regexp.c reads it, inside or outside a class."""
    char = chr(code)
    if char.isascii() and char.isalnum():
        return char
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return char  # regexp.c has no escape above the BMP, but reads the UTF-8 character


@lru_cache(maxsize=256)
def _class(python_class: str, flags: int) -> str:
    """The regexp.c class matching exactly the characters Python's ``python_class`` matches."""
    runs = [m.span() for m in re.finditer(f"(?:{python_class})+", _ALPHABET, flags)]
    ranges = [(ord(_ALPHABET[start]), ord(_ALPHABET[end - 1])) for start, end in runs]
    if not ranges:
        return "[^\\u0000-\\uffff" + chr(0x10000) + "-" + chr(_MAX_UNICODE) + "]"
    complement: list[tuple[int, int]] = []
    previous = -1
    for low, high in ranges:
        if low > previous + 1:
            complement.append((previous + 1, low - 1))
        previous = high
    if previous < _MAX_UNICODE:
        complement.append((previous + 1, _MAX_UNICODE))
    # Surrogates cannot occur in stored text; drop them from the complement's ranges.
    complement = [(lo, hi) for lo, hi in complement if not (lo >= 0xD800 and hi <= 0xDFFF)]
    negate = len(complement) < len(ranges)
    body = "".join(
        _char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}"
        for lo, hi in (complement if negate else ranges)
    )
    return f"[{'^' if negate else ''}{body}]"


def _python_class(op: Any, av: Any) -> str:
    """Python source of a one-character atom from the parse tree, for ``_class``."""
    if op is sre.LITERAL:
        return f"\\U{av:08x}"
    if op is sre.NOT_LITERAL:
        return f"[^\\U{av:08x}]"
    if op is sre.IN:
        items: list[str] = []
        for item_op, item_av in av:
            if item_op is sre.NEGATE:
                items.insert(0, "^")
            elif item_op is sre.LITERAL:
                items.append(f"\\U{item_av:08x}")
            elif item_op is sre.RANGE:
                items.append(f"\\U{item_av[0]:08x}-\\U{item_av[1]:08x}")
            elif item_op is sre.CATEGORY:
                items.append(_CATEGORIES[item_av])
            else:
                raise _unsupported(f"class item {item_op}")
        return f"[{''.join(items)}]"
    raise _unsupported(str(op))


_CATEGORIES = {
    sre.CATEGORY_DIGIT: "\\d",
    sre.CATEGORY_NOT_DIGIT: "\\D",
    sre.CATEGORY_SPACE: "\\s",
    sre.CATEGORY_NOT_SPACE: "\\S",
    sre.CATEGORY_WORD: "\\w",
    sre.CATEGORY_NOT_WORD: "\\W",
}
_CHARACTER_FLAGS = re.IGNORECASE | re.ASCII


def _atom(op: Any, av: Any, flags: int) -> str:
    if op is sre.LITERAL and not flags & re.IGNORECASE:
        char = chr(av)
        return f"\\{char}" if char in _SPECIAL else _char(av)
    if op in (sre.LITERAL, sre.NOT_LITERAL, sre.IN):
        return _class(_python_class(op, av), flags & _CHARACTER_FLAGS)
    if op is sre.ANY:
        return "." if flags & re.DOTALL else "[^\\n]"
    raise _unsupported(str(op))


def _sequence(pattern: Any, flags: int) -> str:
    return "".join(_node(op, av, flags) for op, av in pattern)


def _group(pattern: Any, flags: int) -> str:
    return f"({_sequence(pattern, flags)})"


def _node(op: Any, av: Any, flags: int) -> str:
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        # Laziness cannot change whether a search matches, only where.
        low, high, item = av
        body = _sequence(item, flags) if len(item) == 1 else _group(item, flags)
        if high is sre.MAXREPEAT:
            quantifier = {0: "*", 1: "+"}.get(low, f"{{{low},}}")
        elif (low, high) == (0, 1):
            quantifier = "?"
        else:
            quantifier = f"{{{low}}}" if low == high else f"{{{low},{high}}}"
        return body + quantifier
    if op is sre.SUBPATTERN:
        _, add_flags, del_flags, item = av
        return _group(item, (flags | add_flags) & ~del_flags)
    if op is sre.BRANCH:
        return "(" + "|".join(_sequence(item, flags) for item in av[1]) + ")"
    if op is sre.AT:
        if av in (sre.AT_BEGINNING, sre.AT_END) and flags & re.MULTILINE:
            raise _unsupported("with re.MULTILINE")
        if av in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING):
            return "^"
        if av is sre.AT_END:
            return "\\n?$"  # Python's $ also matches before a final newline
        if av is sre.AT_END_STRING:
            return "$"
        raise _unsupported("word boundary (\\b, \\B)")
    return _atom(op, av, flags)


@lru_cache(maxsize=512)
def translate(pattern: str, ignore_case: bool = False) -> str:
    """A regexp.c pattern that matches a text exactly when ``re.search(pattern, text)`` does."""
    try:
        parsed = sre_parse.parse(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise _unsupported(f"{pattern!r} ({exc})") from exc
    flags = parsed.state.flags
    try:
        return _sequence(parsed, flags)
    except NotSupportedError as exc:
        raise NotSupportedError(f"{exc} Pattern: {pattern!r}.") from None
