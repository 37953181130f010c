"""Refresh the admin screenshots in docs/screenshots/.

    python tests/browser/screenshots.py

Runs the browser test (tests/browser/test_admin_pages.py: a generated day of
traffic through the detectors, a small trained model, Debian's chromium at
1400 × 900) with ``SMARTLAYER_SCREENSHOTS`` set, and copies the pages the
docs show.  Look at them before committing: a clipped label or an empty
chart is a bug to fix, not a picture to keep.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("overview", "request-log", "request-detail", "model-version")


def main() -> int:
    out = ROOT / "docs" / "screenshots"
    with tempfile.TemporaryDirectory(prefix="smartlayer-shots-") as tmp:
        env = {**os.environ, "SMARTLAYER_SCREENSHOTS": tmp, "SMARTLAYER_REQUIRE_BROWSER": "1"}
        status = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                  "tests/browser/test_admin_pages.py"], cwd=ROOT, env=env)
        if status:
            return status
        out.mkdir(parents=True, exist_ok=True)
        for name in PAGES:
            shutil.copyfile(Path(tmp) / f"{name}.png", out / f"{name}.png")
            print(out / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
