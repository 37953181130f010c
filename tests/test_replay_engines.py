"""The replay compiles the payload engines of the kinds of location a log has, not all four up front.

The command compiles each engine on first use; a server compiles every engine with its settings (the first request must not
pay for them); an access log has no bodies and the replay scans no path, so
compiling those two at each replay's start was a few hundred ms of work for
nothing.  Counted as engines built, not timed.
"""
from __future__ import annotations

import io

from django.core.management import call_command

from smartlayer.conf import reload
from smartlayer.detectors.payload import config, signatures

LINES = [
    '192.0.2.10 - - [01/Mar/2026:10:00:00 +0000] "GET /products/?q=blue+shoes HTTP/1.1" 200 512 '
    '"https://shop.example.com/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0"',
    '192.0.2.51 - - [01/Mar/2026:10:00:05 +0000] "GET /search/?q=1%27%20OR%20%271%27=%271 HTTP/1.1" 200 512 '
    '"-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0"',
]


def _kinds_built() -> set[str]:
    return {kind for (_level, kind, _extra) in signatures._ENGINES}


def test_a_replay_builds_only_the_engines_its_lines_need(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "_WARM_UP", [True])
    monkeypatch.setattr(signatures, "_ENGINES", {})
    reload()                                    # a new settings generation: the scan's config is read anew
    log = tmp_path / "access.log"
    log.write_text("\n".join(LINES) + "\n")
    out = io.StringIO()
    call_command("smartlayer_replay", str(log), "--no-model", stdout=out)
    assert "ip:192.0.2.51" in out.getvalue()                # caught: the engines it needed did their work
    assert "query" in _kinds_built() and "header" in _kinds_built()
    assert not {"body", "path"} & _kinds_built()


def test_a_server_still_builds_every_engine_with_its_settings(monkeypatch):
    monkeypatch.setattr(config, "_WARM_UP", [True])
    monkeypatch.setattr(signatures, "_ENGINES", {})
    reload()
    config._config()
    assert _kinds_built() == set(signatures.KINDS)


def test_the_replay_runs_every_check_smartlayer_registers():
    """The command asks only for the check tags that bear on a replay; every smartlayer check has one."""
    from django.core.checks.registry import registry

    from smartlayer.management.commands.smartlayer_replay import Command

    ours = [c for c in registry.get_checks(include_deployment_checks=True)
            if getattr(c, "__module__", "").startswith("smartlayer.")]
    assert ours
    for check in ours:
        assert set(check.tags) & set(Command.requires_system_checks), check.__name__
