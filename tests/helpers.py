"""Small helpers several test modules share (not fixtures: plain functions, imported by name)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode


def pool_scenarios(results: Iterable[Any]) -> dict[str, list[int]]:
    """``scenario → [caught, clients]`` summed over replay results (the detection gates pool their seeds)."""
    totals: dict[str, list[int]] = {}
    for result in results:
        for row in result.scenario_table():
            caught, clients = totals.setdefault(row["scenario"], [0, 0])
            totals[row["scenario"]] = [caught + row["caught"], clients + row["clients"]]
    return totals


def small_fitted_model() -> Any:
    """A quick model fitted on a small generated day (the admin tests need one version, not a good one)."""
    from smartlayer.ml.training.frames import records_frame
    from smartlayer.ml.training.train import fit_frame
    from smartlayer.sim import generate_attack_day

    return fit_frame(records_frame(generate_attack_day(4, humans=10)),
                     params={"n_estimators": 15, "max_samples": 64, "contamination": 0.02, "random_state": 0},
                     min_samples=50)


def first_refusal_in_grace(model: Any, *, t0: float = 1_700_000_040.0) -> tuple[int, Any] | None:
    """``(index, decision)`` of the first refusal among one browser's 19 product pages, 4 s apart — all of
    them inside the grace period (20 requests) — judged by a fresh detector with ``model``; None if none."""
    from smartlayer.detectors.behaviour.detector import Detector
    from smartlayer.request.client import Client
    from smartlayer.request.context import RequestContext
    from smartlayer.state.ban_backends import MemoryBans
    from smartlayer.state.windows.window import LocalWindowStore

    detector = Detector(LocalWindowStore(), MemoryBans(), use_llm=False, model=model)
    client = Client(key="ip:203.0.113.9", ip="203.0.113.9", user_id=None, authenticated=False)
    for i in range(1, 20):
        now = t0 + 4.0 * i
        ctx = RequestContext(client=client, method="GET", path=f"/products/{i}/",
                             user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0", started=now, t0=0.0)
        d = detector.inspect(ctx, now)
        detector.record_outcome(ctx, 200, 5.0, d.refuses, now=now)
        if d.refuses:
            return i, d
    return None


def hit_names(result: Any) -> set[str]:
    """The signature names of a payload scan's hits, without their locations."""
    return {hit.split("@", 1)[0] for hit in result.hits}


def scan_query_value(value: str) -> Any:
    """The payload scan of one query parameter ``q`` carrying ``value`` (percent-encoded as a client sends it)."""
    from urllib.parse import quote

    from smartlayer.detectors.payload import scan_parts

    return scan_parts(query_string="q=" + quote(value, safe=""))


def scan_body_text(text: str, content_type: str = "application/xml") -> Any:
    """The payload scan of ``text`` posted as a body (UTF-8) of ``content_type``."""
    from smartlayer.detectors.payload import scan_parts

    return scan_parts(body=text.encode("utf-8"), content_type=content_type)


def request_kind(method: str, f: int) -> str:
    """A request's class as the feature references spell it, from its method and flags (written
    plainly, apart from the extractor's own bit tricks): N/R/P page views (navigated, foreign referer,
    plain), A asset, T telemetry, C any other call."""
    from smartlayer.request.facts import (
        FLAG_API,
        FLAG_ASSET,
        FLAG_FOREIGN_REFERER,
        FLAG_NAVIGATED,
        FLAG_TELEMETRY,
        FLAG_UNKNOWN_PATH,
    )

    if method in ("GET", "HEAD") and not f & (FLAG_ASSET | FLAG_TELEMETRY | FLAG_API | FLAG_UNKNOWN_PATH):
        return "N" if f & FLAG_NAVIGATED else ("R" if f & FLAG_FOREIGN_REFERER else "P")
    return "A" if f & FLAG_ASSET else ("T" if f & FLAG_TELEMETRY else "C")


def spy_engine_matches(monkeypatch: Any, record: Any) -> None:
    """Wrap ``Engine.matches`` so that every whole-engine pass calls ``record(text, filtered)`` first
    (the payload tests count passes and the characters sent to them; each keeps what it needs)."""
    from smartlayer.detectors.payload import engine

    original = engine.Engine.matches

    def counting(self: Any, text: str, *, filtered: bool = False) -> list[int]:
        record(text, filtered)
        return original(self, text, filtered=filtered)

    monkeypatch.setattr(engine.Engine, "matches", counting)


def record_calls(monkeypatch: Any, owner: Any, name: str) -> list[Any]:
    """Wrap the one-argument callable ``owner.name`` so that each call's argument is appended to the list
    returned (tests that count a function's calls, e.g. a parser's or a helper's, in place)."""
    calls: list[Any] = []
    original = getattr(owner, name)

    def counting(value: Any) -> Any:
        calls.append(value)
        return original(value)

    monkeypatch.setattr(owner, name, counting)
    return calls


# A typical shop request (five query parameters or fewer, a 1 KiB review form, a browser's headers):
# the payload tests that count a repeated request's work send this one.
COMMENT = ("I ordered the blue pair last week and they fit well, although the left one felt a little tight "
           "around the toes at first. After two runs it's fine; delivery took 3 days (box dented, shoes OK). ")
FORM = {"name": "Jane O'Reilly", "email": "jane.doe+shop@example.co.uk", "rating": "4",
        "comment": (COMMENT * 5)[:880], "next": "/account/orders?tab=2"}
HEADERS = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0",
           "HTTP_COOKIE": "sessionid=k2j9d0s7a6q5w4e3; theme=dark"}


def review_request(query: dict, form: dict = FORM) -> Any:
    """A POST of ``form`` to the shop's review page with ``query``, as a browser sends it."""
    from django.test import RequestFactory

    return RequestFactory().post("/shop/review?" + urlencode(query), data=urlencode(form).encode(),
                                 content_type="application/x-www-form-urlencoded", **HEADERS)


def product_walk(gaps, *, walk: bool = True, navigated: bool = True, t0: float = 1_700_000_000.0):
    """The snapshots of one browser's page views ``gaps`` apart: a listing, then products one after
    another (``walk``: ids 76, 77, …; else ids all over the shop), each from the page before."""
    from smartlayer.request.facts import FLAG_NAVIGATED, FLAG_PROFILED
    from smartlayer.state.windows.window import ClientWindow

    window = ClientWindow(500)
    flags = FLAG_PROFILED | (FLAG_NAVIGATED if navigated else 0)
    snaps = [window.arrive((t0, "GET", "/category/shoes/", FLAG_PROFILED), 3600.0)]
    t = t0
    for i, gap in enumerate(gaps):
        t += gap
        pid = 76 + i if walk else 76 + 37 * i % 401
        snaps.append(window.arrive((t, "GET", f"/products/{pid}/", flags), 3600.0))
    return snaps


def offline_query_view(monkeypatch: Any) -> tuple[Any, Any]:
    """The query engine as offline work builds it (the replay: a view of one engine shared with the headers'),
    made afresh, and an engine compiled on the view's patterns alone to compare it with."""
    from smartlayer.detectors.payload import engine, signatures
    from smartlayer.detectors.payload.engine_view import EngineView

    monkeypatch.setattr(signatures, "_ENGINES", {})
    monkeypatch.setattr(signatures, "_SHARED", {})
    monkeypatch.setattr(signatures, "PREFILTER_LATER", [True])
    view, _signatures = signatures.engine_for(1, "query")
    assert isinstance(view, EngineView)
    return view, engine.Engine(view.patterns)
