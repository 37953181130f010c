"""System checks: bad settings get a clear message with a stable id."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from smartlayer.checks.deploy import check_cache, check_middleware
from smartlayer.checks.patterns import check_extra_pattern_safety, check_extra_patterns
from smartlayer.checks.settings import check_settings


def ids(messages):
    return sorted(m.id for m in messages)


def with_settings(settings, **values):
    settings.SMART_MIDDLEWARE = values
    return check_settings() + check_extra_patterns()


def test_clean_settings_have_no_messages(settings):
    assert with_settings(settings, RATE_LIMIT_PLANS={"free": {"/api/": {"per_minute": 2}}}) == []


def test_not_a_dict_is_e001(settings):
    settings.SMART_MIDDLEWARE = ["oops"]
    assert ids(check_settings()) == ["smartlayer.E001"]


@pytest.mark.parametrize("key, value", [
    ("BAN_TTL", -5), ("grey_hard_block_score", "8"), ("LOG_QUEUE_SIZE", 0), ("LOG_RETENTION_DAYS", 2.5),
    ("AI_PAYLOAD_TIMEOUT", 0), ("BAN_AFTER_BLOCKS", True),
])
def test_bad_numbers_are_e002(settings, key, value):
    messages = with_settings(settings, **{key: value})
    assert ids(messages) == ["smartlayer.E002"]
    assert key in messages[0].msg and messages[0].hint


def test_unknown_key_warns_with_closest_match(settings):
    [message] = with_settings(settings, grey_hard_block_scor=9)
    assert message.id == "smartlayer.W001"
    assert "grey_hard_block_score" in message.hint


@pytest.mark.parametrize("value", ["6am", "25:00", "6:7", 600])
def test_malformed_analyse_logs_at_is_e003(settings, value):
    assert ids(with_settings(settings, ANALYSE_LOGS_AT=value)) == ["smartlayer.E003"]


def test_valid_analyse_logs_at(settings):
    assert with_settings(settings, ANALYSE_LOGS_AT="06:00") == []


def test_unknown_limit_type_is_e004_with_suggestion(settings):
    [message] = with_settings(settings, RATE_LIMIT_PLANS={"free": {"/api/": {"per_minut": 2}}})
    assert message.id == "smartlayer.E004" and "per_minute" in message.hint


@pytest.mark.parametrize("plans", [
    {"free": ["/api/"]},
    {"free": {"/api/": {"per_minute": -1}}},
    {"free": {"/api/": {"per_minute": "2"}}},
    {"free": {"api/": {"per_minute": 2}}},
    {"free": {"/api/": {}}},
])
def test_malformed_plans_are_e013_to_e016(settings, plans):
    # one id per problem (a plan not a dict, a route not a path, empty limits, a bad limit);
    # E004 is the unknown limit type alone
    assert {"smartlayer.E013", "smartlayer.E014", "smartlayer.E015", "smartlayer.E016"} & set(
        ids(with_settings(settings, RATE_LIMIT_PLANS=plans)))


def test_bad_network_is_e005(settings):
    assert ids(with_settings(settings, TRUSTED_PROXIES=["10.0.0.0/8", "ten.zero"])) == ["smartlayer.E005"]


def test_anonymous_plan_must_exist_e006(settings):
    assert ids(with_settings(settings, RATE_LIMIT_PLANS={"free": {"/a": {"per_minute": 1}}},
                             ANONYMOUS_PLAN="anon")) == ["smartlayer.E006"]


def test_unknown_monitor_component_is_e008(settings):
    assert ids(with_settings(settings, MONITOR_MODE=["anomaly", "firewall"])) == ["smartlayer.E008"]


def test_grey_threshold_must_be_below_hard_block_e010(settings):
    assert ids(with_settings(settings, grey_suspicion_threshold=8, grey_hard_block_score=8)) == ["smartlayer.E010"]


def test_window_backend_must_be_known_e011_and_redis_ones_need_redis_e017(settings):
    assert ids(with_settings(settings, WINDOW_BACKEND="memcached")) == ["smartlayer.E011"]
    # the suite's default cache is the local-memory one: neither Redis store can work on it
    assert ids(with_settings(settings, WINDOW_BACKEND="replicated")) == ["smartlayer.E017"]
    assert ids(with_settings(settings, WINDOW_BACKEND="redis")) == ["smartlayer.E017"]
    assert ids(with_settings(settings, WINDOW_BACKEND="local")) == []
    assert ids(with_settings(settings, REPLICATION_INTERVAL=0)) == ["smartlayer.E002"]
    assert ids(with_settings(settings, REPLICATION_GROUP=3)) == ["smartlayer.E018"]


def test_cache_alias_must_name_a_cache_e019(settings):
    settings.SMART_MIDDLEWARE = {"CACHE_ALIAS": "nowhere"}
    assert ids(check_cache()) == ["smartlayer.E019"]


def test_every_check_id_means_one_problem_and_is_documented():
    """The catalogue is the list: the code emits only catalogued ids, each id is
    emitted for one problem, and the README's checks table lists every id once."""
    import re
    from pathlib import Path

    from smartlayer.checks import CATALOGUE

    source = "".join(p.read_text() for p in Path("smartlayer/checks").glob("*.py"))
    emitted = re.findall(r'id="smartlayer\.([EW]\d{3})"', source)
    assert set(emitted) == set(CATALOGUE)
    readme = Path("README.md").read_text()
    rows = re.findall(r"^\| `smartlayer\.([EW]\d{3})` \|", readme, re.M)
    assert sorted(rows) == sorted(CATALOGUE)


