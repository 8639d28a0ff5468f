"""The `search_expression` language of logs, traces, spans and evaluations: a tokenizer and a recursive-descent
parser that compiles an expression into a predicate over one kind's rows.

Each condition is checked against the kind's field table (fields.py) while it is parsed, so an unknown field, an
operator the field's type lacks or a value of the wrong type is a 422 naming the character position before any
row is read. Length (MAX_EXPRESSION) and nesting (MAX_DEPTH) are capped so a hostile expression cannot exhaust
the stack, and the number of conditions and patterns (MAX_CONDITIONS, MAX_PATTERNS) so that it cannot make each
row cost much; regexes and LIKE patterns run in linear time (patterns.py). The grammar is written down in the
docstring of emulator/vendors/mistral.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from emulator.core.errors import ApiError
from emulator.vendors.mistral import patterns
from emulator.vendors.mistral.errors import error
from emulator.vendors.mistral.fields import micros
from emulator.vendors.mistral.otel.fields import Field, Kind

MAX_EXPRESSION = 10_000
MAX_DEPTH = 32  # nested parentheses and NOTs
# Every row is tested against the expression, so these bound the work per row: over 200,000 rows (the logs of
# 100,000 events) a condition costs ~0.05 s and a regex or LIKE ~0.4 s (a core shared with other work).
MAX_CONDITIONS = 64
MAX_PATTERNS = 4  # regex and LIKE conditions, counted among the conditions too
PATTERN_OPS = frozenset({"like", "ilike", "not_like", "not_ilike", "regexp", "not_regexp"})
PARSE_ERROR = "TRACES_FILTER_QUERY_PARSE_ERROR"

TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
                      |(?P<op>==|!=|<>|<=|>=|=~|!~|[=<>(),\[\]])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))""", re.VERBOSE)
SPACE, SPACE_TO_END = re.compile(r"\s*"), re.compile(r"\s*\Z")
KEYWORDS = {"and", "or", "not", "like", "ilike", "in", "between", "exists", "contains", "true", "false"}
FUNCTIONS = {"has": "has", "hasany": "hasAny", "hasall": "hasAll", "hastoken": "hasToken"}
COMPARE = {"=": "eq", "==": "eq", "!=": "neq", "<>": "neq", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte",
           "=~": "regexp", "!~": "not_regexp"}
Predicate = Callable[[dict[str, Any]], bool]
TOKEN_SEPARATORS = re.compile(r"[^A-Za-z0-9_]+")  # hasToken's words are runs of these characters


@dataclass
class Tok:
    kind: str  # str, num, op, word, end
    text: str
    value: Any
    pos: int


def _tokens(text: str) -> list[Tok]:
    out, pos = [], 0
    while not SPACE_TO_END.match(text, pos):
        m = TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            start = SPACE.match(text, pos).end()
            raise _bad(start, f"unexpected character {text[start]!r}")
        kind = m.lastgroup
        raw = m.group(kind)
        start = m.start(kind)
        if kind == "str":
            value: Any = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif kind == "num":
            try:
                value = float(raw) if any(ch in raw for ch in ".eE") else int(raw)
            except ValueError:
                raise _bad(start, f"the number {raw[:20]!r}... is too long") from None
        else:
            value = raw
        out.append(Tok(kind, raw, value, start))
        pos = m.end()
    out.append(Tok("end", "", None, len(text)))
    return out


def _bad(pos: int, message: str) -> ApiError:
    return error(PARSE_ERROR, f"search_expression at position {pos}: {message}")


