"""The demo: the same seed gives the same counts, every story names the rule that really
decided, the temporary directory goes away, and ``--serve`` serves the admin's login page.

Two runs of the whole demo, on a smaller generated week (``--humans 40``) to keep the
suite quick; the second one also serves, then is stopped with Ctrl-C (SIGINT)."""
from __future__ import annotations

import json
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["-m", "smartlayer.demo", "--seed", "11", "--humans", "40"]


def _lines(proc: subprocess.Popen) -> queue.Queue:
    q: queue.Queue = queue.Queue()

    def pump():
        for line in proc.stdout:
            q.put(line)
        q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return q


def _until(q: queue.Queue, pattern: str, timeout: float, seen: list[str]) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = q.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(seen)}")


def test_demo_is_reproducible_cleans_up_and_serves(tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    done = subprocess.run([sys.executable, *ARGS, "--summary-json", str(first)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    removed = re.search(r"\(removed (\S+);", done.stdout)
    assert removed and not Path(removed.group(1)).exists()
    summary = json.loads(first.read_text())
    assert all(row["story_true"] for row in summary["live"]), summary["live"]
    assert "✗" not in done.stdout

    proc = subprocess.Popen([sys.executable, *ARGS, "--summary-json", str(second), "--serve", "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    try:
        q = _lines(proc)
        match = _until(q, r"serving the demo site: (http://127\.0\.0\.1:\d+/admin/)\s+\(login: admin / (\S+)\)",
                       300, seen)
        url = match.group(1)
        with urllib.request.urlopen(url + "login/", timeout=10) as page:
            body = page.read().decode()
        assert page.status == 200 and 'name="username"' in body and 'name="password"' in body
        # the admin's stylesheet is served too (no bare page)
        with urllib.request.urlopen(url.replace("/admin/", "/static/admin/css/base.css"), timeout=10) as css:
            assert css.status == 200
        proc.send_signal(signal.SIGINT)
        _until(q, r"^stopped\.", 30, seen)
        removed = _until(q, r"\(removed (\S+);", 30, seen)
        assert proc.wait(timeout=30) == 0, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()  # a failed test leaves no server behind, nor its directory
            proc.wait()
            site = re.search(r"site in (\S+) ", "".join(seen))
            if site:
                shutil.rmtree(site.group(1), ignore_errors=True)
    assert not Path(removed.group(1)).exists()
    assert json.loads(second.read_text()) == summary, "the same seed gave other counts"
