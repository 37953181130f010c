"""The layout's promises, checked: the request path loads no offline library,
and the packages import one way (no cycle between them)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sklearn", "pandas", "joblib", "httpx")

SERVE_ONE_REQUEST = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from django.test import Client
import smartlayer.middleware  # noqa: F401 - the public entry points
client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", REMOTE_ADDR="203.0.113.77")
for path in ("/page/1", "/page/1?q=1%27%20OR%20%271%27%3D%271", "/api/x"):
    client.get(path)
print("loaded:" + ",".join(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def test_serving_requests_loads_no_offline_library():
    """scikit-learn, pandas and joblib are for training; httpx only for an LLM that is configured."""
    code = SERVE_ONE_REQUEST.replace("{HEAVY!r}", repr(HEAVY))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "loaded:"


#: The layers, bottom up.  A module may import (at module level or inside a
#: function) only from its own layer or the ones below; the request path's
#: layers come first, the offline ones last.
LAYERS = [
    {"conf", "defaults", "signals", "models", "dbtext", "labels", "migrations"},
    {"request", "decorators"},
    {"state"},
    {"llm", "ml", "profile"},
    {"policy"},
    {"detectors"},
    {"log"},
    {"http", "middleware", "asgi"},
    {"offline", "sim", "demo", "admin", "checks", "management", "apps", "status", "metrics"},
]
#: Sub-packages of an otherwise lower layer that are offline themselves.
OFFLINE_SUBPACKAGES = {("ml", "training"): len(LAYERS) - 1, ("log", "report"): len(LAYERS) - 1,
                       ("profile", "learn"): len(LAYERS) - 1,
                       ("log", "scheduler"): len(LAYERS) - 1}


def _layer(parts: tuple[str, ...]) -> int:
    if parts[:2] in OFFLINE_SUBPACKAGES:
        return OFFLINE_SUBPACKAGES[parts[:2]]
    for i, names in enumerate(LAYERS):
        if parts[0] in names:
            return i
    raise AssertionError(f"smartlayer.{'.'.join(parts)} is in no layer of tests/test_layout.py")


def _imports(path: Path) -> list[tuple[str, ...]]:
    """smartlayer modules imported by ``path``, as name parts after ``smartlayer``."""
    rel = path.relative_to(ROOT / "smartlayer").with_suffix("").parts
    package = rel[:-1] if rel[-1] != "__init__" else rel[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - (node.level - 1)] if node.level > 1 else package)
                target = tuple(base + (node.module.split(".") if node.module else []))
            elif node.module and node.module.startswith("smartlayer."):
                target = tuple(node.module.split(".")[1:])
            else:
                continue
            names = [a.name for a in node.names]
            if not node.module or target == tuple(base if node.level else []):
                found += [target + (n,) for n in names]
            else:
                found.append(target)
        elif isinstance(node, ast.Import):
            found += [tuple(a.name.split(".")[1:]) for a in node.names if a.name.startswith("smartlayer.")]
    return [t for t in found if t and t[0] != "__init__"]


def test_imports_point_down_the_layers():
    wrong = []
    for path in sorted((ROOT / "smartlayer").rglob("*.py")):
        rel = path.relative_to(ROOT / "smartlayer").with_suffix("").parts
        if rel == ("__init__",):
            continue
        own = _layer(rel)
        for target in _imports(path):
            if target and target[0] in ("MIDDLEWARE", "__version__"):
                continue
            if _layer(target) > own:
                wrong.append(f"{'/'.join(rel)} imports smartlayer.{'.'.join(target)}")
    assert wrong == []