class _Parser:
    """disjunction := conjunction (OR conjunction)*; conjunction := negation (AND negation)*;
    negation := NOT negation | primary; primary := ( disjunction ) | function(field, value) | field postfix."""

    def __init__(self, text: str, kind: Kind):
        self.toks, self.i, self.kind, self.depth = _tokens(text), 0, kind, 0
        self.conditions = self.patterns = 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def word(self, *words: str) -> bool:
        t = self.tok
        if t.kind == "word" and t.text.lower() in words:
            self.i += 1
            return True
        return False

    def punct(self, text: str) -> None:
        if self.tok.kind != "op" or self.tok.text != text:
            raise _bad(self.tok.pos, f"expected {text!r}, found {self.tok.text or 'the end'!r}")
        self.i += 1

    def parse(self) -> Predicate:
        pred = self.disjunction()
        if self.tok.kind != "end":
            raise _bad(self.tok.pos, f"unexpected {self.tok.text!r}")
        return pred

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.word("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.word("and"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _bad(self.tok.pos, f"more than {MAX_DEPTH} levels of parentheses and NOT")

    def negation(self) -> Predicate:
        if self.word("not"):
            self.nest()
            inner = self.negation()
            self.depth -= 1
            return lambda r: not inner(r)
        return self.primary()

    def primary(self) -> Predicate:
        t = self.tok
        if t.kind == "op" and t.text == "(":
            self.i += 1
            self.nest()
            inner = self.disjunction()
            self.punct(")")
            self.depth -= 1
            return inner
        if t.kind == "word" and t.text.lower() in FUNCTIONS and self.toks[self.i + 1].text == "(":
            self.i += 2
            op = FUNCTIONS[t.text.lower()]
            f, read = self.field()
            self.punct(",")
            value = self.list_value() if op in ("hasAny", "hasAll") else self.value()
            self.punct(")")
            return self.condition(f, read, op, value, t.pos)
        if t.kind != "word" or t.text.lower() in KEYWORDS:
            raise _bad(t.pos, f"expected a field name, found {t.text or 'the end'!r}")
        f, read = self.field()
        return self.postfix(f, read)

    def field(self) -> tuple[Field, Callable[[dict[str, Any]], Any]]:
        t = self.tok
        if t.kind != "word":
            raise _bad(t.pos, f"expected a field name, found {t.text or 'the end'!r}")
        f = self.kind.fields.get(t.text)
        if f is None:
            raise _bad(t.pos, f"unknown {self.kind.name} field {t.text!r}; the fields endpoint lists them")
        self.i += 1
        name = f.name
        if f.type == "MAP" and self.tok.kind == "op" and self.tok.text == "[":
            self.i += 1
            key = self.tok
            if key.kind != "str":
                raise _bad(key.pos, "a map key is a quoted string")
            self.i += 1
            self.punct("]")
            return Field(f"{name}[{key.value!r}]", f.label, "TEXT", f.group), \
                lambda r, k=key.value: (r.get(name) or {}).get(k)
        return f, lambda r: r.get(name)

    def value(self) -> Any:
        t = self.tok
        if t.kind in ("str", "num"):
            self.i += 1
            return t.value
        if self.word("true"):
            return True
        if self.word("false"):
            return False
        raise _bad(t.pos, f"expected a value, found {t.text or 'the end'!r}")

    def list_value(self) -> list[Any]:
        close = "]" if self.tok.text == "[" else ")"
        self.punct("[" if close == "]" else "(")
        items = [self.value()]
        while self.tok.kind == "op" and self.tok.text == ",":
            self.i += 1
            items.append(self.value())
        self.punct(close)
        return items

    def postfix(self, f: Field, read) -> Predicate:
        t = self.tok
        if t.kind == "op" and t.text in COMPARE:
            self.i += 1
            return self.condition(f, read, COMPARE[t.text], self.value(), t.pos)
        negate = self.word("not")
        op_tok = self.tok
        if self.word("like", "ilike", "contains"):
            op = op_tok.text.lower()
            return self.condition(f, read, ("not_" if negate else "") + op, self.value(), op_tok.pos)
        if self.word("in"):
            return self.condition(f, read, "not_in" if negate else "in", self.list_value(), op_tok.pos)
        if self.word("between"):
            low = self.value()
            if not self.word("and"):
                raise _bad(self.tok.pos, "BETWEEN needs `low AND high`")
            high = self.value()
            return self.condition(f, read, "not_between" if negate else "between", [low, high], op_tok.pos)
        if self.word("exists"):
            return self.condition(f, read, "not_exists" if negate else "exists", None, op_tok.pos)
        raise _bad(op_tok.pos, f"expected an operator after {f.name!r}, found {op_tok.text or 'the end'!r}")

    def condition(self, f: Field, read, op: str, value: Any, pos: int) -> Predicate:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _bad(pos, f"more than {MAX_CONDITIONS} conditions in one expression")
        if op in PATTERN_OPS:
            self.patterns += 1
            if self.patterns > MAX_PATTERNS:
                raise _bad(pos, f"more than {MAX_PATTERNS} regex and LIKE conditions in one expression")
        if op not in f.operators:
            raise _bad(pos, f"operator {op!r} is not supported on {f.type} field {f.name!r}"
                            f" (supported: {', '.join(f.operators)})")
        return _condition(f, read, op, value, pos)


def _scalar(f: Field, value: Any, pos: int) -> Any:
    t = f.type
    if t in ("TEXT", "ENUM", "ARRAY", "MAP"):
        if not isinstance(value, str):
            raise _bad(pos, f"{f.name!r} takes a quoted string, not {value!r}")
        return value
    if t in ("INT", "FLOAT"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(pos, f"{f.name!r} takes a number, not {value!r}")
        return value
    if t == "BOOL":
        if not isinstance(value, bool):
            raise _bad(pos, f"{f.name!r} takes true or false, not {value!r}")
        return value
    if not isinstance(value, str):  # TIMESTAMP
        raise _bad(pos, f"{f.name!r} takes an ISO-8601 time in quotes, not {value!r}")
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return micros(moment.timestamp())
    except (ValueError, OverflowError):
        raise _bad(pos, f"{value!r} is not an ISO-8601 time") from None


def _short(text: str, limit: int = 60) -> str:
    """A value quoted for a message, cut to `limit` characters."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def present(value: Any) -> bool:
    """What EXISTS means (and what an aggregation counts): not null and not empty."""
    return value is not None and value != "" and value != [] and value != {}


def _condition(f: Field, read, op: str, value: Any, pos: int) -> Predicate:
    timed = f.type == "TIMESTAMP"

    def get(row):
        v = read(row)
        return micros(v) if timed and v is not None else v

    if op in ("exists", "not_exists"):
        want = op == "exists"
        return lambda r: present(read(r)) == want
    if op in ("in", "not_in"):
        items = {_scalar(f, v, pos) for v in value}
        inside = op == "in"
        return lambda r: (get(r) is not None) and ((get(r) in items) == inside)
    if op in ("between", "not_between"):
        low, high = (_scalar(f, v, pos) for v in value)
        inside = op == "between"
        return lambda r: (v := get(r)) is not None and ((low <= v <= high) == inside)
    if op in ("hasAny", "hasAll"):  # set operations: the work per row follows the row's items, not the list's
        items = frozenset(_scalar(f, v, pos) for v in value)
        if op == "hasAny":
            return lambda r: not items.isdisjoint(read(r) or ())
        return lambda r: len(got := set(read(r) or ())) >= len(items) and items <= got
    v0 = _scalar(f, value, pos)
    if op == "has":
        return lambda r: v0 in (read(r) or ())
    if op in PATTERN_OPS:
        try:
            test = patterns.search(v0, dot_nl=True) if "regexp" in op else patterns.like(v0, fold="ilike" in op)
        except patterns.PatternError as exc:
            what = "regular expression" if "regexp" in op else "LIKE pattern"
            raise _bad(pos, f"bad {what} {_short(v0)}: {exc}") from None
        want = not op.startswith("not_")
        return lambda r: (v := read(r)) is not None and test(v) == want
    if op in ("contains", "not_contains"):
        want = op == "contains"
        return lambda r: (v := read(r)) is not None and (v0 in v) == want
    if op == "hasToken":
        return lambda r: (v := read(r)) is not None and v0 in TOKEN_SEPARATORS.split(v)
    compare = {"eq": lambda a, b: a == b, "neq": lambda a, b: a != b, "lt": lambda a, b: a < b,
               "lte": lambda a, b: a <= b, "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b}[op]
    return lambda r: (v := get(r)) is not None and compare(v, v0)


def parse_expression(text: str | None, kind: Kind) -> Predicate | None:
    """A predicate over the kind's rows; None (or blank) matches everything."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_EXPRESSION:
        raise error(PARSE_ERROR, f"search_expression is longer than {MAX_EXPRESSION} characters")
    return _Parser(text, kind).parse()