def test_ai_key_without_base_url_warns(settings):
    assert ids(with_settings(settings, AI_API_KEY="k")) == ["smartlayer.W006"]


def test_middleware_missing_and_misordered(settings):
    settings.MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
    assert ids(check_middleware()) == ["smartlayer.W002"]
    settings.MIDDLEWARE = [
        "smartlayer.middleware.AIAnomalyDetector",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    assert ids(check_middleware()) == ["smartlayer.W003", "smartlayer.W004"]


def test_local_cache_while_enforcing_warns(settings):
    settings.SMART_MIDDLEWARE = {}
    assert ids(check_cache()) == ["smartlayer.W005"]
    settings.SMART_MIDDLEWARE = {"MONITOR_MODE": True}
    assert check_cache() == []


def test_dummy_cache_is_an_error(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert ids(check_cache()) == ["smartlayer.E009"]


def test_manage_py_check_reports_errors_and_exits_non_zero(settings):
    from django.core.management.base import SystemCheckError

    settings.SMART_MIDDLEWARE = {"BAN_TTL": -1}
    with pytest.raises(SystemCheckError, match="smartlayer.E002"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.django_db
def test_migrations_are_shipped_and_complete():
    out = io.StringIO()
    call_command("makemigrations", "smartlayer", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_bad_extra_pattern_is_e007(settings):
    [message] = with_settings(settings, VALIDATOR_EXTRA_PATTERNS=[
        {"name": "ok", "pattern": "evil", "weight": 1, "family": "custom"},
        {"name": "bad", "pattern": "(unclosed", "weight": 1, "family": "custom"},
    ])
    assert message.id == "smartlayer.E007" and "VALIDATOR_EXTRA_PATTERNS" in message.msg
    assert message.msg.count("VALIDATOR_EXTRA_PATTERNS") == 1


@pytest.mark.parametrize("values, warns", [
    ({}, False),
    ({"LOGIN_FLOOD_WINDOW": 900}, True),                              # the windows keep 600 s
    ({"LOGIN_FLOOD_WINDOW": 900, "WINDOW_SECONDS": 900}, False),
    ({"LOGIN_FLOOD_ATTEMPTS": 300}, True),                            # … and 200 events
    ({"LOGIN_FLOOD_ATTEMPTS": 0, "LOGIN_FLOOD_WINDOW": 900}, False),  # off
])
def test_login_flood_beyond_the_window_is_w007(settings, values, warns):
    assert ("smartlayer.W007" in ids(with_settings(settings, **values))) is warns


def test_a_proxy_count_without_proxy_networks_is_w008(settings):
    from smartlayer.checks.deploy import check_proxies

    settings.SMART_MIDDLEWARE = {"TRUSTED_PROXY_COUNT": 1}
    assert ids(check_proxies()) == ["smartlayer.W008"]
    settings.SMART_MIDDLEWARE = {"TRUSTED_PROXY_COUNT": 1, "TRUSTED_PROXIES": ["10.0.0.0/8"]}
    assert check_proxies() == []
    settings.SMART_MIDDLEWARE = {}
    assert check_proxies() == []


def _log_from(ip: str, n: int) -> None:
    from smartlayer.models import RequestLog

    RequestLog.objects.bulk_create([RequestLog(ip_address=ip, client_key=f"ip:{ip}", method="GET", path="/",
                                               status_code=200, response_time_ms=1.0) for _ in range(n)])


@pytest.mark.django_db
@pytest.mark.parametrize("ip, warns", [("10.0.0.7", True), ("127.0.0.1", True), ("93.184.216.34", False)])
def test_most_traffic_from_one_private_address_is_w009(settings, ip, warns):
    from smartlayer.checks.deploy import check_one_address

    settings.SMART_MIDDLEWARE = {}
    _log_from(ip, 300)
    _log_from("198.51.100.1", 100)
    assert ids(check_one_address()) == (["smartlayer.W009"] if warns else [])
    settings.SMART_MIDDLEWARE = {"TRUSTED_PROXIES": ["10.0.0.0/8"]}
    assert check_one_address() == []


@pytest.mark.django_db
def test_w009_needs_enough_rows_and_a_majority(settings):
    from smartlayer.checks.deploy import check_one_address

    settings.SMART_MIDDLEWARE = {}
    _log_from("10.0.0.7", 150)
    assert check_one_address() == []  # too few rows to say
    for i in range(3):
        _log_from(f"198.51.100.{i}", 100)
    assert check_one_address() == []  # 150 of 450: no majority


def test_w009_has_no_opinion_without_a_database(settings):
    from smartlayer.checks.deploy import check_one_address

    settings.SMART_MIDDLEWARE = {}
    assert check_one_address() == []  # no django_db mark: database access raises, and is swallowed


@pytest.mark.parametrize("pattern", [r"(a|aa)+b", r"(a+)+", r"(\s|/\*.{0,40}?\*/){1,20}", r"(.*a){10}", r"\w+@"])
def test_extra_pattern_that_can_backtrack_is_e012(settings, pattern):
    settings.SMART_MIDDLEWARE = {"VALIDATOR_EXTRA_PATTERNS": [
        {"name": "fine", "pattern": r"x\w{1,20}@", "weight": 1},
        {"name": "mine", "pattern": pattern, "weight": 2},
    ]}
    [message] = check_extra_pattern_safety()
    assert message.id == "smartlayer.E012"
    assert "VALIDATOR_EXTRA_PATTERNS[1] (mine)" in message.msg and repr(pattern) in message.msg
    assert "not used" in message.msg and "bound repetitions" in message.hint
    assert check_settings() == []                   # E007 stays "invalid pattern"


def test_e012_is_reported_by_manage_py_check(settings):
    from django.core.management.base import SystemCheckError

    settings.SMART_MIDDLEWARE = {"VALIDATOR_EXTRA_PATTERNS": [{"name": "mine", "pattern": "(a|aa)+b"}]}
    with pytest.raises(SystemCheckError, match="smartlayer.E012"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


def test_no_extra_patterns_no_e012(settings):
    settings.SMART_MIDDLEWARE = ["not a dict"]
    assert check_extra_pattern_safety() == []
    settings.SMART_MIDDLEWARE = {"VALIDATOR_EXTRA_PATTERNS": [{"name": "ok", "pattern": "evil", "weight": 1}]}
    assert check_extra_pattern_safety() == []


def test_w005_is_quiet_while_developing_and_said_once_by_check_deploy(settings):
    """runserver is one process: W005 must not print on every manage.py command with DEBUG = True,
    and ``check --deploy`` still says it (once, whatever DEBUG is)."""
    from django.core.checks import run_checks

    settings.SMART_MIDDLEWARE = {}

    def w005(deploy):
        return [m.id for m in run_checks(include_deployment_checks=deploy) if m.id == "smartlayer.W005"]

    settings.DEBUG = True
    assert w005(False) == []
    assert w005(True) == ["smartlayer.W005"]
    settings.DEBUG = False
    assert w005(False) == ["smartlayer.W005"]
    assert w005(True) == ["smartlayer.W005"]
