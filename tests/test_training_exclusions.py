"""What training leaves out of the request log, and that it says so.

A banned client's requests are left out only while its ban was in force
([created_at, min(lifted_at, expires_at))), not every request it ever made:
a lifted ban once emptied a whole training run ("0 rows").
"""
from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from smartlayer.ml.training import frames
from smartlayer.models import Ban, RequestLog
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db

BASE = datetime(2025, 3, 1, 12, tzinfo=dt_timezone.utc)
HOUR = timedelta(hours=1)


def at(minute: float) -> datetime:
    return BASE + timedelta(minutes=minute)


def log(minute: float, key: str, **kw) -> RequestLog:
    fields = {"timestamp": at(minute), "client_key": key, "method": "GET", "path": f"/p/{minute}",
              "status_code": 200, "response_time_ms": 4.5, "user_agent": BROWSER_UA}
    fields.update(kw)
    return RequestLog(**fields)


def minutes(df, key: str) -> list[float]:
    ts = df.loc[df.client_key == key, "ts"]
    return sorted(round((t - BASE.timestamp()) / 60) for t in ts)


def test_a_lifted_ban_leaves_out_only_the_rows_while_it_was_in_force():
    RequestLog.objects.bulk_create([log(m, "ip:1.1.1.1") for m in range(60)])
    Ban.objects.create(client_key="ip:1.1.1.1", created_at=at(20), lifted_at=at(30), expires_at=at(50))
    counts: dict = {}
    df = frames.requestlog_frame(BASE, BASE + HOUR, counts=counts)
    assert minutes(df, "ip:1.1.1.1") == [*range(20), *range(30, 60)]
    assert counts == {"read": 60, "refused": 0, "during_ban": 10, "exempt_path": 0, "kept": 50}


def test_an_expired_ban_and_overlapping_bans_leave_out_their_union():
    RequestLog.objects.bulk_create([log(m, "u:7", user_id="7") for m in range(60)])
    Ban.objects.create(client_key="u:7", created_at=at(5), expires_at=at(10))             # expired
    Ban.objects.create(client_key="u:7", created_at=at(40), expires_at=at(50))
    Ban.objects.create(client_key="u:7", created_at=at(45), lifted_at=at(55))             # overlaps the one before
    Ban.objects.create(client_key="u:7", created_at=at(-300), expires_at=at(-200))        # over before the window
    df = frames.requestlog_frame(BASE, BASE + HOUR)
    assert minutes(df, "u:7") == [*range(5), *range(10, 40), *range(55, 60)]


def test_an_ip_ban_covers_the_users_at_that_address_while_in_force_a_user_ban_only_the_user():
    rows = [log(m, "u:8", user_id="8", ip_address="2.2.2.2") for m in range(0, 60, 10)]
    rows += [log(m, "ip:2.2.2.2", ip_address="2.2.2.2") for m in range(0, 60, 10)]
    rows += [log(m, "ip:3.3.3.3", ip_address="3.3.3.3") for m in range(0, 60, 10)]
    rows += [log(m, "u:9", user_id="9", ip_address="3.3.3.3") for m in range(0, 60, 10)]
    RequestLog.objects.bulk_create(rows)
    Ban.objects.create(client_key="ip:2.2.2.2", ip_address="2.2.2.2", created_at=at(15), expires_at=at(35))
    Ban.objects.create(client_key="u:9", ip_address="3.3.3.3", created_at=at(0))          # permanent
    df = frames.requestlog_frame(BASE, BASE + HOUR)
    assert minutes(df, "u:8") == minutes(df, "ip:2.2.2.2") == [0, 10, 40, 50]
    assert minutes(df, "ip:3.3.3.3") == [0, 10, 20, 30, 40, 50]  # another client at a banned user's address
    assert minutes(df, "u:9") == []


def test_counts_name_every_reason_once():
    rows = [log(m, "ip:4.4.4.4") for m in range(30)]
    rows += [log(30 + m, "ip:4.4.4.4", was_blocked=True) for m in range(4)]
    rows += [log(40 + m, "ip:4.4.4.4", monitor_only=True) for m in range(2)]
    rows += [log(50 + m, "ip:4.4.4.4", path="/static/app.js") for m in range(3)]
    rows += [log(m, "ip:5.5.5.5") for m in range(10)]
    rows += [log(70, "ip:4.4.4.4")]  # outside the window: not read
    RequestLog.objects.bulk_create(rows)
    Ban.objects.create(client_key="ip:5.5.5.5", created_at=at(0), expires_at=at(5))
    counts: dict = {}
    df = frames.requestlog_frame(BASE, BASE + HOUR, chunk_size=7, counts=counts)
    assert counts == {"read": 49, "refused": 6, "during_ban": 5, "exempt_path": 3, "kept": 35} and len(df) == 35


