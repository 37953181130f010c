"""The tells of automation, read off a feature vector: what corroborates the model's flag.

A flagged request whose tell exceeds the site's own ceiling for it (the version's
``tell_ceilings``, learned by :mod:`smartlayer.ml.training.tells`) is *corroborated*
(:meth:`smartlayer.ml.runtime.ActiveModel.score_vector`).  No feature of their own: they are
read off the vector, so any feature set with these counts can use them.

Three tells.  Page views opened seconds apart without a referer (the fs3 count: a person's week
has at most one of them in a window).  The share of page views that sent no beacon, and the share
of even gaps between page views (from :data:`EVEN_MIN_PAGES` page views in the window): shares, not
the fs3 counts, because a count grows with the length of a visit, and a person's long visit on the
next day passes the longest of the training week's (the counts of hurried pages left bare and of
silent pages corroborated a person on the tuning seeds, at the week's maximum).  A person who leaves
a page within the beacon's interval sends none, a script that never moves the mouse sends none on
any page; the benign fast readers ("next product" every 2–9 s) pile up even pairs over a long visit,
a fixed wait ± jitter makes most of the pairs even (generated traffic, tuning seeds, flagged
requests from 8 page views: regular-paced bots up to 0.95, the fast readers at most 0.48, people
0.25).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from math import sqrt
from operator import itemgetter

from ..conf import sl_settings
from ..request.facts import FLAG_ASSET, FLAG_TELEMETRY, browsed_run
from .features import FEATURE_NAMES, HURRIED_GAP
from .kinds import kind_of

#: Page views in the window before a share says anything (fewer: 0).
EVEN_MIN_PAGES = 8

_PAGES = FEATURE_NAMES.index("page_views")
_EVEN = FEATURE_NAMES.index("even_page_gaps")


_SILENT = FEATURE_NAMES.index("silent_pages")
_CV = FEATURE_NAMES.index("page_gap_cv")
_GAP_MEAN = FEATURE_NAMES.index("log_page_gap_mean_s")
_NAVIGATED = FEATURE_NAMES.index("navigated_share")
_HURRIED = FEATURE_NAMES.index("hurried_direct_pages")
_STATUS = itemgetter(1)   # an outcome's status


#: The spread of page gaps (std / mean) from which a visit is paced like reading
#: (:func:`paced_like_reading`).  People's reading times spread over an order of magnitude (a think
#: time lognormal around a few seconds: a coefficient of variation near 1; the generated weeks' people
#: and office colleagues 0.8–1.4 at the flagged requests of their long visits); automation paces by a
#: wait it was given: a fixed wait ± 15 % about 0.1, a short near-constant pause 0.1–0.2, a task list's
#: 2–6 s about 0.3 (flagged requests of the generated bots: below 0.6 except the ones that read at a
#: person's pace, which no pacing tell sees either).  Read with the margin of a spread read off a few
#: gaps (:func:`paced_like_reading`).
READING_CV = 0.6


def _even_gap_share(x: Sequence[float]) -> float:
    pages = x[_PAGES]
    return x[_EVEN] / (pages - 2.0) if pages >= EVEN_MIN_PAGES else 0.0


def _silent_share(x: Sequence[float]) -> float:
    pages = x[_PAGES]
    return x[_SILENT] / pages if pages >= EVEN_MIN_PAGES else 0.0


def _steady_dwell(x: Sequence[float]) -> float:
    """How little the time between page views varies: ``1 − cv`` of the gaps (0 when they vary as
    much as their mean), from :data:`EVEN_MIN_PAGES` page views.  0 when the mean gap is 0 too (page
    views in the same instant: the extractor writes a cv of 0 for "undefined", not for "even")."""
    if x[_PAGES] < EVEN_MIN_PAGES or x[_GAP_MEAN] <= 0.0:
        return 0.0
    steady = 1.0 - x[_CV]
    return steady if steady > 0.0 else 0.0


#: How many standard errors of its own reading a steadiness must stand beyond the site's ceiling on a
#: walk through a listing (:func:`steady_by_chance`): two, beyond chance.
STEADY_NOISE = 2.0
#: A visit walks through a listing when at least this share of its page views is one run of
#: consecutive ids, each browsed to from the one before (:func:`on_a_walk`).
WALK_SHARE = 0.5

_RESOURCES = FLAG_ASSET | FLAG_TELEMETRY


def steady_vouched(x: Sequence[float]) -> float:
    """The steadiness a window's page gaps vouch for: :func:`_steady_dwell` less the chance in reading
    a coefficient of variation off a few gaps (its standard error about ``cv / sqrt(2 n)`` for ``n``
    gaps, :data:`STEADY_NOISE` of them)."""
    pages = x[_PAGES]
    if pages < EVEN_MIN_PAGES or x[_GAP_MEAN] <= 0.0:
        return 0.0
    steady = 1.0 - x[_CV] * _beyond_chance(pages)
    return steady if steady > 0.0 else 0.0


def even_vouched(x: Sequence[float]) -> float:
    """The share of even page gaps a window vouches for: the lower end of the share's interval at
    :data:`STEADY_NOISE` standard errors (Wilson's, which stays below 1 for a share of 1 read off few
    pairs), from :data:`EVEN_MIN_PAGES` page views.

    A shopper's "next product" every 2–9 s makes about one pair in three even, and five pairs of six
    now and then: on plain tuning seed 203 (its day generated with 150 clickers), a clicker whose
    first gaps came out 8.4–9.5 s read 0.83 at 8 page views against the week's ceiling of 0.67 and
    was refused (``model:tells``; one clicker in about a thousand on the plain site).  Read off 6 pairs the share says little; a fixed wait ±
    jitter makes every pair even and stands beyond the margin from about a dozen page views."""
    pages = x[_PAGES]
    if pages < EVEN_MIN_PAGES:
        return 0.0
    n = pages - 2.0
    share = x[_EVEN] / n
    z2 = STEADY_NOISE * STEADY_NOISE
    low = (share + z2 / (2.0 * n) - STEADY_NOISE * sqrt(share * (1.0 - share) / n + z2 / (4.0 * n * n))) / (1.0 + z2 / n)
    return low if low > 0.0 else 0.0


def _beyond_chance(pages: float) -> float:
    """The factor that puts a coefficient of variation read off ``pages`` page views (``pages − 1``
    gaps) :data:`STEADY_NOISE` standard errors (about ``cv / sqrt(2 n)``) above its reading."""
    return 1.0 + STEADY_NOISE / sqrt(2.0 * (pages - 1.0))


def on_a_walk(arrivals: Sequence[tuple], x: Sequence[float]) -> bool:
    """Whether most of the window's page views (at least :data:`WALK_SHARE`, from
    :data:`EVEN_MIN_PAGES`) are one walk through consecutive ids, each reached by the site's own
    link at a page's pace (:func:`~smartlayer.request.facts.browsed_run`): "next product" clicked
    through a listing.  ``arrivals``: the window's ``(ts, method, path, flags)``; its files and
    beacons are left out (they follow a page from it, ids and all)."""
    pages = x[_PAGES]
    # a walk's page views came by the site's links: fewer such page views than the walk needs is
    # no walk, read off the vector before the window (most flagged visits: a task list opens pages directly)
    if pages < EVEN_MIN_PAGES or x[_NAVIGATED] < WALK_SHARE:
        return False
    own = [a for a in arrivals if not a[3] & _RESOURCES]
    return browsed_run(own, float(sl_settings.PROFILE_PAGE_PACE)) >= WALK_SHARE * pages


def steady_by_chance(x: Sequence[float], arrivals: Sequence[tuple], ceiling: float,
                     others: Sequence[tuple[Callable[[Sequence[float]], float], float]]) -> bool:
    """Whether a request's only tell beyond the site's ceilings is a steadiness that a walk through a
    listing shows by chance: no other tell (``others``: (reader, ceiling) pairs) beyond its ceiling
    (the share of even gaps beyond chance, :func:`even_vouched`), the steadiness not beyond ``ceiling`` by :data:`STEADY_NOISE` standard errors of its own reading
    (:func:`steady_vouched`), and the visit :func:`on_a_walk`.

    A person clicking "next product" every 2–9 s paces by the product (a glance, the photos, next):
    the gaps vary by about 0.37 of their mean, yet a stretch of 7–11 of them comes out as steady as
    0.13–0.16 now and then (one in a hundred such walks on the generated traffic; a clicker on the
    telemetry site, 5 page views in a row at 0.838–0.877 against a ceiling of 0.833), and the ceiling
    itself is the steadiest such chance stretch of the training week.  A reading off so few gaps is
    that noisy; a fixed wait ± 15 % (cv about 0.09: 0.86 from the 8th page view) stays beyond the
    margin, on a walk or not.  Only the walk gets the margin: the advanced bots the tell catches at
    the ceiling's edge wander the site's templates (a product, a listing, the cart, the home page)
    and sit there on every stretch, not by chance — a margin of one standard error for everyone let
    up to 25 of the 163 sessions it refused go (tuning seeds 1–6, plain site).

    The same walk says what the model's flags on it mean (:meth:`~smartlayer.ml.runtime.ActiveModel.score`
    sets ``reading``): a shopper's "next product" is paced by the product, a third of the mean or so
    (below :data:`READING_CV`), and its length — page views, images, links followed, distinct paths a
    minute — leaves the training week's range as a reader's does; only a script's steadiness or another
    tell would make it more."""
    if steady_vouched(x) > ceiling:
        return False
    for tell, c in others:
        if _VOUCHED.get(tell, tell)(x) > c:
            return False
    return on_a_walk(arrivals, x)


def paced_like_reading(x: Sequence[float]) -> bool:
    """Whether the window's page views are spread in time as a person reads: the gaps between them
    vary by :data:`READING_CV` of their mean or more, or less only by chance (within
    :data:`STEADY_NOISE` standard errors of the reading), from :data:`EVEN_MIN_PAGES` page views.

    A spread read off 7–15 gaps is noisy: a colleague reading quickly (a page every 3–5 s, think
    times spread like anyone's) read 0.42–0.58 on 10–15 page views now and then (the generated
    office, plain tuning seeds 85–90: 6 flagged requests of three colleagues, one of them 14 distinct
    paths a minute, one short of ``endpoint_scanning``), and such a flag counted as a script's pace.
    The margin reads 0.39 as reading at 8 page views, 0.44 at 16, 0.49 at 40; the paces automation
    is given stay below it (a fixed wait ± 15 % about 0.1, a short near-constant pause 0.11–0.17, a
    task list's 2–6 s about 0.3), and the bots refused on flags of a steady pace read 0.2 or less.

    Not a tell (it never refuses anyone): it says what the model's flags on such a visit can mean.
    A long visit of a person clicking through products, following link after link and fetching every
    image, leaves the training week's range by its *length* (the counts of page views, files and
    links followed grow with it) and is flagged request after request; nothing in its pace is a
    script's.  A script paces by a wait it was given (fixed, ± jitter, or a short near-constant
    pause; a task list's 2–6 s), and its gaps vary by a third of their mean or less."""
    pages = x[_PAGES]
    return pages >= EVEN_MIN_PAGES and x[_GAP_MEAN] > 0.0 and x[_CV] * _beyond_chance(pages) >= READING_CV


