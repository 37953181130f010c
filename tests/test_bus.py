"""The bus's process bookkeeping (its Redis side is tested in tests/integration/test_replicated_window.py)."""
from __future__ import annotations

import marshal
import os

import pytest

from smartlayer.state.bus import PROTOCOL, Bus, get_bus


def test_one_bus_per_settings_generation(sl):
    bus = get_bus()
    assert get_bus() is bus
    sl(REPLICATION_INTERVAL=0.5)
    assert get_bus() is not bus and get_bus().interval == 0.5


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_a_bus_of_its_own():
    """gunicorn --preload forks after import: the child must not reuse the
    parent's bus (its thread did not survive, its sender id is the parent's)."""
    parent = get_bus()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running pytest's teardown
        child = get_bus()
        os.write(write, marshal.dumps((child is parent, child.sender == parent.sender)))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        same_object, same_sender = marshal.loads(fh.read())
    os.waitpid(pid, 0)
    assert not same_object and not same_sender
    assert get_bus() is parent  # the parent keeps its own


def test_messages_carry_protocol_and_sender():
    bus = Bus(alias="default", interval=1)
    version, sender, items = marshal.loads(bus._encode([("ip:1", 0, 1.0, "GET", "/", 0)]))
    assert version == PROTOCOL and sender == bus.sender and items == [("ip:1", 0, 1.0, "GET", "/", 0)]


def test_a_flush_is_due_at_its_time_or_from_half_an_interval_before_when_a_message_woke_the_thread():
    """flush_due: a message from another worker (woken) brings the flush forward by at most half an
    interval, so the workers' flushes fall into step; nothing else brings it forward, and a flush
    never waits past its time (the replication lag stays within an interval)."""
    from smartlayer.state.bus import flush_due

    interval, due = 0.02, 100.0
    assert flush_due(due, due, interval, woken=False) and flush_due(due + 0.5, due, interval, woken=False)
    assert not flush_due(due - 0.001, due, interval, woken=False)          # a timer wake never comes early
    assert flush_due(due - 0.009, due, interval, woken=True)               # woken in the last half: now
    assert not flush_due(due - 0.011, due, interval, woken=True)           # earlier: would ping-pong
