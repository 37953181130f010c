"""The request log and what is made from it.

* :mod:`.writer` — WatchLog's writer: one bounded queue, one background
  thread, batched inserts (COPY on PostgreSQL); nothing lost uncounted;
* :mod:`.heartbeat` — each serving process's summary (queue, drops,
  failures, LLM breaker) left in the cache for ``smartlayer_status``;
* :mod:`.report` — ``analyse_logs``: the plain-English daily report;
* :mod:`.scheduler` — the optional in-process schedule for that report.

May import: conf, models, dbtext, state, llm (the report).  The request
path imports only :mod:`.writer`.
"""
