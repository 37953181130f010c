"""What the README promises about logging is true: its LOGGING block, as
written, prints every refusal on the console."""
from __future__ import annotations

import io
import logging
import logging.config
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.django_db


def _snippet() -> dict:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- logging-snippet[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert block, "the README lost its LOGGING snippet"
    scope: dict = {}
    exec(block.group(1), scope)  # noqa: S102 - our own README
    return scope["LOGGING"]


@pytest.fixture
def readme_logging(monkeypatch):
    """Configure logging with the README's block; the console handler writes to a buffer."""
    sink = io.StringIO()
    monkeypatch.setattr("sys.stderr", sink)
    sl_logger = logging.getLogger("smartlayer")
    saved = (sl_logger.handlers[:], sl_logger.level, sl_logger.propagate)
    logging.config.dictConfig(_snippet())
    yield sink
    sl_logger.handlers[:], sl_logger.level, sl_logger.propagate = saved


def test_readme_logging_snippet_prints_refusals(readme_logging, browser):
    assert browser.get("/page/1?q=1%27%20UNION%20SELECT%20password%20FROM%20users--").status_code == 403
    line = readme_logging.getvalue()
    assert "smartlayer: refused ip:203.0.113.10 GET /page/1 by validator" in line, line


def test_monitor_mode_refusals_print_too(readme_logging, browser, sl):
    sl(MONITOR_MODE=True)
    assert browser.get("/page/1?q=1%27%20UNION%20SELECT%20password%20FROM%20users--").status_code == 200
    assert "smartlayer: would refuse ip:203.0.113.10 GET /page/1 by validator" in readme_logging.getvalue()
