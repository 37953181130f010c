"""Static check of regular expressions for super-linear backtracking.

Python's ``re`` backtracks: on text that almost matches, it tries every way
the pattern could match before it gives up.  A pattern stays linear when
there is only one way (or a bounded number); three shapes break that, and
this module looks for them in the parse tree ``re`` itself builds:

* **exponential** — a loop whose body can read the same text along two
  different paths (``(a|aa)+``, ``(a+)+``, ``(\\s|/\\*.{0,40}?\\*/){1,20}``,
  ``(.*a){10}``): every repetition multiplies the ways to fail.  A bounded
  count does not save it: ``{1,20}`` is a million ways.
* **polynomial** — two unbounded loops that can read the same text one after
  the other (``\\d+\\d+x``, ``.*a.*b``): n ways to split the text, n² work.
* **quadratic search** — ``search()`` starts a match at every position; an
  unbounded loop that attempts from many positions run over the same stretch
  of text (``\\w+@`` on ``aaaa…``) costs n per attempt, n² in all.

Method.  The pattern becomes its position automaton (Glushkov: one state per
character-reading position, no empty moves; every edge is tagged with the
construct that made it, so the two ways back of a nested loop are two edges).
Then, as in the literature on ReDoS detection:

* exponential ⇔ some state q has two different paths q → q reading one word
  (a search of the automaton × itself);
* polynomial ⇔ states p ≠ q on unbounded loops with p → p, p → q and q → q
  reading one word (automaton³);
* quadratic search ⇔ an unbounded loop q with start → q and q → q reading one
  word (the implicit ``.*?`` in front of a search is the first loop).

Approximations, all on the side of flagging: a counted repeat ``{m,n}`` with
n ≥ 2 is a loop for the exponential check, and counts as unbounded for the
others from n ≥ :data:`LONG_REPEAT`; look-arounds read nothing here and are
checked as patterns of their own; a back-reference is a copy of its group;
anchors and ``\\b`` are ignored, except that a leading ``\\A`` (or ``^``
without MULTILINE) means a single start; two character classes overlap when
they share one of a set of sample characters (all of ASCII, the classes' own
literals and range ends, a few non-ASCII letters, digits and spaces).  So a
flagged pattern may in fact be safe — the message says which loop and which
text to rewrite — and a pattern that passes is linear in the text, times a
constant made of its bounded counts.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

try:
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

__all__ = ["LONG_REPEAT", "backtracking_risks"]

#: A loop of at most this many iterations costs a constant factor; from here
#: on it counts as unbounded (``*``, ``+``, ``{n,}`` always do).
LONG_REPEAT = 100
_MAX_POSITIONS = 4000
#: Product states explored per pattern before giving up (and flagging).
_MAX_STATES = 400_000

_IGNORECASE, _DOTALL, _ASCII, _MULTILINE = 2, 16, 256, 8     # re's flag values
_MAXREPEAT = _c.MAXREPEAT
_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT))


class _TooComplex(Exception):
    pass


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


class _Automaton:
    """Glushkov automaton of a parse tree; edges are ``(next position, tag)``."""

    def __init__(self) -> None:
        self.chars: list[_Chars] = []
        self.edges: list[list[tuple[int, tuple[int, int, int]]]] = []
        self.tags = 0
        self.loop_text: dict[int, str] = {}       # back-edge tag → the loop, rendered
        self.short: set[int] = set()              # tags of back edges of loops under LONG_REPEAT
        self.groups: dict[int, tuple[object, int]] = {}
        self.lookarounds: list[tuple[object, int]] = []
        self._classes: dict[tuple, _Chars] = {}
        self._common: dict[tuple[int, ...], int | None] = {}

    def tag(self) -> int:
        self.tags += 1
        return self.tags

    def common(self, *positions: int) -> int | None:
        key = tuple(sorted({id(self.chars[p]) for p in positions}))
        if key not in self._common:
            self._common[key] = _common(tuple({id(self.chars[p]): self.chars[p] for p in positions}.values()))
        return self._common[key]

    def position(self, op: object, av: object, flags: int) -> _Frag:
        if len(self.chars) >= _MAX_POSITIONS:
            raise _TooComplex(f"more than {_MAX_POSITIONS} character positions")
        key = (op, repr(av), flags & (_IGNORECASE | _DOTALL | _ASCII))
        if key not in self._classes:
            self._classes[key] = _chars(op, av, flags)
        self.chars.append(self._classes[key])
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
                self.loop_text[tag] = _render([(op, av)])
                if hi != _MAXREPEAT and hi < LONG_REPEAT:
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
        raise _TooComplex(f"unsupported construct {op}")


# ── rendering loops for messages ───────────────────────────────────────────

_AT_TEXT = {_c.AT_BEGINNING: "^", _c.AT_BEGINNING_STRING: r"\A", _c.AT_END: "$", _c.AT_END_STRING: r"\Z",
            _c.AT_BOUNDARY: r"\b", _c.AT_NON_BOUNDARY: r"\B"}
_CATEGORY_TEXT = {_c.CATEGORY_DIGIT: r"\d", _c.CATEGORY_NOT_DIGIT: r"\D", _c.CATEGORY_SPACE: r"\s",
                  _c.CATEGORY_NOT_SPACE: r"\S", _c.CATEGORY_WORD: r"\w", _c.CATEGORY_NOT_WORD: r"\W"}


def _char_text(code: int) -> str:
    char = chr(code)
    return char if char.isalnum() or char in " _-'\"<>=,;:@&%#!~`/" else f"\\{char}" if code < 128 \
        else f"\\u{code:04x}"


def _render(items: Iterable[tuple[object, object]]) -> str:
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
            out.append("(?:" + "|".join(_render(alt) for alt in av[1]) + ")")  # type: ignore[index]
        elif op is _c.SUBPATTERN:
            sub = list(av[3])  # type: ignore[index]
            if len(sub) == 1 and sub[0][0] is _c.BRANCH:        # (a|b), not ((?:a|b))
                body = "|".join(_render(alt) for alt in sub[0][1][1])
            else:
                body = _render(sub)
            out.append(f"({body})" if av[0] is not None else f"(?:{body})")  # type: ignore[index]
        elif op in _REPEATS:
            lo, hi, item = av  # type: ignore[misc]
            body = _render(item)
            if len(item) != 1 or item[0][0] in _REPEATS:
                body = f"(?:{body})"
            count = {(0, _MAXREPEAT): "*", (1, _MAXREPEAT): "+", (0, 1): "?"}.get(
                (lo, hi), f"{{{lo},}}" if hi == _MAXREPEAT else f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}")
            out.append(body + count + ("?" if op is _c.MIN_REPEAT else ""))
        elif op is _c.AT:
            out.append(_AT_TEXT.get(av, ""))
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            kind = ("=" if op is _c.ASSERT else "!") if av[0] >= 0 else ("<=" if op is _c.ASSERT else "<!")
            out.append(f"(?{kind}{_render(av[1])})")  # type: ignore[index]
        elif op is _c.GROUPREF:
            out.append(f"\\{av}")
        else:
            out.append("…")
    text = "".join(out)
    return text if len(text) <= 60 else text[:57] + "…"


# ── the three checks ───────────────────────────────────────────────────────

def _sccs(size: int, successors: Callable[[int], Iterable[int]]) -> list[list[int]]:
    """Strongly connected components that hold a cycle (iterative Tarjan)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    found: list[list[int]] = []
    for root in range(size):
        if root in index:
            continue
        work = [(root, iter(successors(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors(child))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        comp.append(member)
                        if member == node:
                            break
                    if len(comp) > 1 or node in successors(node):
                        found.append(comp)
    return found


class _Search:
    """Breadth-first search in a product automaton, with a shared state budget."""

    def __init__(self) -> None:
        self.states = 0

    def run(self, starts: list[tuple], step: Callable[[tuple], Iterable[tuple[tuple, int]]],
            goal: Callable[[tuple], bool]) -> str | None:
        """The word read from a start to a goal state (after at least one character), or None."""
        parent: dict[tuple, tuple[tuple, int] | None] = {s: None for s in starts}
        queue = deque(starts)
        while queue:
            state = queue.popleft()
            for nxt, char in step(state):
                if goal(nxt):
                    word = [char]
                    while parent[state] is not None:
                        state, c = parent[state]  # type: ignore[misc]
                        word.append(c)
                    return "".join(chr(c) for c in reversed(word))
                if nxt not in parent:
                    parent[nxt] = (state, char)
                    queue.append(nxt)
                    self.states += 1
                    if self.states > _MAX_STATES:
                        raise _TooComplex(f"more than {_MAX_STATES} states to explore")
        return None


def _exponential(a: _Automaton, search: _Search) -> str | None:
    targets = [[y for y, _ in a.edges[x]] for x in range(len(a.chars))]
    for comp in _sccs(len(a.chars), targets.__getitem__):
        inside = set(comp)

        def step(state: tuple, inside: set[int] = inside) -> Iterable[tuple[tuple, int]]:
            x, y, diverged = state
            for x2, t1 in a.edges[x]:
                if x2 in inside:
                    for y2, t2 in a.edges[y]:
                        if y2 in inside and (char := a.common(x2, y2)) is not None:
                            yield (x2, y2, diverged or x2 != y2 or t1 != t2), char

        for q in comp:
            word = search.run([(q, q, False)], step, lambda s, q=q: s == (q, q, True))
            if word is not None:
                loops = [a.loop_text[t[0]] for x in comp for y, t in a.edges[x] if y in inside and t[0] in a.loop_text]
                loop = max(loops, key=len) if loops else "?"
                return (f"the repeated part {loop} can match {_show(word)} in more than one way (nested or "
                        f"overlapping quantifiers): exponential backtracking")
    return None


def _unbounded_loops(a: _Automaton) -> tuple[list[list[int]], dict[int, int]]:
    edges = [[y for y, t in a.edges[x] if t[0] not in a.short] for x in range(len(a.chars))]
    comps = _sccs(len(a.chars), edges.__getitem__)
    return comps, {p: i for i, comp in enumerate(comps) for p in comp}


def _loop_name(a: _Automaton, comp: list[int]) -> str:
    inside = set(comp)
    loops = [a.loop_text[t[0]] for x in comp for y, t in a.edges[x] if y in inside and t[0] in a.loop_text
             and t[0] not in a.short]
    return min(loops, key=len) if loops else "?"


def _polynomial(a: _Automaton, search: _Search, comps: list[list[int]], comp_of: dict[int, int]) -> str | None:
    unb = [[y for y, t in a.edges[x] if t[0] not in a.short] for x in range(len(a.chars))]
    full = [[y for y, _ in a.edges[x]] for x in range(len(a.chars))]
    for p in comp_of:
        for q in comp_of:
            if comp_of[p] == comp_of[q]:        # one loop: the exponential check's business
                continue

            def step(state: tuple, cp: int = comp_of[p], cq: int = comp_of[q]) -> Iterable[tuple[tuple, int]]:
                x, y, z = state
                for x2 in unb[x]:
                    if comp_of.get(x2) != cp:
                        continue
                    for z2 in unb[z]:
                        if comp_of.get(z2) != cq:
                            continue
                        for y2 in full[y]:
                            if (char := a.common(x2, y2, z2)) is not None:
                                yield (x2, y2, z2), char

            word = search.run([(p, p, q)], step, lambda s, p=p, q=q: s == (p, q, q))
            if word is not None:
                first, second = _loop_name(a, comps[comp_of[p]]), _loop_name(a, comps[comp_of[q]])
                return (f"{first} and {second} can both match {_show(word)} repeated, one after the other: "
                        f"polynomial backtracking")
    return None


def _quadratic_search(a: _Automaton, search: _Search, start: list[int], comps: list[list[int]],
                      comp_of: dict[int, int]) -> str | None:
    unb = [[y for y, t in a.edges[x] if t[0] not in a.short] for x in range(len(a.chars))]
    full = [[y for y, _ in a.edges[x]] for x in range(len(a.chars))]
    for i, comp in enumerate(comps):
        def step(state: tuple, i: int = i) -> Iterable[tuple[tuple, int]]:
            y, z = state
            for z2 in unb[z]:
                if comp_of.get(z2) == i:
                    for y2 in (start if y < 0 else full[y]):
                        if (char := a.common(y2, z2)) is not None:
                            yield (y2, z2), char

        word = search.run([(-1, z) for z in comp], step, lambda s: s[0] == s[1])
        if word is not None:
            return (f"the unbounded {_loop_name(a, comp)} can run over the same text ({_show(word)} repeated) "
                    f"from many starting positions: quadratic time when searching")
    return None


def _show(word: str) -> str:
    return repr(word if len(word) <= 20 else word[:20] + "…")


def _anchored(items: list) -> bool:
    """Does the pattern start with ``\\A`` (or ``^`` without MULTILINE)?  Then search() tries one start."""
    return bool(items) and items[0][0] is _c.AT and items[0][1] in (_c.AT_BEGINNING_STRING, _c.AT_BEGINNING)


def _risks(items: list, flags: int, search: _Search, anchored: bool) -> list[str]:
    a = _Automaton()
    frag = a.sequence(items, flags)
    start = [p for p, _ in frag.first]
    found = [r for r in (_exponential(a, search),) if r]
    comps, comp_of = _unbounded_loops(a)
    if comps and not found:
        found += [r for r in (_polynomial(a, search, comps, comp_of),) if r]
        if not anchored:
            found += [r for r in (_quadratic_search(a, search, start, comps, comp_of),) if r]
    for sub, sub_flags in a.lookarounds:
        found += [f"in a look-around: {r}" for r in _risks(list(sub), sub_flags, search, False)]
    return found


def backtracking_risks(pattern: str, flags: int = 0) -> list[str]:
    """Why ``re.search(pattern, text, flags)`` may take super-linear time; ``[]`` when nothing was found.

    Raises ``re.error`` for an invalid pattern.  A pattern too large or too
    intricate to analyse within the module's bounds is reported as a risk too.
    """
    parsed = _p.parse(pattern, flags)
    flags = parsed.state.flags
    items = list(parsed)
    anchored = _anchored(items) and (items[0][1] is _c.AT_BEGINNING_STRING or not flags & _MULTILINE)
    try:
        return _risks(items, flags, _Search(), anchored)
    except _TooComplex as exc:
        return [f"too large or intricate to check for backtracking ({exc})"]
    except RecursionError:
        return ["nested too deeply to check for backtracking"]
