"""The position automaton of a regular expression, built from ``re``'s own parse tree.

One state per character-reading position (Glushkov), no empty moves, every
edge tagged with the construct that made it — so the two ways back of a
nested loop (``(a+)+``), or the two ways an optional part can match nothing
(``(?:|)``), are two edges.  :mod:`smartlayer.detectors.payload.regex_safety` searches it for
the shapes that make a backtracking engine super-linear.

Character classes are membership tests compared on sample characters: all of
ASCII, the classes' own literals and range ends (with their case variants),
and a few non-ASCII letters, digits and spaces.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

try:
    from re import _constants as _c
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c  # type: ignore[no-redef]

__all__ = ["LONG_REPEAT", "MAXREPEAT", "Automaton", "TooComplex", "render"]

#: A loop of at most this many iterations costs a constant factor; from here
#: on it counts as unbounded (``*``, ``+``, ``{n,}`` always do).
LONG_REPEAT = 100
_MAX_POSITIONS = 20_000

_IGNORECASE, _DOTALL, _ASCII = 2, 16, 256     # re's flag values
MAXREPEAT = _c.MAXREPEAT
_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT))


class TooComplex(Exception):
    """The pattern is beyond the bounds of the analysis."""


# ── character classes ──────────────────────────────────────────────────────

_SAMPLES = tuple(range(128)) + (
    0x85, 0xA0, 0xAA, 0xB2, 0xB5, 0xDF, 0xE9, 0x130, 0x131, 0x17F, 0x3A9, 0x3BC, 0x3C2, 0x3C3, 0x660,
    0x663, 0x1680, 0x2003, 0x200B, 0x2028, 0x212A, 0x3000, 0x4E2D, 0xFDFA, 0xFF10, 0xFF1C, 0xFF41,
    0x1D7CE, 0x1F600, 0x10FFFF,
)
_SAMPLE_SET = frozenset(_SAMPLES)
_FOLD_FIXES = {0x73: 0x17F, 0x17F: 0x73, 0x6B: 0x212A, 0x212A: 0x6B, 0xB5: 0x3BC, 0x3BC: 0xB5,
               0x3C3: 0x3C2, 0x3C2: 0x3C3, 0x69: 0x130, 0x130: 0x69, 0x131: 0x49, 0x49: 0x131}


def _case_variants(code: int) -> set[int]:
    char = chr(code)
    variants = {code}
    for other in (char.lower(), char.upper(), char.casefold()):
        if len(other) == 1:
            variants.add(ord(other))
    if code in _FOLD_FIXES:
        variants.add(_FOLD_FIXES[code])
    return variants


def _category(cat: object, ascii_only: bool) -> Callable[[int], bool]:
    if cat in (_c.CATEGORY_DIGIT, _c.CATEGORY_NOT_DIGIT):
        test = (lambda c: 48 <= c <= 57) if ascii_only else (lambda c: chr(c).isdecimal())
    elif cat in (_c.CATEGORY_SPACE, _c.CATEGORY_NOT_SPACE):
        test = (lambda c: c in (9, 10, 11, 12, 13, 32)) if ascii_only else (lambda c: chr(c).isspace())
    elif cat in (_c.CATEGORY_WORD, _c.CATEGORY_NOT_WORD):
        test = ((lambda c: c < 128 and (chr(c).isalnum() or c == 95)) if ascii_only
                else (lambda c: chr(c).isalnum() or c == 95))
    else:                                           # line breaks: not produced by the parser
        return lambda c: True
    if cat in (_c.CATEGORY_NOT_DIGIT, _c.CATEGORY_NOT_SPACE, _c.CATEGORY_NOT_WORD):
        return lambda c: not test(c)
    return test


class _Chars:
    """The characters one position can read: a membership test and its sample hits."""

    __slots__ = ("test", "hits", "extra")

    def __init__(self, test: Callable[[int], bool], mentioned: Iterable[int]) -> None:
        self.test = test
        self.hits = frozenset(c for c in _SAMPLES if test(c))
        self.extra = frozenset(c for c in mentioned if c not in _SAMPLE_SET and 0 <= c <= 0x10FFFF and test(c))


def _chars(op: object, av: object, flags: int) -> _Chars:
    ignore_case, ascii_only = bool(flags & _IGNORECASE), bool(flags & _ASCII)
    mentioned: set[int] = set()
    if op is _c.ANY:
        dotall = bool(flags & _DOTALL)
        return _Chars(lambda c: dotall or c != 10, ())
    if op in (_c.LITERAL, _c.NOT_LITERAL):
        items = [(_c.LITERAL, av)] if op is _c.LITERAL else [(_c.NEGATE, None), (_c.LITERAL, av)]
    else:
        items = list(av)  # type: ignore[call-overload]
    negate, tests = False, []
    for kind, value in items:
        if kind is _c.NEGATE:
            negate = True
        elif kind is _c.LITERAL:
            tests.append(lambda c, v=value: c == v)
            mentioned.add(value)
        elif kind is _c.RANGE:
            lo, hi = value
            tests.append(lambda c, lo=lo, hi=hi: lo <= c <= hi)
            step = max(1, (hi - lo) // 16)
            mentioned.update(range(lo, hi + 1, step))
            mentioned.update((hi, hi - 1, lo + 1))
        elif kind is _c.CATEGORY:
            tests.append(_category(value, ascii_only))
        else:                                       # unknown set item: anything
            tests.append(lambda c: True)

    def base(c: int) -> bool:
        return any(t(c) for t in tests)

    if ignore_case:
        mentioned = {v for m in mentioned for v in _case_variants(m)}

        def folded(c: int) -> bool:
            return any(base(v) for v in _case_variants(c))
        test = folded
    else:
        test = base
    return _Chars((lambda c: not test(c)) if negate else test, mentioned)


def _readable(code: int) -> tuple[int, int]:
    """Sort key: witnesses in messages prefer lower-case letters, then digits, then printable ASCII."""
    char = chr(code)
    rank = 0 if char.islower() and code < 128 else 1 if char.isalnum() and code < 128 else 2 if 32 < code < 127 else 3
    return rank, code


def _common(classes: tuple[_Chars, ...]) -> int | None:
    """A character every class reads (a printable one when there is one), else None."""
    hits = classes[0].hits
    for k in classes[1:]:
        hits = hits & k.hits
    if hits:
        return min(hits, key=_readable)
    for k in classes:
        for c in k.extra:
            if all(other.test(c) for other in classes):
                return c
    return None


# ── the position automaton ─────────────────────────────────────────────────

@dataclass
class _Frag:
    """A sub-automaton: its entry and exit positions, and how many ways it can match nothing.

    An entry is ``(position, way)``: a position reached (or left) across
    optional parts that can match nothing in two ways (``(?:|)``, ``(?:a?|b?)``)
    appears twice, with two ways, so the edges through it are two paths.
    """

    first: list[tuple[int, int]]
    last: list[tuple[int, int]]
    empty_ways: int                                 # 0 (not nullable), 1, or 2 (= two or more)

    @property
    def nullable(self) -> bool:
        return self.empty_ways > 0


_EMPTY = _Frag([], [], 1)


def _entries(*groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Entries in order, at most two per position: two are enough to tell paths apart."""
    seen: dict[int, int] = {}
    out = []
    for group in groups:
        for entry in group:
            if seen.get(entry[0], 0) < 2 and entry not in out:
                seen[entry[0]] = seen.get(entry[0], 0) + 1
                out.append(entry)
    return out


