"""A loopback stand-in for an OpenAI-compatible provider, for the demo only.

It speaks the chat-completions API on 127.0.0.1 so the demo can show the
whole LLM path — background grey-zone verdicts, borderline payloads, the
daily report — without a key or a network.  Its "judgement" is a few lines of
heuristics over the data block; it is not a model, and says so in its report.
Point ``AI_BASE_URL`` at a real provider for real verdicts.
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_BLOCK = re.compile(r"BEGIN-DATA-(\w+)\n(.*)\nEND-DATA-\1", re.S)
_SUSPICIOUS = ("/.env", "/wp-", "/phpmyadmin", "/.git", "/admin", "union", "<script", "../", "passwd", "ignore")


def _answer(system: str, user: str) -> str:
    match = _BLOCK.search(user)
    data: Any = json.loads(match.group(2)) if match else {}
    if "BLOCK or ALLOW" in system:
        facts = data.get("client_behaviour", {})
        text = json.dumps(facts).lower()
        hostile = any(s in text for s in _SUSPICIOUS) or facts.get("empty_user_agent")
        return "BLOCK" if hostile else "ALLOW"
    if "integer from 0" in system:
        text = json.dumps(data).lower()
        return "92" if sum(s in text for s in _SUSPICIOUS) >= 1 else "15"
    totals = data.get("daily_figures", {}).get("totals", {})
    total = totals.get("requests")
    across = f"{total:,} requests" if isinstance(total, int) else "the day's requests"
    return ("(Written by the demo's loopback stand-in, not by a language model.)\n"
            f"Traffic looked normal across {across}. Error rates and slow endpoints are listed "
            "below in the raw figures. Review the top offending clients and the bans created that "
            "day, and leave monitor mode only once the false-positive rate in the request log is "
            "acceptable.")


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length))
            messages = body.get("messages", [])
            system = next((m["content"] for m in messages if m.get("role") == "system"), "")
            user = next((m["content"] for m in messages if m.get("role") == "user"), "")
            content = _answer(system, user)
            status, payload = 200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
        except Exception as exc:  # noqa: BLE001 - answer 500 like a real provider would
            status, payload = 500, {"error": {"message": str(exc)}}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class StandInLLM:
    """``with StandInLLM() as llm: ... llm.url``"""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="llm-standin")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> StandInLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
