"""Which files are a page's own and which the whole site shares (offline, part of :func:`~.learn.learn_profile`).

Why: a browser that comes back with a warm cache fetches none of the site's CSS, scripts and fonts,
so a page view it makes looks "bare" — left without fetching a file — exactly like a script's that
was told to skip files.  What a cache does not hide is a page's *own* files on a first look at that
page (a product's images): only pages whose views normally fetch files of their own say anything
when they fetch none.  Two facts per endpoint template, learned from the rows the site served:

* an asset template is **shared** when most of its fetches are of files fetched after at least
  :data:`SHARED_PAGES` distinct pages (the site's stylesheet follows whichever page a visitor landed
  on; a product's image follows its product page and a listing or two);
* a page template has **own assets** when, of its views by browsers (clients that fetched any file
  in the window), at least :data:`OWN_SHARE` were followed by a file of a template that is not
  shared, before the client's next page view — and at least :data:`MIN_VIEWS` such views were seen.

Without enough evidence neither is set, and a model that reads them (``own_assets`` in its
manifest) then counts no page view bare: fewer tells, never more.  Bounded memory: at most
:data:`MAX_PATHS` asset paths keep a set of at most :data:`SHARED_PAGES` page paths each.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

#: Distinct pages after which one file was fetched for it to count as the site's, not one page's.
SHARED_PAGES = 8
#: Share of a page template's views by browsers that must fetch a file of its own.
OWN_SHARE = 0.8
#: Views by browsers a page template needs before it can be said to have files of its own.
MIN_VIEWS = 20
#: Asset paths tracked for sharing (the rest count as not shared: a site this large has its answer
#: in the paths already seen).
MAX_PATHS = 200_000

_READS = frozenset({"GET", "HEAD"})


def learn_furnishing(rows: Iterable[Any], template_of: Mapping[str, str | None],
                     classes: Mapping[str, str]) -> tuple[set[str], dict[str, float]]:
    """``(shared asset templates, {page template: share of browser views with files of their own})``.

    ``rows``: the profile's rows in time order (``ts``, ``client``, ``method``, ``path``, ``status``);
    ``template_of``: path → template; ``classes``: template → class of the learned endpoints.
    """
    before: dict[str, set[str]] = {}            # asset path → page paths it followed (capped)
    fetches: Counter = Counter()               # asset path → fetches
    tmpl_of_asset: dict[str, str] = {}
    current: dict[str, list[Any]] = {}         # client → [page template, page path, asset templates]
    views: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    browsers: set[str] = set()
    for r in rows:
        t = template_of.get(r.path)
        cls = classes.get(t) if t is not None else None
        if cls == "page" and r.method in _READS:
            prev = current.get(r.client)
            if prev is not None:
                views[r.client][prev[0]][frozenset(prev[2])] += 1
            current[r.client] = [t, r.path, set()]
        elif cls == "asset" and r.status < 400:
            browsers.add(r.client)
            page = current.get(r.client)
            if page is None:
                continue
            page[2].add(t)
            seen = before.get(r.path)
            if seen is None:
                if len(before) >= MAX_PATHS:
                    continue
                seen = before[r.path] = set()
                tmpl_of_asset[r.path] = t
            fetches[r.path] += 1
            if len(seen) < SHARED_PAGES:
                seen.add(page[1])
    for client, page in current.items():
        views[client][page[0]][frozenset(page[2])] += 1

    total: Counter = Counter()
    wide: Counter = Counter()
    for path, n in fetches.items():
        t = tmpl_of_asset[path]
        total[t] += n
        if len(before[path]) >= SHARED_PAGES:
            wide[t] += n
    shared = {t for t, n in total.items() if wide[t] * 2 > n}

    seen_views: Counter = Counter()
    furnished: Counter = Counter()
    for client in browsers:
        for page_t, followed in views.get(client, {}).items():
            for assets, n in followed.items():
                seen_views[page_t] += n
                if any(a not in shared for a in assets):
                    furnished[page_t] += n
    own = {t: round(furnished[t] / n, 4) for t, n in seen_views.items() if n >= MIN_VIEWS}
    return shared, own


def furnish(endpoints: dict[str, dict[str, Any]], rows: Iterable[Any], template_of: Mapping[str, str | None]) -> None:
    """Write the two facts into the learned endpoints: ``shared`` on asset templates, ``own_assets``
    (and the share it was decided on, for the owner's eyes) on page templates."""
    shared, own = learn_furnishing(rows, template_of, {t: e["class"] for t, e in endpoints.items()})
    for t in shared:
        endpoints[t]["shared"] = True
    for t, share in own.items():
        endpoints[t].update(own_assets=share >= OWN_SHARE, own_assets_share=share)
