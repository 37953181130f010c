"""A learned site profile, compiled for the request path.

:class:`Profile` is built once per activated version from the JSON the
learner wrote (:mod:`smartlayer.profile.learn`) and answers, with dict
lookups and no I/O:

* :meth:`Profile.template` — the endpoint template of a path (memoised);
* :meth:`Profile.normal_count` — how many of a client's recent requests are
  within the learned per-client norm of their endpoint (the rate rules count
  only the rest: a page's beacons at their usual pace are not a flood);
* :meth:`Profile.anomalies` — unknown parameter names on a known endpoint,
  values outside their learned shape, never-seen paths and restricted
  extensions the site never served (reason codes ``param:unknown_name``,
  ``param:shape``, ``path:unknown``, ``path:restricted_ext``).

The owner's overrides (an endpoint's class pinned, a parameter exempted) are
part of the JSON (``overrides``) and of ``PROFILE_EXEMPT_PARAMS``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from ..conf import derived, sl_settings
from .pending import resolved
from .shapes import KIND_ACCEPTS, parse_shape, value_shape  # noqa: F401 - value_shape: the module's face
from .templates import Trie, extension

FORMAT = 1
CLASSES = ("page", "asset", "api", "telemetry", "form", "missing")
_MEMO_MAX = 20_000
_MEMO_PATH_MAX = 256
_path = itemgetter(2)

try:  # the C helper Counter counts with, into any dict (CPython); else the same in Python
    from _collections import _count_elements
except ImportError:  # pragma: no cover - other interpreters
    def _count_elements(counts: dict, items: Iterable) -> None:
        for item in items:
            counts[item] = counts.get(item, 0) + 1


@dataclass(slots=True)
class Schema:
    """What one parameter of one endpoint and method looked like in training."""

    kind: str
    lo: int
    hi: int
    chars: frozenset[str]
    tags: frozenset[str] | None = None       # an enumeration's value tags, or None

    def fits(self, shape: str) -> bool:
        kind, length, classes, tag = parse_shape(shape)
        if self.kind != "text" and kind not in KIND_ACCEPTS.get(self.kind, ()) and kind != self.kind:
            return False
        if length > max(self.hi * 2, self.hi + 16):
            return False
        if not self.chars.issuperset(classes):
            return False
        return not (self.tags is not None and tag and tag not in self.tags)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Schema:
        lo, hi = (d.get("len") or [0, 0])[:2]
        tags = d.get("tags")
        return cls(str(d.get("kind", "text")), int(lo), int(hi), frozenset(str(d.get("chars", ""))),
                   frozenset(tags) if tags else None)


@dataclass(slots=True)
class Endpoint:
    template: str
    cls: str
    methods: frozenset[str]
    clients: int
    allowance_10s: int                         # requests a client may send here in 10 s at the learned norm
    schemas: dict[str, dict[str, Schema]] = field(default_factory=dict)   # method → name → schema
    checked: frozenset[str] = frozenset()     # methods seen often enough for unknown names to count
    shared: bool = False                      # an asset the whole site's pages share (:mod:`.furnish`)
    own_assets: bool = False                  # a page whose views normally fetch files of their own


@derived
def _exempt_global() -> tuple[frozenset[str], tuple[str, ...]]:
    names = [str(n) for n in (sl_settings.PROFILE_EXEMPT_PARAMS or ())]
    return (frozenset(n for n in names if not n.endswith("*")),
            tuple(n[:-1] for n in names if n.endswith("*")))


@derived
def _restricted() -> frozenset[str]:
    return frozenset(str(e).lower() if str(e).startswith(".") else "." + str(e).lower()
                     for e in (sl_settings.PROFILE_RESTRICTED_EXTENSIONS or ()))


class Profile:
    """One learned profile (see the module docstring)."""

    def __init__(self, data: dict[str, Any], version: str = "") -> None:
        if int(data.get("format", 0)) != FORMAT:
            raise ValueError(f"profile format {data.get('format')!r}, expected {FORMAT}")
        self.version = version or str(data.get("version", ""))
        self.data = data
        overrides = data.get("overrides") or {}
        pinned = overrides.get("class") or {}
        exempt = overrides.get("exempt_params") or {}
        self.hosts = frozenset(str(h).lower() for h in data.get("hosts") or ())
        self.extensions = frozenset(data.get("extensions") or ())
        self.endpoints: dict[str, Endpoint] = {}
        for template, e in (data.get("endpoints") or {}).items():
            schemas = {m: {n: Schema.from_json(s) for n, s in names.items() if n not in exempt.get(template, ())}
                       for m, names in (e.get("params") or {}).items()}
            self.endpoints[template] = Endpoint(
                template=template, cls=str(pinned.get(template) or e.get("class", "page")),
                methods=frozenset(e.get("methods") or ()), clients=int(e.get("clients", 0)),
                allowance_10s=int(e.get("allowance_10s", 0)), schemas=schemas,
                checked=frozenset(e.get("checked") or ()), shared=bool(e.get("shared", False)),
                own_assets=bool(e.get("own_assets", False)),
            )
        self.exempt = {t: frozenset(v) for t, v in exempt.items()}
        self.trie = Trie(self.endpoints)
        self._memo: dict[str, str] = {}

    # ── lookups ────────────────────────────────────────────────────────────
    def template(self, path: str) -> str | None:
        memo = self._memo
        t = memo.get(path)
        if t is None:
            t = self.trie.find(path) or ""
            if len(path) <= _MEMO_PATH_MAX:      # bounded: a client chooses its paths
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[path] = t
        return t or None

    def endpoint(self, path: str) -> Endpoint | None:
        t = self.template(path)
        return self.endpoints.get(t) if t is not None else None

    def endpoint_class(self, path: str) -> str | None:
        e = self.endpoint(path)
        return e.cls if e is not None else None

    def same_site(self, referer_host: str, host: str = "") -> bool:
        return bool(referer_host) and (referer_host == host.lower() or referer_host in self.hosts)

    # ── rates ──────────────────────────────────────────────────────────────
    def normal_count(self, arrivals: Iterable[Sequence[Any]]) -> int:
        """Of these arrivals, how many are within their endpoint's per-client 10 s norm."""
        # each distinct path looked up once: a client's last 10 s repeat a few paths many times.
        # Counted into a plain dict by the C helper behind Counter (a Counter's own construction,
        # its type checks and update(), cost more than the counting on a handful of arrivals)
        counts: dict[str, int] = {}
        _count_elements(counts, map(_path, arrivals))
        endpoints = self.endpoints
        template = self.template
        if len(counts) == 1:     # one path (a reader's beacons alone): one endpoint
            ((path, n),) = counts.items()
            t = template(path)
            e = endpoints.get(t) if t is not None else None
            if e is not None and e.allowance_10s > 0:
                return n if n <= e.allowance_10s else e.allowance_10s
            return 0
        per: dict[str, int] = {}
        for path, n in counts.items():
            t = template(path)
            if t is not None:
                per[t] = per.get(t, 0) + n
        normal = 0
        for t, n in per.items():
            e = endpoints.get(t)
            if e is not None and e.allowance_10s > 0:
                normal += n if n <= e.allowance_10s else e.allowance_10s
        return normal

    # ── parameters and paths ───────────────────────────────────────────────
    def anomalies(self, method: str, path: str, params: Sequence[Sequence[str]] | None) -> list[str]:
        """Reason codes for one request (empty: nothing odd for this site)."""
        found: list[str] = []
        t = self.template(path)
        ext = extension(path)
        if ext and ext in _restricted() and ext not in self.extensions:
            found.append("path:restricted_ext")
        if t is None:
            found.append("path:unknown")
            return found
        if not params:
            return found
        e = self.endpoints[t]
        if e.cls == "missing":
            return found
        params = resolved(params)      # the scan's may be worked out only now, for an endpoint this profile knows
        if not params:
            return found
        schema = e.schemas.get(method)
        checked = method in e.checked
        exempt_names, exempt_prefixes = _exempt_global()
        own = self.exempt.get(t)
        unknown = shape = False
        for p in params:
            name = p[1]
            if (name in exempt_names or (own is not None and name in own)
                    or (exempt_prefixes and name.startswith(exempt_prefixes))):
                continue
            s = schema.get(name) if schema is not None else None
            if s is None:
                if checked:
                    unknown = True
            elif not s.fits(p[2]):
                shape = True
        if unknown:
            found.append("param:unknown_name")
        if shape:
            found.append("param:shape")
        return found

    def summary(self) -> dict[str, Any]:
        classes: dict[str, int] = {}
        for e in self.endpoints.values():
            classes[e.cls] = classes.get(e.cls, 0) + 1
        return {"version": self.version, "endpoints": len(self.endpoints), "classes": classes,
                "hosts": sorted(self.hosts)}


@derived
def weights() -> dict[str, int]:
    from ..conf import DEFAULTS

    merged = dict(DEFAULTS["PROFILE_WEIGHTS"])
    user = sl_settings.PROFILE_WEIGHTS
    if isinstance(user, dict):
        merged.update(user)
    return merged


def score(reasons: Iterable[str]) -> int:
    w = weights()
    return sum(int(w.get(r, 0)) for r in reasons)
