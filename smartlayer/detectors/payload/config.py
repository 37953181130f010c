"""The validator's settings as the scan reads them: once per settings generation, bad values made harmless."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...conf import DEFAULTS, derived, sl_settings
from .extra import _report_unused, extra_patterns
from .sigbase import KINDS
from .signatures import PREFILTER_LATER, Signature, engine_for


@dataclass(frozen=True, slots=True)
class _Config:
    max_bytes: int
    headers: dict[str, str]                 # lower-case header name → location label
    meta_keys: tuple[tuple[str, str], ...]  # (lower-case header name, request.META key)
    scan_cookies: bool
    extra: tuple[Signature, ...]
    paranoia: int = 1
    #: ``VALIDATOR_BLOCK_SCORE``: a request scoring this much is blocked, and needs no more evidence (0: never stops)
    block_score: int = DEFAULTS["VALIDATOR_BLOCK_SCORE"]
    #: header name as sent → label ("" = not scanned); saves a lower() per header per request
    header_labels: dict[Any, str] = field(default_factory=dict)
    #: kind of location → its compiled engine, filled on first use: looked up in
    #: :func:`.signatures.engine_for` once per settings generation, not four times per request
    engines: dict[Any, Any] = field(default_factory=dict, compare=False)

    def label_for(self, name: Any) -> str:
        label = self.headers.get(name.lower().replace("_", "-"), "") if isinstance(name, str) else ""
        if len(self.header_labels) < 512:     # bounded: clients choose header names
            self.header_labels[name] = label
        return label


def _meta_key(header: str) -> str:
    key = header.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key


def _header_names(value: Any) -> list[str]:
    """``VALIDATOR_SCAN_HEADERS`` as lower-case names (a lone string is one name)."""
    if isinstance(value, str):
        value = [value]
    elif not isinstance(value, (list, tuple, set, frozenset)):
        return []
    return list(dict.fromkeys(str(n).strip().lower().replace("_", "-") for n in value))


@derived
def _config() -> _Config:
    """Everything read from the settings, once per settings generation.

    Values of the wrong type fall back to something sensible instead of
    raising on every request; the system checks report them.
    """
    try:
        max_bytes = max(0, int(sl_settings.VALIDATOR_MAX_BYTES))
    except (TypeError, ValueError):
        max_bytes = DEFAULTS["VALIDATOR_MAX_BYTES"]
    lower = _header_names(sl_settings.VALIDATOR_SCAN_HEADERS)
    extra = extra_patterns()
    _report_unused(extra)
    config = _Config(
        max_bytes=max_bytes,
        headers={n: f"header:{n}" for n in lower},
        meta_keys=tuple((n, _meta_key(n)) for n in lower),
        scan_cookies=bool(sl_settings.VALIDATOR_SCAN_COOKIES),
        extra=extra.signatures,
        paranoia=paranoia_level(),
        block_score=_block_score(),
    )
    _warm_up(config)
    return config


def _block_score() -> int:
    """The score that blocks, read as the combiner reads it (``int()``); 0 (never stop a scan early) when
    it is not a positive number."""
    try:
        value = int(sl_settings.VALIDATOR_BLOCK_SCORE)
    except (TypeError, ValueError, OverflowError):
        return 0
    return max(value, 0)


#: Whether :func:`_config` compiles every kind of location's engine at once (a server: not on a request).
_WARM_UP = [True]


def compile_on_first_use() -> None:
    """Compile each kind of location's engine when a text of that kind is first matched, not all up front.

    For offline work (the replay): an access log carries no bodies and the
    replay scans no path, so two of the four engines — a few hundred ms of
    RE2 compilation together — would be built for nothing at every start.
    The engines that are built leave their prefilter (half of an engine's
    compilation) until a text longer than a log line's needs it.
    A server keeps the default: the first request must not pay for them.
    """
    _WARM_UP[0] = False
    PREFILTER_LATER[0] = True


def _warm_up(config: _Config) -> None:
    """Compile the engines now (tens of ms, once per level and set of extra patterns), not on a request."""
    if not _WARM_UP[0]:
        return
    try:
        for kind in KINDS:
            engine_for(config.paranoia, kind, config.extra)
    except Exception:  # noqa: BLE001 - the scan meets the same error and reports it, failing open
        pass


def paranoia_level() -> int:
    """``VALIDATOR_PARANOIA`` as 1, 2 or 3; anything else reads as the default (system check E031 says so)."""
    value = sl_settings.VALIDATOR_PARANOIA
    if isinstance(value, bool) or not isinstance(value, int) or value not in (1, 2, 3):
        return DEFAULTS["VALIDATOR_PARANOIA"]
    return value