class Automaton:
    """Glushkov automaton of a parse tree; edges are ``(next position, tag)``."""

    def __init__(self) -> None:
        self.chars: list[_Chars] = []
        self.class_of: list[int] = []             # position → index of its distinct class
        self.edges: list[list[tuple[int, tuple[int, int, int]]]] = []
        self.tags = 0
        self.loop_text: dict[int, str] = {}       # back-edge tag → the loop, rendered
        self.short: set[int] = set()              # tags of back edges of loops under LONG_REPEAT
        self.groups: dict[int, tuple[object, int]] = {}
        self.lookarounds: list[tuple[object, int]] = []
        self._classes: dict[tuple, int] = {}
        self._distinct: list[_Chars] = []
        self._common: dict[tuple[int, ...], int | None] = {}

    def tag(self) -> int:
        self.tags += 1
        return self.tags

    def common(self, *positions: int) -> int | None:
        """A character all these positions can read, or None."""
        return self.common_classes(*(self.class_of[p] for p in positions))

    def common_classes(self, *classes: int) -> int | None:
        """:meth:`common` for distinct classes (indexes into the classes seen), cached."""
        key = tuple(sorted(set(classes)))
        found = self._common.get(key, -1)
        if found == -1:
            found = self._common[key] = _common(tuple(self._distinct[c] for c in key))
        return found

    def position(self, op: object, av: object, flags: int) -> _Frag:
        if len(self.chars) >= _MAX_POSITIONS:
            raise TooComplex(f"more than {_MAX_POSITIONS} character positions")
        key = (op, repr(av), flags & (_IGNORECASE | _DOTALL | _ASCII))
        if key not in self._classes:
            self._classes[key] = len(self._distinct)
            self._distinct.append(_chars(op, av, flags))
        self.class_of.append(self._classes[key])
        self.chars.append(self._distinct[self._classes[key]])
        self.edges.append([])
        p = len(self.chars) - 1
        return _Frag([(p, 0)], [(p, 0)], 0)

    def link(self, sources: list[tuple[int, int]], targets: list[tuple[int, int]], tag: int) -> None:
        for x, way_out in sources:
            self.edges[x].extend((y, (tag, way_out, way_in)) for y, way_in in targets)

    def across(self, entries: list[tuple[int, int]], empty: _Frag) -> list[tuple[int, int]]:
        """``entries`` carried across a nullable part: once per way it can match nothing."""
        if empty.empty_ways < 2:
            return entries
        return [(p, self.tag()) for p, _ in entries for _copy in range(2)]

    def sequence(self, items: Iterable[tuple[object, object]], flags: int) -> _Frag:
        frag = _EMPTY
        for op, av in items:
            nxt = self.node(op, av, flags)
            self.link(frag.last, nxt.first, self.tag())
            frag = _Frag(
                _entries(frag.first, self.across(nxt.first, frag) if frag.nullable else []),
                _entries(nxt.last, self.across(frag.last, nxt) if nxt.nullable else []),
                min(2, frag.empty_ways * nxt.empty_ways),
            )
        return frag

    def choice(self, frags: list[_Frag]) -> _Frag:
        return _Frag(_entries(*(f.first for f in frags)), _entries(*(f.last for f in frags)),
                     min(2, sum(f.empty_ways for f in frags)))

    def node(self, op: object, av: object, flags: int) -> _Frag:  # noqa: C901 - one case per opcode
        if op in (_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN):
            return self.position(op, av, flags)
        if op is _c.SUBPATTERN:
            group, add, remove, sub = av  # type: ignore[misc]
            inner = (flags | add) & ~remove
            if group is not None:
                self.groups[group] = (sub, inner)
            return self.sequence(sub, inner)
        if op is _c.BRANCH:
            return self.choice([self.sequence(alt, flags) for alt in av[1]])  # type: ignore[index]
        if op in _REPEATS:
            lo, hi, item = av  # type: ignore[misc]
            if hi == 0:
                return _EMPTY
            body = self.sequence(item, flags)
            if hi >= 2:
                tag = self.tag()
                self.link(body.last, body.first, tag)
                self.loop_text[tag] = render([(op, av)])
                if hi != MAXREPEAT and hi < LONG_REPEAT:
                    self.short.add(tag)
            ways = body.empty_ways if lo else min(2, 1 + body.empty_ways)
            return _Frag(body.first, body.last, ways)
        if op is getattr(_c, "ATOMIC_GROUP", None):
            return self.sequence(av, flags)  # type: ignore[arg-type]
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            self.lookarounds.append((av[1], flags))  # type: ignore[index]
            return _EMPTY
        if op is _c.AT:
            return _EMPTY
        if op is _c.GROUPREF:
            sub, inner = self.groups.get(av, ([], flags))  # type: ignore[call-overload]
            return self.sequence(sub, inner)  # type: ignore[arg-type]
        if op is _c.GROUPREF_EXISTS:
            _group, yes, no = av  # type: ignore[misc]
            return self.choice([self.sequence(yes, flags), self.sequence(no, flags) if no else _EMPTY])
        if op is _c.FAILURE:
            return _Frag([], [], 0)
        raise TooComplex(f"unsupported construct {op}")


