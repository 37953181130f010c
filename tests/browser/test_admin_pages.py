"""The admin pages in a real browser: Debian's chromium, driven by Playwright.

A staff user logs in and opens the overview, the request log (list, filters,
a refused row's detail and the ban it names), a ban and a model version; the
test fails on any console error, any uncaught script error, a failed
request for a page's own resources, or a missing element.  The site behind
it holds a generated day of traffic run through the detectors
(tests/browser/site.py) and a small trained model.

Skipped, with the reason, only when chromium or the ``playwright`` package is
absent (``.ci/run`` installs both).  With ``SMARTLAYER_SCREENSHOTS=<dir>`` it
also saves the screenshots the docs show (``tests/browser/screenshots.py``).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SMARTLAYER_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = os.environ.get("SMARTLAYER_SCREENSHOTS", "")
WIDTH, HEIGHT = 1400, 900
PASSWORD = "a-browser-test-password"

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None

if sync_playwright is None:
    MISSING = "the playwright package is not installed (pip install -e '.[dev]')"
elif not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    MISSING = f"chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does)"
else:
    MISSING = ""
#: set by .ci/run once it has installed chromium: there a missing browser is a failure, not a skip
REQUIRED = os.environ.get("SMARTLAYER_REQUIRE_BROWSER") == "1"

pytestmark = [
    pytest.mark.skipif(bool(MISSING) and not REQUIRED, reason=MISSING),
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
]


@pytest.fixture
def site(live_server, sl, tmp_path, django_user_model):
    from tests.browser.site import seed_log, train_model, write_report

    sl(MODEL_STORE=str(tmp_path / "store"), MODEL_ENABLED=True, LOG_WRITER="manual")
    version = train_model(str(tmp_path / "store"))
    rows = seed_log()
    write_report()
    django_user_model.objects.create_superuser(username="ops", email="ops@example.com", password=PASSWORD)
    return {"url": live_server.url, "version": version, "rows": rows}


@pytest.fixture
def page():
    if MISSING:
        pytest.fail(MISSING)
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
        pg = context.new_page()
        pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        pg.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
        pg.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
              if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        pg.problems = problems
        yield pg
        context.close()
        browser.close()
    assert problems == [], "\n".join(problems)


def shoot(page, name: str, *, full_page: bool = True) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=full_page)


def visible(page, selector: str):
    """The element is (or shortly becomes) visible: waits for a navigation under way."""
    locator = page.locator(selector)
    try:
        locator.first.wait_for(state="visible", timeout=15_000)
    except PlaywrightTimeout:
        raise AssertionError(f"missing or hidden: {selector} on {page.url}") from None
    return locator


def fits(page, selector: str) -> None:
    """The element runs neither off the window's right edge nor out of its own box (no hidden columns)."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTH + 1, f"{selector} overflows: {box}"
    scroll, client = page.evaluate("""(sel) => { const e = document.querySelector(sel);
        return [e.scrollWidth, e.clientWidth]; }""", selector)
    columns = page.evaluate("""() => Array.from(document.querySelectorAll('#result_list thead th'))
        .map(th => th.innerText.trim() + ' ' + Math.round(th.getBoundingClientRect().width))""")
    assert scroll <= client + 1, f"{selector} is {scroll} px wide in {client} px: columns hidden off-screen {columns}"


