"""Property: the linear-time patterns (emulator/vendors/mistral/patterns.py) agree with a direct evaluation.

LIKE is checked against a small dynamic-programming matcher written from the documented semantics (`%` any run
of characters, `_` exactly one, everything else literal, no escape character; ILIKE compares ASCII case-blind).
Regexes in the syntax RE2 and Python share are checked against Python's `re` (on small texts, where
backtracking costs nothing), with and without `.` matching newlines.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.vendors.mistral import patterns

TEXT_CHARS = "abAB.\n\\%_*é"
texts = st.text(alphabet=TEXT_CHARS, max_size=12)
like_patterns = st.text(alphabet=TEXT_CHARS + "%%__", max_size=8)


def like_oracle(text: str, pattern: str) -> bool:
    """Whether `pattern` matches all of `text`: matched[i][j] says text[:i] matches pattern[:j]."""
    matched = [[False] * (len(pattern) + 1) for _ in range(len(text) + 1)]
    matched[0][0] = True
    for j, p in enumerate(pattern, 1):
        matched[0][j] = matched[0][j - 1] and p == "%"
    for i, ch in enumerate(text, 1):
        for j, p in enumerate(pattern, 1):
            if p == "%":
                matched[i][j] = matched[i][j - 1] or matched[i - 1][j]
            else:
                matched[i][j] = matched[i - 1][j - 1] and (p == "_" or p == ch)
    return matched[len(text)][len(pattern)]


@settings(max_examples=400, deadline=None)
@given(text=texts, pattern=like_patterns, fold=st.booleans())
def test_like_agrees_with_a_direct_evaluation(text, pattern, fold):
    if fold:
        assert patterns.like(pattern, fold=True)(text) == like_oracle(text.lower(), pattern.lower())
    else:
        assert patterns.like(pattern, fold=False)(text) == like_oracle(text, pattern)


# Regexes from pieces whose meaning RE2 and Python share.
atoms = st.sampled_from(["a", "b", "A", ".", "\\.", "[ab]", "[^a]", "\\d", "\\s", "\\w", "é", "\\n", "(?:a|b)",
                         "(a)", "(?:ab|a)"])
quantifiers = st.sampled_from(["", "", "*", "+", "?", "{2}", "{0,2}", "*?", "+?"])
pieces = st.tuples(atoms, quantifiers).map("".join)
regexes = st.tuples(st.sampled_from(["", "^", "(?i)"]), st.lists(pieces, min_size=1, max_size=5).map("".join),
                    st.sampled_from(["", "$", "|b"])).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet="abAB1 .\né_", max_size=12), pattern=regexes, dot_nl=st.booleans())
def test_regex_search_agrees_with_python_on_the_shared_syntax(text, pattern, dot_nl):
    # Python's `$` also matches before a final newline and its \d, \w, \s take Unicode; RE2's do not.
    if pattern.endswith("$") and text.endswith("\n") or any(c in pattern for c in ("\\d", "\\w", "\\s")) and \
            not text.isascii():
        return
    expected = re.search(pattern, text, re.DOTALL if dot_nl else 0) is not None
    assert patterns.search(pattern, dot_nl=dot_nl)(text) == expected, (pattern, text)