def answered_in_error(outcomes: Sequence[tuple]) -> frozenset[float]:
    """The times of the window's requests the site answered with an error (4xx, 5xx), from its
    outcomes ``(ts, status, ms, blocked)`` (an outcome's time is its arrival's).  Smartlayer's own
    refusals are not the site's errors: a client refused does not recover from them."""
    return frozenset([o[0] for o in outcomes if o[1] >= 400 and not o[3]])


def hurried_direct_stretch(arrivals: Sequence[tuple], stop: float | None = None,
                           errors: frozenset[float] = frozenset()) -> int:
    """The most page views opened without a referer within one hurried stretch of the window: page views
    each opened less than ``HURRIED_GAP`` after the one before (the extractor's ``hurried_direct_pages``
    counts them over the whole window; the stretches' counts add up to it).  ``arrivals``: the window's
    ``(ts, method, path, flags)``, classed as the extractor classes them (:func:`~.kinds.kind_of`).
    ``stop``: return as soon as a stretch holds more than that.  ``errors``: the times of the window's
    requests answered with an error (:func:`answered_in_error`): a page view opened directly seconds
    after a page that was not there is a person finding their way (the address retyped, the home
    page), not a hurry — the error page had no link to follow — so it does not count, and the stretch
    goes on through it (a task list's other pages still count).  One pass from the newest arrival (a
    task list's current stretch is the first one read), no allocation per arrival."""
    best = run = 0
    later = None   # the page view after the current one: (its time, whether it was opened directly)
    for ts, method, _path, flags in reversed(arrivals):
        kind = kind_of((method, flags))
        if kind != "P" and kind != "N" and kind != "R":
            continue
        if later is not None:
            if later[0] - ts >= HURRIED_GAP:
                run = 0
            elif later[1] and ts not in errors:
                run += 1
                if run > best:
                    best = run
                    if stop is not None and best > stop:
                        return best
        later = (ts, kind == "P")
    return best


