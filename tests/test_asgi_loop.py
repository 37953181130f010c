"""Under ASGI, the decisions that provably start no I/O run on the event loop (``smartlayer.http.loop``).

What must hold: a warm worker's anonymous request, judged from memory, is decided on the loop with no
thread hop; whatever may start I/O before its outcome is known (a possible session, a quota route, a
ban sync due) is decided in a worker thread as before; and an outcome that needs I/O (a refusal's
receivers and log line, a block counted towards a ban, the ban itself) is finished in a worker
thread from where the loop stopped — the request counted once in its window, the same answers as
under WSGI.
"""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from smartlayer import signals
from smartlayer.http import loop
from smartlayer.models import RequestLog
from tests.test_asgi import aclient

pytestmark = pytest.mark.django_db(transaction=True)


def _where() -> str:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return "thread"
    return "loop"


@pytest.fixture
def inspected(monkeypatch) -> list[str]:
    """Where each call of the detector's core ran: "loop" or "thread"."""
    from smartlayer.detectors.behaviour.detector import Detector

    seen: list[str] = []
    original = Detector.inspect

    def spy(self, *args, **kwargs):
        seen.append(_where())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Detector, "inspect", spy)
    return seen


def _statuses(ip: str, paths: list[str], **headers: str) -> list[int]:
    async def run() -> list[int]:
        client = aclient(ip)                 # one client: one handler, one set of middlewares (warm after one)
        return [(await client.get(path, headers=headers or None)).status_code for path in paths]

    return async_to_sync(run)()


def test_a_warm_workers_anonymous_requests_are_decided_on_the_loop(hops, inspected, flush_logs):
    before = dict(loop.COUNTS)
    assert _statuses("203.0.113.60", ["/page/1", "/page/2", "/page/3", "/page/4"]) == [200] * 4
    assert inspected == ["thread", "loop", "loop", "loop"] and len(hops) == 1
    assert loop.COUNTS["loop"] - before["loop"] == 3 and loop.COUNTS["thread"] - before["thread"] == 1
    flush_logs()
    assert RequestLog.objects.filter(ip_address="203.0.113.60").count() == 4


def test_a_refusal_is_finished_in_a_thread_and_the_request_counted_once(sl, inspected, flush_logs):
    """The flood rule's boundary under ASGI is WSGI's (49 served, the 50th refused): the refused
    request's arrival is recorded once, on the loop, and its receivers run in a worker thread."""
    sl(GREY_SUSTAINED_COUNT=0)
    received: list[str] = []

    def receiver(sender: Any, request: Any, client: Any, decision: Any, **kwargs: Any) -> None:
        received.append(_where())

    signals.request_blocked.connect(receiver, weak=False)
    try:
        before = dict(loop.COUNTS)
        codes = _statuses("203.0.113.61", ["/page/1"] * 52)
    finally:
        signals.request_blocked.disconnect(receiver)
    assert codes[:49] == [200] * 49 and codes[49:] == [403] * 3
    assert inspected[0] == "thread" and set(inspected[1:]) == {"loop"}
    assert received and set(received) == {"thread"}
    assert loop.COUNTS["deferred"] - before["deferred"] == 3
    flush_logs()
    rows = RequestLog.objects.filter(ip_address="203.0.113.61").order_by("id")
    assert [row.was_blocked for row in rows] == [False] * 49 + [True] * 3
    assert rows[49].blocked_by == "anomaly" and rows[49].reason.startswith("black:")


def test_blocks_escalate_to_a_ban_from_the_thread(sl, flush_logs):
    """An attack payload blocked three times bans the client (BAN_AFTER_BLOCKS): the block counter
    and the ban are the I/O the loop hands over; the ban is then answered from the loop's lookup."""
    from smartlayer.models import Ban

    sl(BAN_AFTER_BLOCKS=3)
    attack = "/search/?q=1%27%20UNION%20SELECT%20password%20FROM%20users--"
    codes = _statuses("203.0.113.62", ["/page/1"] + [attack] * 3 + ["/page/2"])
    assert codes == [200, 403, 403, 403, 403]
    flush_logs()                                        # the ban's row is written with the log's batch
    assert Ban.objects.filter(client_key="ip:203.0.113.62").count() == 1
    rows = list(RequestLog.objects.filter(ip_address="203.0.113.62").order_by("id"))
    assert [row.blocked_by for row in rows] == ["", "validator", "validator", "validator", "ban"]


