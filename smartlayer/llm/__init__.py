"""LLM verdicts: one pooled client for any OpenAI-compatible API, injection-aware prompts, strict parsers.

* :mod:`.client` — the process's one HTTP client (httpx): pooled
  connections, retries, the daily budget, a bounded pool for background calls;
* :mod:`.breaker` — its errors and circuit breaker (no HTTP library);
* :mod:`.status` — whether the AI features are on (settings only; what
  ``AppConfig.ready`` logs);
* :mod:`.prompts` — what the model is asked, and how answers are parsed;
* :mod:`.verdicts` — what the request path and the daily report call:
  :func:`~.verdicts.llm_available`, :func:`~.verdicts.submit_grey`,
  :func:`~.verdicts.judge_payload`.

Everything fails open: without a configured, reachable provider these
return "no verdict" and the request is decided by the rules alone.
Submodules are imported explicitly, so importing this package loads no HTTP
client.  May import: conf, state, dbtext, models.
"""