def test_many_bans_many_rows_three_queries_and_the_same_answer_as_a_naive_check(django_assert_max_num_queries):
    """Three queries whatever the number of rows and bans (the bans, the
    refused count, the served rows, streamed), and the interval index agrees
    with checking every row against every ban."""
    import random

    rng = random.Random(3)
    rows = [log(rng.uniform(0, 59), f"ip:6.6.6.{rng.randrange(20)}") for _ in range(800)]
    RequestLog.objects.bulk_create(rows)
    bans = []
    for _ in range(80):
        start = rng.uniform(-10, 59)
        end = start + rng.uniform(0.1, 8)
        bans.append(Ban(client_key=f"ip:6.6.6.{rng.randrange(20)}", created_at=at(start),
                        **{rng.choice(["expires_at", "lifted_at"]): at(end)}))
    Ban.objects.bulk_create(bans)
    counts: dict = {}
    with django_assert_max_num_queries(3):
        df = frames.requestlog_frame(BASE, BASE + HOUR, chunk_size=100, counts=counts)

    def banned(r):
        return any(b.client_key == r.client_key and b.created_at <= r.timestamp < (b.expires_at or b.lifted_at)
                   for b in bans)

    expected = sorted(r.timestamp.timestamp() for r in rows if not banned(r))
    assert 0 < counts["during_ban"] < 800
    assert sorted(df["ts"]) == pytest.approx(expected)


# ── what the command says ──────────────────────────────────────────────────

@pytest.fixture
def store(tmp_path, sl):
    sl(MODEL_STORE=str(tmp_path / "store"), MODEL_MIN_SAMPLES=50)


def busy_log(n_clients: int = 6, per_client: int = 60) -> None:
    rows = []
    for c in range(n_clients):
        rows += [log(m, f"ip:7.7.7.{c}", path=f"/p/{m % 7}") for m in range(per_client)]
    rows += [log(m, "ip:7.7.7.0", was_blocked=True) for m in range(5)]
    rows += [log(m, "ip:7.7.7.0", path="/static/x.css") for m in range(3)]
    RequestLog.objects.bulk_create(rows)


def test_the_command_says_how_many_rows_were_read_and_left_out_and_why(store):
    busy_log()
    # banned, then lifted: only its rows while banned are left out
    Ban.objects.create(client_key="ip:7.7.7.1", created_at=at(10), lifted_at=at(20))
    out = StringIO()
    call_command("train_smartlayer", "--since", BASE.isoformat(), "--until", (BASE + HOUR).isoformat(),
                 "--dry-run", "--n-estimators", "10", "--random-state", "0", stdout=out)
    text = out.getvalue()
    assert "368 rows read from the request log" in text
    assert "18 left out: 5 refused or monitor-only, 10 during a ban, 3 on exempt paths" in text
    assert "350 used" in text


def test_too_little_data_names_the_rows_left_out(store):
    """The reported case: every row excluded used to read as "0 rows"."""
    busy_log(n_clients=2)
    Ban.objects.create(client_key="ip:7.7.7.0", created_at=at(-10))
    Ban.objects.create(client_key="ip:7.7.7.1", created_at=at(-10))
    with pytest.raises(CommandError) as err:
        call_command("train_smartlayer", "--since", BASE.isoformat(), "--until", (BASE + HOUR).isoformat(),
                     "--dry-run")
    message = str(err.value)
    assert "too little data to train" in message
    assert "128 rows read from the request log, 128 left out: 5 refused or monitor-only, 123 during a ban, " \
           "0 on exempt paths" in message


def test_the_training_metadata_keeps_the_counts(store):
    from smartlayer.ml.training.train import TrainOptions, train

    busy_log()
    Ban.objects.create(client_key="ip:7.7.7.2", created_at=at(50))
    lines: list[str] = []
    result = train(TrainOptions(since=BASE, until=BASE + HOUR, dry_run=True, params={"n_estimators": 10}),
                   log=lines.append)
    training = result.manifest["training"]
    assert training["read"] == 368
    assert training["excluded"] == {"refused": 5, "during_ban": 10, "exempt_path": 3}
    assert any("368 rows read from the request log" in line for line in lines)


def test_allow_listed_clients_stay_out_of_training_as_they_stay_out_of_windows(settings):
    """One definition of exempt: an address in ALLOW_IPS is never windowed by the
    middleware, so training leaves its requests out too (it used to drop exempt paths only)."""
    from smartlayer.sim import TrafficRecord

    settings.SMART_MIDDLEWARE = {**settings.SMART_MIDDLEWARE, "ALLOW_IPS": ["192.0.2.0/24"]}
    recs = [TrafficRecord(ts=1000.0 + i, ip=ip, method="GET", path="/page/1", query="", status=200,
                          user_agent="ua", response_ms=1.0) for i, ip in enumerate(["192.0.2.9", "198.51.100.9"] * 3)]
    df = frames.records_frame(recs)
    assert set(df["client_key"]) == {"ip:198.51.100.9"}