def test_a_possible_session_goes_to_a_thread(hops, inspected):
    """A session cookie may name a signed-in user: resolving it reads the session store."""
    codes = _statuses("203.0.113.63", ["/page/1", "/page/2", "/page/3"], cookie="sessionid=abc123")
    assert codes == [200] * 3 and inspected == ["thread"] * 3 and len(hops) == 3


def test_a_quota_route_goes_to_a_thread(sl, inspected):
    """An anonymous plan's route is counted in the cache; other paths stay on the loop."""
    sl(RATE_LIMIT_PLANS={"anon": {"/api/x": {"per_minute": 100}}}, ANONYMOUS_PLAN="anon")
    codes = _statuses("203.0.113.64", ["/page/1", "/api/x", "/page/2", "/api/x"])
    assert codes == [200] * 4 and inspected == ["thread", "thread", "loop", "thread"]


def test_a_ban_sync_due_goes_to_a_thread(inspected):
    from smartlayer.state import bans

    def run() -> list[int]:
        async def three() -> list[int]:
            client = aclient("203.0.113.65")
            out = [(await client.get("/page/1")).status_code]
            bans.reset_sync_timer()            # the next lookup syncs from the database
            out += [(await client.get("/page/2")).status_code, (await client.get("/page/3")).status_code]
            return out

        return async_to_sync(three)()

    assert run() == [200] * 3 and inspected == ["thread", "thread", "loop"]


def test_nothing_is_handed_over_outside_the_loop():
    """The same enforcement step called in a thread (WSGI, the replay) never raises the hand-over."""
    from smartlayer.policy import enforce
    from smartlayer.request.decision import Action, Evidence
    from smartlayer.request.deferred import STATE, Deferred

    class Bans:
        def note_block(self, ctx, now):
            return 1

    ctx = _context()
    ev = Evidence("validator", payload_score=5, payload_hits=["sqli_union@query"])
    assert enforce.decide(ev, ctx, bans=Bans()).action is Action.BLOCK
    STATE.on = True
    try:
        with pytest.raises(Deferred) as raised:
            enforce.decide(ev, ctx, bans=Bans())
    finally:
        STATE.on = False
    assert raised.value.finish().action is Action.BLOCK


def _context():
    from django.test import RequestFactory

    from smartlayer.request.context import begin

    return begin(RequestFactory().get("/page/1", REMOTE_ADDR="203.0.113.66", HTTP_USER_AGENT="x"), None)


def test_a_pass_with_the_validator_before_the_detector_stays_in_threads():
    """The validator counts a profile flag in the window the detector's arrival made: run first (or
    alone) its count would go to the cache, so such a pass never decides on the loop."""
    class Member:
        def __init__(self, component: str) -> None:
            self.component = component

    def members(*names: str) -> list[Member]:
        return [Member(name) for name in names]

    assert loop.keeps_windows(members("anomaly", "validator", "ratelimit", "watchlog"))
    assert loop.keeps_windows(members("ratelimit", "watchlog"))
    assert not loop.keeps_windows(members("validator", "anomaly", "ratelimit"))
    assert not loop.keeps_windows(members("validator", "watchlog"))


def test_what_the_settings_allow(sl, settings):
    """An LLM configured or windows in Redis keep every decision in a thread; the anonymous plan's
    routes are read once per settings generation; a plan that names no plan is a thread's to report."""
    assert loop._allowed() == (True, None)                 # the tests' local-memory cache and windows
    sl(AI_API_KEY="sk-test")
    assert loop._allowed() == (False, None)
    sl(AI_API_KEY="", WINDOW_BACKEND="redis")
    assert loop._allowed() == (False, None)
    sl(WINDOW_BACKEND="auto", RATE_LIMIT_PLANS={"anon": {"/api/*": {"per_minute": 5}}}, ANONYMOUS_PLAN="anon")
    stores, routes = loop._allowed()
    assert stores is True and [route.pattern for route in routes] == ["/api/*"]
    sl(ANONYMOUS_PLAN="nobody")
    assert loop._allowed() == (True, loop._UNKNOWN_PLAN)
    sl(ENABLED=False)
    assert loop._allowed() is None


def test_a_body_is_decided_on_the_loop_only_when_it_is_held_in_memory(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert loop._body_in_memory({"CONTENT_LENGTH": "1000"})
    assert not loop._body_in_memory({"CONTENT_LENGTH": "1001"})
    assert not loop._body_in_memory({"CONTENT_LENGTH": "ten"})
