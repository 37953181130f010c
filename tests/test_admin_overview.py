"""The overview page and the request log's list, filters and detail, without a browser."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from smartlayer.admin.charts import nice_ticks, timeline_svg
from smartlayer.admin.overview_data import gather
from smartlayer.models import Ban, RequestLog
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="pw", email="r@example.com")
    client.defaults.update(HTTP_USER_AGENT=BROWSER_UA)
    client.force_login(user)
    return client


def row(minutes_ago: float, **kw) -> RequestLog:
    values = {"client_key": "ip:203.0.113.5", "method": "GET", "path": "/", "status_code": 200,
              "response_time_ms": 1.0, "timestamp": timezone.now() - timedelta(minutes=minutes_ago)}
    values.update(kw)
    return RequestLog.objects.create(**values)


@pytest.fixture
def day():
    """A small day: 30 allowed, a scanner refused by the rules then by its ban, one old row outside the day."""
    ban = Ban.objects.create(client_key="ip:198.51.100.9", reason="grey:score", source="rule",
                             expires_at=timezone.now() + timedelta(hours=1))
    for i in range(30):
        row(i * 30)
    for i in range(4):
        row(100 + i, client_key="ip:198.51.100.9", path="/.env", status_code=403, was_blocked=True,
            blocked_by="anomaly", action="block", reason="grey:score", rule_score=9,
            details={"decisions": [{"component": "anomaly", "action": "block", "reason": "grey:score",
                                    "reasons": ["grey:sensitive_path", "grey:unauthenticated"], "monitor": False,
                                    "rule_score": 9, "score": 9, "rules": ["sensitive_path"]}]})
    refused = row(50, client_key="ip:198.51.100.9", path="/", status_code=403, was_blocked=True, blocked_by="ban",
                  action="block", reason="ban:rule",
                  details={"decisions": [{"component": "ban", "action": "block", "reason": "ban:rule",
                                          "reasons": ["ban:rule"], "monitor": False, "ban_id": ban.pk,
                                          "ban_reason": "grey:score", "expires": 2e9}]})
    row(60 * 24 * 3, client_key="ip:192.0.2.1", status_code=403, was_blocked=True, blocked_by="anomaly",
        reason="black:empty_user_agent")
    return {"ban": ban, "refused": refused}


def test_the_figures_of_a_day(day):
    fig = gather("24h")
    assert fig.totals["requests"] == 35 and fig.totals["refused"] == 5
    assert len(fig.hours) == 24 and sum(fig.requests_per_hour) == 35
    assert sum(sum(v) for v in fig.refusals_per_hour.values()) == 5 and set(fig.refusals_per_hour) == {"anomaly",
                                                                                                      "ban"}
    assert [(r["reason"], r["n"]) for r in fig.by_reason] == [("grey:score", 4), ("ban:rule", 1)]
    top = fig.top_clients[0]
    assert (top["client_key"], top["n"], top["top_reason"], top["ban"]) == ("ip:198.51.100.9", 5, "grey:score",
                                                                             day["ban"])
    week = gather("7d")
    assert week.totals["refused"] == 6 and len(week.hours) == 168


def test_the_overview_is_on_the_index_and_renders(staff, day):
    index = staff.get(reverse("admin:index")).content.decode()
    url = reverse("admin:smartlayer_overview_changelist")
    assert url in index
    page = staff.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<svg") >= 2 and "grey:score" in html and "ip:198.51.100.9" in html
    assert reverse("admin:smartlayer_ban_change", args=[day["ban"].pk]) in html  # the top client's ban
    assert staff.get(url, {"period": "7d"}).status_code == 200
    assert staff.get(url, {"period": "nonsense"}).status_code == 200


def test_the_overview_is_for_staff_who_may_read_the_log(client, django_user_model, day):
    from django.contrib.auth.models import Permission

    url = reverse("admin:smartlayer_overview_changelist")
    user = django_user_model.objects.create_user(username="clerk", password="pw", is_staff=True)
    client.defaults.update(HTTP_USER_AGENT=BROWSER_UA)
    client.force_login(user)
    assert client.get(url).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_requestlog"))
    assert client.get(url).status_code == 200
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_the_log_list_has_its_columns_and_filters(staff, day):
    url = reverse("admin:smartlayer_requestlog_changelist")
    from django.contrib.admin.templatetags.admin_list import result_headers

    page = staff.get(url)
    html = page.content.decode()
    headers = [h["text"].lower() for h in result_headers(page.context["cl"])]
    assert headers == ["time (utc)", "client", "method", "path", "status", "decision", "component", "reason code"]
    stamp = day["refused"].timestamp.strftime("%m-%d %H:%M:%S")
    assert stamp in html
    by_reason = staff.get(url, {"reason": "grey:score"}).content.decode()
    assert by_reason.count("/.env") == 4
    assert "/.env" not in staff.get(url, {"reason": "ban:rule"}).content.decode()
    assert staff.get(url, {"status": "4xx"}).context["cl"].result_count == 6
    assert staff.get(url, {"status": "2xx"}).context["cl"].result_count == 30
    assert staff.get(url, {"client_key": "ip:198.51.100.9"}).context["cl"].result_count == 5
    assert staff.get(url, {"blocked_by": "ban"}).context["cl"].result_count == 1
    assert staff.get(url, {"reason": "payload:*"}).context["cl"].result_count == 0


def test_the_detail_explains_the_why_in_a_table_and_names_the_ban(staff, day):
    refused = day["refused"]
    html = staff.get(reverse("admin:smartlayer_requestlog_change", args=[refused.pk])).content.decode()
    assert 'class="sl-why"' in html and "ban:rule" in html
    assert reverse("admin:smartlayer_ban_change", args=[day["ban"].pk]) in html
    assert f"ban #{day['ban'].pk}" in html
    scored = RequestLog.objects.filter(reason="grey:score").first()
    html = staff.get(reverse("admin:smartlayer_requestlog_change", args=[scored.pk])).content.decode()
    assert "<th>rule_score</th><td>9</td>" in html and "grey:sensitive_path" in html
    assert '"rule_score"' not in html  # not raw JSON


def test_hourly_chart_draws_every_nonzero_hour_and_integer_ticks():
    hours = [timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=23 - i) for i in range(24)]
    counts = [0] * 24
    counts[3], counts[10] = 1, 5000
    svg = timeline_svg(hours, [("requests", counts)], title="t")
    assert svg.count('fill="#417690"') == 1 + 2  # the legend swatch and two bars: a single request is visible
    assert nice_ticks(5000) == [0, 2000, 4000, 6000] and nice_ticks(3) == [0, 1, 2, 3]
    assert "<script" not in svg
    assert "&lt;b&gt;" in timeline_svg(hours, [("<b>", counts)], title="x")


def test_figures_are_tables_not_json():
    from smartlayer.admin.tables import key_value_table

    html = key_value_table({"share_above_threshold": 0.0222, "labels": {"human": {"vectors": 75, "share_flagged": 0.0},
                                                                        "scraper": {"vectors": 9, "recall": 0.5}},
                            "by_reason": [{"reason": "<grey:score>", "count": 4}], "seconds": {"fit": 0.0871}}, "t")
    assert "2.22%" in html and "<th>human</th><td>75</td><td>0.00%</td><td>—</td>" in html
    assert "&lt;grey:score&gt;" in html and "<td>4</td>" in html and "0.0871" in html
    assert "{" not in html


def test_a_daily_report_is_read_only(staff):
    from smartlayer.models import DailyReport

    rep = DailyReport.objects.create(date=timezone.now().date(), report="all <quiet>",
                                     summary={"totals": {"requests": 12}})
    html = staff.get(reverse("admin:smartlayer_dailyreport_change", args=[rep.pk])).content.decode()
    assert 'name="_save"' not in html and "all &lt;quiet&gt;" in html and "<th style=\"padding-left:24px\">requests" in html


def test_feature_medians_on_a_log_axis_show_every_bar_and_fit_their_text():
    import re

    from smartlayer.ml.plots import bars_svg

    names = ["count_24h", "share_4xx", "a_rather_long_feature_name"]
    svg = bars_svg(names, [12000.0, 0.02, 3.0], notes=["IQR 20000", "IQR 0.05", "IQR 1"], log_scale=True)
    widths = [float(w) for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([^"]+)"', svg)]
    assert len(widths) == 3 and sorted(widths)[1] > 20   # 3.0 next to 12000 is a bar you can see
    linear = bars_svg(names, [12000.0, 0.02, 3.0])
    assert sorted(float(w) for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([^"]+)"', linear))[1] <= 1.5
    width = float(re.search(r'width="(\d+)"', svg).group(1))
    value_x = max(float(x) for x in re.findall(r'<text x="([\d.]+)" y="[\d.]+" fill=', svg))
    assert value_x + 6.6 * len("12000 (IQR 20000)") <= width   # the longest value text fits


def test_refusal_panels_give_a_small_component_its_own_scale():
    import re

    from smartlayer.admin.charts import panels_svg

    hours = [timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=23 - i) for i in range(24)]
    big, small = [0] * 24, [0] * 24
    big[5], small[7] = 3500, 3
    svg = panels_svg(hours, [("ban", big), ("anomaly", small)], title="t")
    heights = [float(h) for h in re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)" '
                                            r'fill="[^"]+"><title>', svg)]
    assert len(heights) == 2 and heights[0] == heights[1] > 50   # each peak fills its own band
    assert "3500/h" in svg and "3/h" in svg and "3 in all" in svg


def test_an_empty_log_renders_an_overview_that_says_so(staff):
    url = reverse("admin:smartlayer_overview_changelist")
    for period in ("24h", "7d"):
        html = staff.get(url, {"period": period}).content.decode()
        assert "Nothing refused in this period." in html and "No active model version" in html
