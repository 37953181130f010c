"""LLM verdicts for smartlayer: one pooled client, injection-aware prompts, strict parsers.

The middleware uses :func:`llm_available`, :func:`submit_grey` and
:func:`judge_payload`; ``AppConfig.ready`` calls :func:`log_status_once`.
Everything fails open: without a configured, reachable provider these return
"no verdict" and the request is decided by the rules alone.
"""
from .client import LLMClient, LLMError, get_client, log_status_once, shutdown
from .verdicts import PayloadVerdict, judge_payload, llm_available, submit_grey

__all__ = [
    "LLMClient", "LLMError", "PayloadVerdict", "get_client", "judge_payload", "llm_available",
    "log_status_once", "shutdown", "submit_grey",
]