def hurried_by_chance(x: Sequence[float], arrivals: Sequence[tuple], ceiling: float,
                      outcomes: Sequence[tuple] = ()) -> bool:
    """Whether the window's page views opened seconds apart without a referer pass the site's ceiling
    only as coincidences: more of them in the window than the ceiling, but never more than the ceiling
    within one hurried stretch (:func:`hurried_direct_stretch`).

    A task list opens URL after URL, each seconds after the last: its hurried direct page views come in
    one stretch and it grows with every page.  Behind an office's address the window also holds the
    colleagues' first requests of the day (a person's very first request carries no cookie; a cookie's
    first is judged as the address, :class:`~smartlayer.request.client.RecordKeys`): each landing is
    opened directly, and two people landing within seconds of each other make one hurried direct page
    view, a stretch of one, followed by silence (each goes on in their own window).  On plain tuning
    seed 106 two such coincidences seven minutes apart made 2 against the site's ceiling of 1 and
    corroborated the model's flags on the address: three colleagues refused.  A person's bookmark opened
    right after a page is such a stretch of one too.  The site's ceiling is learned over whole windows
    (:mod:`smartlayer.ml.training.tells`), and a stretch never holds more than its window, so judging
    the stretch against it asks no more of a visitor than the week showed.

    ``outcomes``: the window's finished requests; a page view opened directly right after a page the
    site answered with an error does not count (:func:`hurried_direct_stretch`).  Plain tuning seed 126:
    a person landing on a stale link (a 404), the browser's ``/index.html`` (a 404) a second later, then
    ``/blog/`` typed: a stretch of two, corroborating the model's flags on the 404s until the person was
    banned."""
    if x[_HURRIED] <= ceiling:
        return False
    if hurried_direct_stretch(arrivals, ceiling) <= ceiling:
        return True
    # read again without the pages that followed an error, only when the window has one (a task list's
    # window has none: one C-level max over its statuses)
    if not outcomes or max(map(_STATUS, outcomes)) < 400:
        return False
    errors = answered_in_error(outcomes)
    return bool(errors) and hurried_direct_stretch(arrivals, ceiling, errors) <= ceiling


