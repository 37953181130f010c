"""The robots.txt parser is imported when first needed: start-up is paid by every start, a replay's, a worker's.

The robots.txt parser (and ``urllib.request`` with it) is needed only once a site's robots.txt
answer has been seen, which a replay never has: importing the detector does not import it, and
learning a robots.txt still works."""
from __future__ import annotations

import subprocess
import sys

from smartlayer.detectors.behaviour import crawlers


def test_the_detector_imports_no_robots_parser():
    code = ("import sys\nimport smartlayer.detectors.behaviour.detector\n"
            "print('urllib.robotparser' in sys.modules, 'urllib.request' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_a_robots_txt_is_still_learned_and_read():
    robots = crawlers._Robots()
    assert robots.allowed("GrabberBot", "/private/1")
    robots.learn(b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n")
    assert not robots.allowed("GrabberBot", "/private/1")
    assert robots.allowed("GrabberBot", "/public/1")
    assert robots.delay("GrabberBot") == 2.0