def test_staff_walk_through_the_admin(site, page):
    base = site["url"]
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")

    # the index links to the overview
    overview_link = visible(page, "a[href$='/admin/smartlayer/overview/']")
    overview_link.first.click()
    page.wait_for_url("**/admin/smartlayer/overview/**")
    for sel in ("#sl-totals", "#sl-chart-requests svg", "#sl-chart-refusals svg", "#sl-reasons", "#sl-clients",
                "#sl-bans", "#sl-model", "#sl-llm"):
        visible(page, sel)
    assert page.locator("#sl-chart-requests svg rect[fill='#417690']").count() > 10  # bars were drawn
    assert page.locator("#sl-reasons tbody a").count() > 0    # refusals by reason, linked
    visible(page, f"#sl-model a:has-text('{site['version'].version}')")
    fits(page, "#sl-chart-refusals svg")
    shoot(page, "overview")
    page.click("#sl-period-7d")
    page.wait_for_url("**period=7d")
    visible(page, "#sl-chart-requests svg")

    # the most refused client → its log rows
    page.goto(f"{base}/admin/smartlayer/overview/")
    page.locator("#sl-clients tbody tr td:first-child a").first.click()
    page.wait_for_url("**/admin/smartlayer/requestlog/?client_key=*")
    visible(page, "#result_list tbody tr")

    # the request log: its columns fit at 1400 px, times have seconds
    page.goto(f"{base}/admin/smartlayer/requestlog/?was_blocked__exact=1")
    headers = [h.strip().lower() for h in page.locator("#result_list thead th").all_inner_texts()]
    for column in ("time (utc)", "client", "method", "path", "status", "decision", "component", "reason code"):
        assert column in headers, headers
    fits(page, "#changelist .results")
    first_time = page.locator("#result_list tbody tr th a").first.inner_text().strip()
    assert len(first_time) == 14 and first_time[-3] == ":", first_time   # MM-DD HH:MM:SS
    visible(page, "#changelist-filter")
    assert page.locator("#changelist-filter >> text=By reason code").count() == 1
    page.goto(f"{base}/admin/smartlayer/requestlog/")
    fits(page, "#changelist .results")
    page.goto(f"{base}/admin/smartlayer/requestlog/?status=4xx&blocked_by=anomaly")  # the refusals, by the rules
    fits(page, "#changelist .results")
    shoot(page, "request-log", full_page=False)

    # a refusal by a ban: its detail explains the why as a table and names the ban
    page.goto(f"{base}/admin/smartlayer/requestlog/?blocked_by=ban")
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_url("**/change/*")
    visible(page, "table.sl-why")
    assert page.locator("table.sl-why td code").first.inner_text().startswith("ban:")
    ban_link = visible(page, "div.field-ban_link a[href*='/admin/smartlayer/ban/']")
    ban_link.first.click()
    page.wait_for_url("**/admin/smartlayer/ban/*/change/")
    visible(page, "#ban_form")
    visible(page, "div.field-requests a[href*='client_key=']")
    shoot(page, "ban")

    # a refusal by the rules: the why table has the details as rows, not JSON
    page.goto(f"{base}/admin/smartlayer/requestlog/?blocked_by=anomaly")
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_url("**/change/*")
    visible(page, "table.sl-why table.sl-kv th")
    assert "{" not in page.locator("table.sl-why").inner_text()
    shoot(page, "request-detail")

    # the model version: charts and a metrics table
    page.goto(f"{base}/admin/smartlayer/modelversion/")
    page.locator(f"#result_list a:has-text('{site['version'].version}')").first.click()
    page.wait_for_url("**/change/*")
    for sel in ("div.field-score_histogram svg", "div.field-feature_medians svg", "table.sl-metrics"):
        visible(page, sel)
    assert "{" not in page.locator("table.sl-metrics").inner_text()
    fits(page, "div.field-feature_medians svg")
    _labels_inside(page, "div.field-feature_medians svg")
    shoot(page, "model-version")

    # the daily report is read-only: its text and figures, no Save button
    page.goto(f"{base}/admin/smartlayer/dailyreport/")
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_url("**/change/*")
    visible(page, "div.field-report_text pre")
    visible(page, "table.sl-figures")
    assert page.locator("input[name=_save]").count() == 0
    shoot(page, "daily-report")


def _labels_inside(page, selector: str) -> None:
    """Every text of an SVG chart lies within the chart (no clipped label)."""
    outside = page.evaluate("""(sel) => {
        const svg = document.querySelector(sel); const box = svg.getBoundingClientRect(); const bad = [];
        for (const t of svg.querySelectorAll('text')) {
            const r = t.getBoundingClientRect();
            if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5
                || r.bottom > box.bottom + 0.5) bad.push(t.textContent);
        }
        return bad; }""", selector)
    assert outside == [], f"clipped labels in {selector}: {outside}"

