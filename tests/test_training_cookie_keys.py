"""Training frames key the clients behind a shared address as the middleware does.

The detector judges a cookie's first request from an address as the address, and records it in
the cookie client's window as well; from the second request on the cookie client is judged on
its own.  A model trained on frames that filed every cookie request under its person never saw
the address's window as served — an office's colleagues landing within a minute of each other
were judged against ceilings learned without them.  These tests drive the real detector and the
training frames over the same office traffic and ask for the same vectors.
"""
from __future__ import annotations

import random

from smartlayer.ml.features import extract
from smartlayer.ml.training.frames import WINDOW_ONLY, frame_to_vectors, records_frame
from smartlayer.request.client import RecordKeys, cookie_hash, ip_key, person_key
from smartlayer.sim import TrafficRecord

T0 = 1_700_000_000.0
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
OFFICE = "198.51.100.7"


def office_records(seed: int = 5, colleagues: int = 6, pages: int = 25) -> list[TrafficRecord]:
    """Colleagues behind one address, each with a session cookie, arriving within two minutes;
    a few cookieless requests from the address too.  Distinct timestamps, in time order."""
    rng = random.Random(seed)
    recs: list[TrafficRecord] = []
    for c in range(colleagues):
        t = T0 + rng.uniform(0, 120)
        cookie = f"session-{c:02d}-" + "x" * 24
        for _ in range(pages):
            recs.append(TrafficRecord(ts=t, ip=OFFICE, method="GET", path=f"/docs/{rng.randrange(40)}", query="",
                                      status=200, user_agent=BROWSER, response_ms=12.0, cookie=cookie,
                                      label="office"))
            t += rng.uniform(2.0, 30.0)
    for k in range(8):
        recs.append(TrafficRecord(ts=T0 + 5 + 37 * k, ip=OFFICE, method="GET", path="/", query="", status=200,
                                  user_agent=BROWSER, response_ms=8.0, label="office"))
    recs.sort(key=lambda r: r.ts)
    return recs


def served_vectors(recs: list[TrafficRecord]) -> set[tuple[str, float, tuple[float, ...]]]:
    """(the key the detector judged the request as, its time, the vector it scored), request by request."""
    from smartlayer.detectors.behaviour.detector import Detector
    from smartlayer.ml.runtime import ModelScore
    from smartlayer.request.client import Client
    from smartlayer.request.context import RequestContext
    from smartlayer.state.ban_backends import MemoryBans
    from smartlayer.state.windows.window import LocalWindowStore

    seen: set[tuple[str, float, tuple[float, ...]]] = set()
    current: list = [None]

    class Spy:
        def score(self, snap):
            ctx = current[0]
            seen.add((ctx.client.key, ctx.started, tuple(extract(snap))))
            return ModelScore(0.0, 1.0, "spy", [])

    det = Detector(LocalWindowStore(max_clients=1000), MemoryBans(), use_llm=False, model=Spy())
    for r in recs:
        client = Client(key=ip_key(r.ip), ip=r.ip, user_id=None, authenticated=False,
                        cookie=cookie_hash(r.cookie) if r.cookie else None)
        ctx = RequestContext(client=client, method=r.method, path=r.path, user_agent=r.user_agent,
                             started=float(r.ts), t0=0.0)
        current[0] = ctx
        det.inspect(ctx, float(r.ts), monitor=True)
        det.record_outcome(ctx, r.status, r.response_ms, False, now=float(r.ts))
    return seen


def test_record_keys_judge_a_cookie_s_first_request_as_its_address():
    keys = RecordKeys(cookies=True, limit=2)
    address = ip_key(OFFICE)
    a, b, c = (person_key(address, cookie_hash(v)) for v in ("a" * 24, "b" * 24, "c" * 24))
    assert keys.keys(OFFICE, "a" * 24) == (address, a)      # first: the address's, recorded for a
    assert keys.keys(OFFICE, "a" * 24) == (a, None)         # then its own
    assert keys.keys(OFFICE, "") == (address, None)
    assert keys.keys(OFFICE, "b" * 24) == (address, b)
    assert keys.keys(OFFICE, "c" * 24) == (address, None)   # no room left: the address's, now and later
    assert keys.keys(OFFICE, "c" * 24) == (address, None)
    assert keys.keys(OFFICE, "a" * 24, user_id=7) == ("u:7", None)
    assert RecordKeys(cookies=False).keys(OFFICE, "a" * 24) == (address, None)


def test_the_frame_holds_each_cookie_s_first_request_twice_once_window_only():
    recs = office_records()
    df = records_frame(recs)
    assert len(df) == len(recs) + 6          # six colleagues, one window-only row each
    only = df[df[WINDOW_ONLY]]
    assert len(only) == 6 and all("~c:" in k for k in only["client_key"])
    # the same request judged as the address
    address = ip_key(OFFICE)
    for ts in only["ts"]:
        assert list(df[(df["ts"] == ts) & ~df[WINDOW_ONLY]]["client_key"]) == [address]


def test_training_vectors_of_an_office_equal_the_served_ones():
    recs = office_records()
    served = served_vectors(recs)
    X, meta = frame_to_vectors(records_frame(recs))
    offline = {(k, float(t), tuple(v)) for k, t, v in zip(meta["client_key"], meta["ts"], X.tolist(), strict=True)}
    assert len(served) > 100
    assert offline == served
    # the address's own window holds the colleagues' first pages: it was scored more than its 8 requests
    assert sum(k == ip_key(OFFICE) for k, _, _ in served) > 8
