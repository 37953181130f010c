"""The replication bus's own two Redis connections, driven through redis-py's connection API.

Why not ``client.publish`` and ``client.pubsub().get_message``: under load the bus thread wakes
about a hundred times a second (its flush every ``REPLICATION_INTERVAL``, and each message of
another worker), and every wake paid for redis-py's general machinery.  A publish checked a
connection out of the pool and back, through its retry and observability wrappers (~150 µs of
CPU a publish on the 2-vCPU benchmark machine, against ~70 µs on a connection of its own); a
received message took nine system calls (a liveness poll and peek, a socket timeout set and
restored around each read, one more read attempt after it), each handing the GIL back and forth
with a busy request thread.  Here one connection publishes (one write of every topic's message,
then their replies) and one stays subscribed: a wake is a wait, redis-py's liveness check, a
read, and one look for more.

The connections are made like the cache's own (the pool's connection class and settings: host,
TLS, password, database, timeouts), but outside its pool.  They always speak RESP2, without
health checks or maintenance notifications, and hand back bytes whatever ``decode_responses``
the cache asks for (the payloads are ``marshal`` data): in RESP2 a subscribed connection's
replies are plain ``[kind, channel, data]`` arrays, and a health check's ``PING`` would
interleave with them.  Errors are redis-py's (``ConnectionError``, ``TimeoutError``); the bus
reports them, drops this wire and makes a new one.
"""
from __future__ import annotations

from typing import Any

#: a reply read on the subscribed connection: (kind, channel, payload); kind is b"message"
#: for a published message, b"subscribe" for a confirmation (payload: the channel count)
Reply = tuple[bytes, bytes, Any]


class Wire:
    """One subscribed connection and one publishing connection to the Redis behind ``client``."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._sub: Any = None
        self._pub: Any = None

    def _connect(self) -> Any:
        pool = self._client.connection_pool
        given = pool.connection_kwargs
        # redis-py's maintenance notifications are RESP3 pushes: not on a RESP2 connection
        kwargs = {k: v for k, v in given.items() if not k.startswith(("maint_notifications", "orig_"))}
        if "maint_notifications_config" in given:
            kwargs["maint_notifications_config"] = None
        kwargs.update(protocol=2, health_check_interval=0, decode_responses=False)  # payloads are marshal bytes
        conn = pool.connection_class(**kwargs)
        conn.connect()
        return conn

    # ── the subscribed connection ─────────────────────────────────────────
    def subscribe(self, channels: list[str]) -> None:
        """Ask for ``channels``; the confirmations arrive through :meth:`receive`."""
        if self._sub is None:
            self._sub = self._connect()
        self._sub.send_command("SUBSCRIBE", *channels, check_health=False)

    def receive(self, timeout: float) -> list[Reply]:
        """Every reply available within ``timeout`` seconds (waits for the first only), in order."""
        conn = self._sub
        replies: list[Reply] = []
        if conn is None or not conn.can_read(timeout):
            return replies
        while True:
            reply = conn.read_response()
            if isinstance(reply, list) and len(reply) == 3:
                replies.append((reply[0], reply[1], reply[2]))
            if not conn.can_read(0):   # buffered already, or on the socket now: no wait
                return replies

    # ── the publishing connection ─────────────────────────────────────────
    def publish(self, messages: list[tuple[str, bytes]]) -> None:
        """Publish ``(channel, payload)`` pairs: one write, then one reply each."""
        conn = self._pub
        if conn is None:
            conn = self._pub = self._connect()
        conn.send_packed_command(conn.pack_commands([("PUBLISH", channel, data) for channel, data in messages]),
                                 check_health=False)
        for _ in messages:
            conn.read_response()

    def close(self) -> None:
        """Close both connections, whatever state they are in."""
        for conn in (self._sub, self._pub):
            if conn is not None:
                try:
                    conn.disconnect()
                except Exception:  # noqa: BLE001 - it is being thrown away
                    pass
        self._sub = self._pub = None
