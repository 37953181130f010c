"""Score early, decide later: the model scores a client from its first requests, its evidence
accumulates inside the grace period, and the grace period refuses nobody on little evidence."""
from __future__ import annotations

import pytest

from smartlayer.detectors.behaviour.detector import Detector
from smartlayer.ml.runtime import ModelScore
from smartlayer.request.client import Client
from smartlayer.request.context import RequestContext
from smartlayer.state.ban_backends import MemoryBans
from smartlayer.state.windows.window import LocalWindowStore

T0 = 1_700_000_000.0
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


class Constant:
    """A model that gives every request the same score (threshold 0.5)."""

    version = "constant"

    def __init__(self, score: float) -> None:
        self.value = score
        self.calls = 0

    def score(self, snap):
        self.calls += 1
        return ModelScore(self.value, 0.5, self.version, [])


class Demoted:
    def note(self, model, client, flagged, now, score=None) -> bool:
        return False


def visit(model, n: int, guard=None) -> list:
    det = Detector(LocalWindowStore(max_clients=100), MemoryBans(), use_llm=False, model=model, profile=None,
                   guard=guard)
    client = Client(key="ip:198.51.100.7", ip="198.51.100.7", user_id=None, authenticated=False)
    out = []
    for i in range(n):
        t = T0 + 8.0 * i   # a page every 8 s: no rate rule fires
        ctx = RequestContext(client=client, method="GET", path=f"/article/{i % 7}/", user_agent=BROWSER,
                             started=t, t0=0.0)
        decision = det.inspect(ctx, t)
        out.append((decision, ctx.model_score))
        det.record_outcome(ctx, 403 if decision.refuses else 200, 10.0, decision.refuses, now=t)
    return out


@pytest.fixture(autouse=True)
def _defaults(sl):
    sl(grey_grace_requests=20, MODEL_SCORE_FROM=2, MODEL_SUSTAINED_ALONE=15, MODEL_SUSTAINED_WINDOW=600)


def test_scored_from_the_second_request_and_nobody_refused_in_grace_on_little_evidence():
    model = Constant(0.4)   # below the threshold: evidence of nothing
    out = visit(model, 20)
    assert out[0][1] is None and all(score == 0.4 for _, score in out[1:])
    assert model.calls == 19 and not any(d.refuses for d, _ in out)


def test_a_sustained_anomaly_ends_the_grace_period():
    out = visit(Constant(0.6), 20)
    # requests 2..15 flagged: 14 flags, still protected; the 16th makes 15 (MODEL_SUSTAINED_ALONE)
    assert not any(d.refuses for d, _ in out[:15])
    assert out[15][0].refuses and out[15][0].reason == "model:sustained"


def test_a_demoted_model_never_ends_the_grace_period():
    out = visit(Constant(0.6), 20, guard=Demoted())
    assert not any(d.refuses for d, _ in out)


def test_from_a_later_request_when_asked(sl):
    sl(MODEL_SCORE_FROM=21)
    model = Constant(0.6)
    out = visit(model, 22)
    assert [score is not None for _, score in out] == [False] * 20 + [True, True]
