"""Policy: from evidence to a decision, and from a decision to its consequences.

:mod:`.decisions` holds the one combiner (evidence → decision; the types it
speaks live in :mod:`smartlayer.request.decision`);
:mod:`.enforce` the one step after it that every component goes through —
escalation to a ban, the ban itself, the question to the LLM — with the
protections no component may bypass (staff, loopback addresses) and the
guarantee that a failing cache can cost an escalation but never a block.

May import: conf, request, state, llm (lazily).  Never imports a
middleware, a detector or anything offline.
"""
