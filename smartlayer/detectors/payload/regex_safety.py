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

Method.  The pattern becomes its position automaton
(:mod:`smartlayer.detectors.payload.regex_automaton`: one state per character-reading position,
no empty moves; every edge is tagged with the construct that made it, so the
two ways back of a nested loop are two edges).  Then, as in the literature on
ReDoS detection:

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

from .regex_automaton import LONG_REPEAT, Automaton, TooComplex

try:
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

__all__ = ["LONG_REPEAT", "backtracking_risks"]

#: Product states explored per pattern before giving up (and flagging).
_MAX_STATES = 200_000
_MULTILINE = 8                          # re.MULTILINE


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

    def count(self) -> None:
        """One more state explored; too many and the pattern is too intricate to check."""
        self.states += 1
        if self.states > _MAX_STATES:
            raise TooComplex(f"more than {_MAX_STATES} states to explore")

    def run(self, starts: list[tuple], step: Callable[[tuple], Iterable[tuple[tuple, int]]],
            goal: Callable[[tuple], bool]) -> str | None:
        """The word read from a start to a goal state (after at least one character), or None."""
        self.count()                                    # a search costs something even when it ends at once
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
                    self.count()
        return None


def _path(steps: list[list[tuple[int, int, bool]]], members: set[int], start: int, goal: int) -> list[int]:
    """The characters along a shortest path from ``start`` to ``goal`` inside ``members``."""
    parent: dict[int, tuple[int, int] | None] = {start: None}
    queue = deque([start])
    while queue and goal not in parent:
        node = queue.popleft()
        for nxt, char, _ in steps[node]:
            if nxt in members and nxt not in parent:
                parent[nxt] = (node, char)
                queue.append(nxt)
    chars, node = [], goal
    while parent.get(node) is not None:
        node, char = parent[node]  # type: ignore[misc]
        chars.append(char)
    return chars[::-1]


def _pair_graph(a: Automaton, comp: list[int], search: _Search) -> tuple[list[tuple[int, int]],
                                                                         list[list[tuple[int, int, bool]]]]:
    """Pairs of positions of one loop reachable from its diagonal, and their steps.

    A step is (next pair, character both read, whether the two paths split:
    different positions, or one position reached by two different edges).
    """
    inside = set(comp)
    index: dict[tuple[int, int], int] = {}
    nodes: list[tuple[int, int]] = []
    steps: list[list[tuple[int, int, bool]]] = []
    queue: deque[int] = deque()

    def add(pair: tuple[int, int]) -> int:
        if pair not in index:
            search.count()
            index[pair] = len(nodes)
            nodes.append(pair)
            steps.append([])
            queue.append(index[pair])
        return index[pair]

    by_class: dict[int, dict[int, list[tuple[int, tuple[int, int, int]]]]] = {}

    def successors(x: int) -> dict[int, list[tuple[int, tuple[int, int, int]]]]:
        """The edges of ``x`` inside the loop, grouped by the class of their target."""
        if x not in by_class:
            groups: dict[int, list[tuple[int, tuple[int, int, int]]]] = {}
            for y, tag in a.edges[x]:
                if y in inside:
                    groups.setdefault(a.class_of[y], []).append((y, tag))
            by_class[x] = groups
        return by_class[x]

    for q in comp:
        add((q, q))
    while queue:
        node = queue.popleft()
        x, y = nodes[node]
        out = steps[node]
        for cx, xs in successors(x).items():
            for cy, ys in successors(y).items():
                char = a.common_classes(cx, cy)
                if char is not None:
                    out.extend((add((x2, y2)), char, x2 != y2 or t1 != t2) for x2, t1 in xs for y2, t2 in ys)
    return nodes, steps


def _exponential(a: Automaton, search: _Search) -> str | None:
    """A loop q → q that two different paths read on one word.

    In the graph of pairs of positions of one loop (:func:`_pair_graph`), a
    strongly connected part holding a diagonal pair (q, q) and either a pair
    of two positions or a step where the paths split is such a loop: one pass
    over the pairs, not one search per state.
    """
    targets = [[y for y, _ in a.edges[x]] for x in range(len(a.chars))]
    for comp in _sccs(len(a.chars), targets.__getitem__):
        nodes, steps = _pair_graph(a, comp, search)
        word = None
        for scc in _sccs(len(nodes), lambda i: [j for j, _, _ in steps[i]]):  # noqa: B023 - used at once
            members = set(scc)
            diagonal = next((i for i in scc if nodes[i][0] == nodes[i][1]), None)
            split = next((i for i in scc if nodes[i][0] != nodes[i][1]), None)
            edge = next(((i, j, c) for i in scc for j, c, apart in steps[i] if apart and j in members), None)
            if diagonal is None:
                continue
            if split is not None:
                word = _path(steps, members, diagonal, split) + _path(steps, members, split, diagonal)
            elif edge is not None:
                word = (_path(steps, members, diagonal, edge[0]) + [edge[2]]
                        + _path(steps, members, edge[1], diagonal))
            if word is not None:
                inside = set(comp)
                loops = [a.loop_text[t[0]] for x in comp for y, t in a.edges[x] if y in inside and t[0] in a.loop_text]
                loop = max(loops, key=len) if loops else "?"
                return (f"the repeated part {loop} can match {_show(''.join(map(chr, word)))} in more than one "
                        f"way (nested or overlapping quantifiers): exponential backtracking")
    return None


def _unbounded_loops(a: Automaton) -> tuple[list[list[int]], dict[int, int]]:
    edges = [[y for y, t in a.edges[x] if t[0] not in a.short] for x in range(len(a.chars))]
    comps = _sccs(len(a.chars), edges.__getitem__)
    return comps, {p: i for i, comp in enumerate(comps) for p in comp}


def _loop_name(a: Automaton, comp: list[int]) -> str:
    inside = set(comp)
    loops = [a.loop_text[t[0]] for x in comp for y, t in a.edges[x] if y in inside and t[0] in a.loop_text
             and t[0] not in a.short]
    return min(loops, key=len) if loops else "?"


def _polynomial(a: Automaton, search: _Search, comps: list[list[int]], comp_of: dict[int, int]) -> str | None:
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


def _quadratic_search(a: Automaton, search: _Search, start: list[int], comps: list[list[int]],
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
    a = Automaton()
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
    except TooComplex as exc:
        return [f"too large or intricate to check for backtracking ({exc})"]
    except RecursionError:
        return ["nested too deeply to check for backtracking"]
