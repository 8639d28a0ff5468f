"""Patterns a client sends (regular expressions, LIKE), compiled into tests that run in time linear in the text.

Why: the server is one event loop shared by every namespace, so no request may hold it long. Python's `re`
backtracks: `^(.*?){4}[^\\s\\S]` took 15 s on one log body, and LIKE translated to `re` (`%%%%%!` became
`.*.*.*.*.*!`) took 30 s. Here every pattern goes to RE2 (google-re2), which never backtracks: it matches in time
linear in the text, and refuses up front what it cannot match that way (backreferences, lookaround, possessive
quantifiers) with a message passed on to the client. RE2 is also the faithful engine: the trace explorer's
operators (ILIKE, hasToken, hasAny, hasAll) are ClickHouse's, and ClickHouse's match()/REGEXP use RE2 syntax.

Bounds: a pattern is at most MAX_PATTERN characters, and compiled with at most MAX_MEMORY bytes (RE2 refuses a
larger program as "pattern too large"; google-re2 keeps 128 compiled patterns, so that cache stays bounded too).
Capture groups are not tracked (only whether a pattern matches matters), which keeps RE2 on its fastest path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import re2

MAX_PATTERN = 1_000
MAX_MEMORY = 1 << 20

Test = Callable[[str], bool]


class PatternError(ValueError):
    """A pattern refused: too long, not RE2 syntax, or too large to compile; str() says why."""


def _options(*, dot_nl: bool, case_sensitive: bool = True) -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern on stderr
    options.max_mem = MAX_MEMORY
    options.never_capture = True
    options.dot_nl = dot_nl
    options.case_sensitive = case_sensitive
    return options


def _compile(pattern: str, options: re2.Options) -> Any:
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "refused"
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        raise PatternError(f"{reason} (RE2 syntax: no backreferences or lookaround)") from None


def _utf8(text: str) -> bytes:
    """The text as RE2 reads it. Encoding here (not in google-re2) skips its str-offset bookkeeping, which we
    never read, and lets a lone surrogate (a YAML scenario can hold one) through instead of raising."""
    return text.encode("utf-8", "surrogatepass")


def _checked(pattern: str) -> str:
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"longer than {MAX_PATTERN:,} characters")
    return pattern


def search(pattern: str, *, dot_nl: bool) -> Test:
    """Whether the RE2 pattern matches somewhere in a text (an unanchored search, as `re.search`).

    dot_nl: whether `.` also matches a newline (ClickHouse's match() does; RE2's and Python's default do not).
    """
    compiled = _compile(_checked(pattern), _options(dot_nl=dot_nl))
    return lambda text: compiled.search(_utf8(text)) is not None


# A LIKE pattern's pieces: a run of `%` (any run of characters, newlines too), `_` (exactly one character), or
# literal text between them.
LIKE_PIECES = re.compile(r"(%+|_)")


def like(pattern: str, *, fold: bool) -> Test:
    """Whether a whole text matches a LIKE pattern (`fold`: ILIKE, ignoring case).

    There is no escape character: `%` and `_` are always wildcards and every other character, a backslash
    included, stands for itself.
    """
    pieces = LIKE_PIECES.split(_checked(pattern))
    translated = "".join(".*" if p.startswith("%") else "." if p == "_" else re2.escape(p) for p in pieces)
    compiled = _compile(translated, _options(dot_nl=True, case_sensitive=not fold))
    return lambda text: compiled.fullmatch(_utf8(text)) is not None