# ── rendering loops for messages ───────────────────────────────────────────

_AT_TEXT = {_c.AT_BEGINNING: "^", _c.AT_BEGINNING_STRING: r"\A", _c.AT_END: "$", _c.AT_END_STRING: r"\Z",
            _c.AT_BOUNDARY: r"\b", _c.AT_NON_BOUNDARY: r"\B"}
_CATEGORY_TEXT = {_c.CATEGORY_DIGIT: r"\d", _c.CATEGORY_NOT_DIGIT: r"\D", _c.CATEGORY_SPACE: r"\s",
                  _c.CATEGORY_NOT_SPACE: r"\S", _c.CATEGORY_WORD: r"\w", _c.CATEGORY_NOT_WORD: r"\W"}


def _char_text(code: int) -> str:
    char = chr(code)
    return char if char.isalnum() or char in " _-'\"<>=,;:@&%#!~`/" else f"\\{char}" if code < 128 \
        else f"\\u{code:04x}"


def render(items: Iterable[tuple[object, object]]) -> str:
    """Readable regex text of a parse (sub)tree, for messages."""
    out = []
    for op, av in items:
        if op is _c.LITERAL:
            out.append(_char_text(av))  # type: ignore[arg-type]
        elif op is _c.NOT_LITERAL:
            out.append(f"[^{_char_text(av)}]")  # type: ignore[arg-type]
        elif op is _c.ANY:
            out.append(".")
        elif op is _c.IN:
            parts, negate = [], ""
            for kind, value in av:  # type: ignore[union-attr]
                if kind is _c.NEGATE:
                    negate = "^"
                elif kind is _c.LITERAL:
                    parts.append(_char_text(value))
                elif kind is _c.RANGE:
                    parts.append(f"{_char_text(value[0])}-{_char_text(value[1])}")
                else:
                    parts.append(_CATEGORY_TEXT.get(value, "?"))
            single = len(parts) == 1 and not negate and (parts[0].startswith("\\") or len(parts[0]) == 1)
            out.append(parts[0] if single else f"[{negate}{''.join(parts)}]")
        elif op is _c.BRANCH:
            out.append("(?:" + "|".join(render(alt) for alt in av[1]) + ")")  # type: ignore[index]
        elif op is _c.SUBPATTERN:
            sub = list(av[3])  # type: ignore[index]
            if len(sub) == 1 and sub[0][0] is _c.BRANCH:        # (a|b), not ((?:a|b))
                body = "|".join(render(alt) for alt in sub[0][1][1])
            else:
                body = render(sub)
            out.append(f"({body})" if av[0] is not None else f"(?:{body})")  # type: ignore[index]
        elif op in _REPEATS:
            lo, hi, item = av  # type: ignore[misc]
            body = render(item)
            if len(item) != 1 or item[0][0] in _REPEATS:
                body = f"(?:{body})"
            count = {(0, MAXREPEAT): "*", (1, MAXREPEAT): "+", (0, 1): "?"}.get(
                (lo, hi), f"{{{lo},}}" if hi == MAXREPEAT else f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}")
            out.append(body + count + ("?" if op is _c.MIN_REPEAT else ""))
        elif op is _c.AT:
            out.append(_AT_TEXT.get(av, ""))
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            kind = ("=" if op is _c.ASSERT else "!") if av[0] >= 0 else ("<=" if op is _c.ASSERT else "<!")
            out.append(f"(?{kind}{render(av[1])})")  # type: ignore[index]
        elif op is _c.GROUPREF:
            out.append(f"\\{av}")
        else:
            out.append("…")
    text = "".join(out)
    return text if len(text) <= 60 else text[:57] + "…"
