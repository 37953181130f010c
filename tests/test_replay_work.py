"""Work the replay does once instead of per line, and the collector's share of a command-line replay.

Counted, never timed: a query string's parameters are worked out once per
distinct query (and decide as if worked out afresh), and a replay run from the
command line leaves the cyclic collector off through start-up and its objects
to the process's exit, while a ``call_command`` leaves the collector as it was.
"""
from __future__ import annotations

import gc
import io
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command

from smartlayer.offline import replay as replay_module
from smartlayer.offline.accesslog import write_combined
from smartlayer.offline.replay import Replayer
from smartlayer.profile.core import Profile
from smartlayer.profile.learn import learn_profile, rows_from_records
from smartlayer.sim import generate

ROOT = Path(__file__).resolve().parents[1]


def _traffic(seed: int, start: float = 1_700_000_000.0):
    return generate(start=start, duration=2 * 3600, seed=seed, humans=15,
                    scenarios={"vuln_scanner": 1, "scraper": 1, "tampering": 2})


def test_a_query_strings_parameters_are_worked_out_once_and_decide_as_afresh(monkeypatch):
    profile = Profile(learn_profile(rows_from_records(_traffic(3, 1_699_990_000.0)), resolver=False), "t")
    recs = _traffic(4)
    calls = []
    real = replay_module.request_params

    def counted(query, raw=None, content_type=""):
        if raw is None and not content_type:   # a body-less request's parameters: those are shared
            calls.append(query)
        return real(query, raw, content_type)

    monkeypatch.setattr(replay_module, "request_params", counted)
    shared = Replayer(model=None, profile=profile)
    shared.run(recs)
    queries = {r.query for r in recs if r.query and not getattr(r, "body", "")}
    assert len(queries) > 10
    assert calls and len(calls) == len(set(calls)) <= len(queries)   # once per distinct query, not per line
    assert len(calls) < sum(1 for r in recs if r.query)

    calls.clear()
    fresh = Replayer(model=None, profile=profile)
    fresh._query_params = type("Never", (dict,), {"get": lambda self, key: None})()
    fresh.run(recs)
    assert len(calls) > len(set(calls))                                # afresh: once per line
    assert fresh.result.decisions == shared.result.decisions
    assert fresh.result.outcomes == shared.result.outcomes
    assert {k: c.as_row() for k, c in fresh.result.clients.items()} == \
        {k: c.as_row() for k, c in shared.result.clients.items()}


def test_call_command_leaves_the_collector_as_it_found_it(tmp_path):
    log = tmp_path / "access.log"
    with log.open("w") as fp:
        write_combined(_traffic(5)[:300], fp)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    call_command("smartlayer_replay", str(log), "--no-model", stdout=io.StringIO())
    assert gc.isenabled() and gc.get_freeze_count() == 0


SCRIPT = """
import gc, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from smartlayer.offline import replay
seen = []
built = replay.Replayer.__init__
def init(self, *args, **kwargs):
    seen.append(gc.isenabled())           # start-up: the model, the profile, the engines
    built(self, *args, **kwargs)
replay.Replayer.__init__ = init
from smartlayer.management.commands.smartlayer_replay import Command
Command().run_from_argv(["manage.py", "smartlayer_replay", sys.argv[1], "--no-model"])
print("RESULT", seen, gc.isenabled(), gc.get_freeze_count() > 1000)
"""


def test_from_the_command_line_start_up_runs_without_the_collector_and_the_exit_frees_the_rest(tmp_path):
    log = tmp_path / "access.log"
    with log.open("w") as fp:
        write_combined(_traffic(6)[:300], fp)
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(log)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "replayed: 300" in out.stdout
    result = [line for line in out.stdout.splitlines() if line.startswith("RESULT")]
    # off while the replay was built, back on when the command returned, and everything it built set
    # aside for the exit instead of being walked by the collector once more
    assert result == ["RESULT [False] True True"]