#: name → how to read it off one feature vector.
TELLS: dict[str, Callable[[Sequence[float]], float]] = {
    "hurried_direct_pages": itemgetter(FEATURE_NAMES.index("hurried_direct_pages")),
    "even_gap_share": _even_gap_share,
    "silent_share": _silent_share,
    "steady_dwell": _steady_dwell,
}


#: How a walk through a listing reads a tell beyond chance (:func:`steady_by_chance`): a share read
#: off a few pairs by the lower end of its interval; the others as they are.
_VOUCHED: dict[Callable[[Sequence[float]], float], Callable[[Sequence[float]], float]] = {
    _even_gap_share: even_vouched}


#: The lowest ceiling a tell may learn.  A week in which nobody opened a page seconds after another
#: without a referer is a week without it, not a site where people never do: one such page in a
#: window (a bookmark opened right after a page) is what people and office colleagues did on other
#: days of the generated sites (an office colleague was refused on tuning seed 6, whose week's
#: maximum was 0; the other weeks' was 1).
#: The two shares never learn less than half: a share is a tell when *most* of a visit's page views
#: look automated, and a week that holds no long visit (no window of 8 page views) learns 0, from no
#: evidence at all — with that ceiling, one even pair or one page left before its first beacon
#: corroborated the model's flag on a person (the replay benchmark's telemetry site: 12 of 37 people
#: refused by ``model:corroborated``).  Bots that never send a beacon have 1.0, regular-paced ones up
#: to 0.95; people 0.25 and the fast readers at most 0.48 of even pairs.
#: The steadiness never learns less than 0.75 (a coefficient of variation of 0.25): people's reading
#: times spread over an order of magnitude (their lowest cv from 8 page views 0.22–0.26 on the generated
#: weeks, 0.2 for an office colleague), and a week without long visits must not make an ordinary one a tell.
TELL_FLOORS: dict[str, float] = {"hurried_direct_pages": 1.0, "even_gap_share": 0.5, "silent_share": 0.5,
                                 "steady_dwell": 0.75}


def corroborating(ceilings: dict[str, float]) -> tuple[tuple[Callable[[Sequence[float]], float], float], ...]:
    """The (reader, ceiling) pairs of the tells a version's manifest knows (older versions know none)."""
    return tuple((TELLS[name], float(c)) for name, c in (ceilings or {}).items() if name in TELLS)
