"""Start and stop real servers (gunicorn, uvicorn) on loopback for tests and the benchmark.

Shared by ``tests/integration/test_multiprocess.py``, ``tests/test_asgi.py``
and ``tests/benchmarks/load.py`` so that all of them start, wait for and stop
a server the same way: on ``127.0.0.1`` and a free port, in a new session
(so the whole process group can be killed if a graceful stop fails), with
output captured to a file that is shown when something goes wrong, and with
every wait bounded by a timeout.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def free_port() -> int:
    """A TCP port nobody listens on right now (bound and released by the kernel)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def postgres_url(settings_dict: dict[str, Any]) -> str:
    """A ``postgresql://`` URL for a Django ``DATABASES`` entry (e.g. pytest's test database)."""
    user = quote(str(settings_dict.get("USER") or "postgres"), safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(str(password), safe='')}" if password else user
    host = settings_dict.get("HOST") or HOST
    port = settings_dict.get("PORT") or 5432
    return f"postgresql://{auth}@{host}:{port}/{settings_dict['NAME']}"


def deploy_env(**values: str) -> dict[str, str]:
    """The environment of a server running ``tests.deploy.settings``.

    Starts from this process's environment without any ``SMARTLAYER_DEPLOY_*``
    variable (so one test's configuration never leaks into another server),
    then applies ``values`` (``SMARTLAYER_DEPLOY_*`` names).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTLAYER_DEPLOY_")}
    env["DJANGO_SETTINGS_MODULE"] = "tests.deploy.settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(values)
    return env


def migrate(env: dict[str, str], timeout: float = 120) -> None:
    """Run ``migrate`` for the deploy settings (a fresh SQLite file, the benchmark database)."""
    subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
                   env=env, cwd=ROOT, check=True, timeout=timeout)


def gunicorn_cmd(port: int, *, workers: int, worker_class: str = "sync", threads: int = 1,
                 app: str = "tests.deploy.wsgi:application") -> list[str]:
    return [sys.executable, "-m", "gunicorn", app, "--bind", f"{HOST}:{port}", "--workers", str(workers),
            "--worker-class", worker_class, "--threads", str(threads), "--graceful-timeout", "15",
            "--timeout", "60", "--log-level", "warning"]


def uvicorn_cmd(port: int, app: str = "tests.deploy.asgi:application") -> list[str]:
    """uvicorn with lifespan on: tests/deploy/asgi.py flushes the request log at ``lifespan.shutdown``."""
    return [sys.executable, "-m", "uvicorn", app, "--host", HOST, "--port", str(port), "--lifespan", "on",
            "--log-level", "warning", "--no-access-log"]


class ServerProcess:
    """One server subprocess.  Use as a context manager: it is always stopped."""

    def __init__(self, cmd: list[str], env: dict[str, str], port: int, log_path: str | Path) -> None:
        self.cmd, self.env, self.port = cmd, env, port
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen | None = None
        self._log: Any = None
        self.workers: set[int] = set()  # filled in by callers that wait for the workers
        self.probes_served = 0  # readiness probes that reached the app (answered, or taken and still running)
        self.base_url = f"http://{HOST}:{port}"

    def start(self, ready_path: str = "/health", timeout: float = 30.0) -> ServerProcess:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.wait_ready(ready_path, timeout)
        return self

    def wait_ready(self, path: str, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                status = httpx.get(self.base_url + path, timeout=2).status_code
                self.probes_served += 1
                if status == 200:
                    return
            except httpx.ReadTimeout:
                # the server took the probe and is still working on it (a worker still loading
                # the app on a busy machine): it will be served, and counted, all the same
                self.probes_served += 1
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server not ready after {timeout} s:\n{self.output()}")

    def children(self) -> set[int]:
        """Pids of the server's direct children (gunicorn's workers), from /proc."""
        if self.proc is None:
            return set()
        kids = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ..." — comm may hold spaces and parentheses
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                kids.add(int(entry.name))
        return kids

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (graceful: workers finish, ``atexit`` runs); SIGKILL the group if it hangs."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.kill()  # leftovers of the group (none after a clean exit)
        return proc.returncode

    def kill(self) -> None:
        proc = self.proc
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the session this object started, by its id
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self._log is not None and not self._log.closed:
            self._log.close()

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
