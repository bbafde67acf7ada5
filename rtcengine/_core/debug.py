"""Live-object counters of the debug build.

Built with ``RTCENGINE_DEBUG=1`` (setup.py defines the C macro
``RTCENGINE_DEBUG``; ``include/rtce_live.h`` turns it into ``RTCE_LIVE``),
the ``_core`` classes that own native resources count their live instances:
one is added first thing in ``__cinit__`` and taken away in ``__dealloc__``.
In a normal build the counting compiles away and :func:`live_objects`
raises.

    python -m rtcengine._core.debug        # prints the counts, or says why not
"""

from __future__ import annotations

import importlib

__all__ = ["COUNTED_MODULES", "NotADebugBuild", "enabled", "live_objects"]

#: The modules with counters (``_live_objects()``), and what they count:
#: UDP receive batches and send queues (one each per socket endpoint), SRTP
#: sessions, HMAC keys (STUN integrity, SRTP auth, SCTP cookies) and SCTP
#: associations.
COUNTED_MODULES = ("udp", "srtp", "hmac", "sctp_association")


class NotADebugBuild(RuntimeError):
    """The extensions were built without ``RTCENGINE_DEBUG=1``."""


def _per_module() -> dict[str, dict[str, int] | None]:
    out: dict[str, dict[str, int] | None] = {}
    for name in COUNTED_MODULES:
        module = importlib.import_module(f"rtcengine._core.{name}")
        counter = getattr(module, "_live_objects", None)
        out[name] = counter() if counter is not None else None
    return out


def enabled() -> bool:
    """True when every counted module was built with ``RTCENGINE_DEBUG=1``."""
    return all(v is not None for v in _per_module().values())


def live_objects() -> dict[str, int]:
    """Live instances by ``"module.Class"``; raises :class:`NotADebugBuild`
    ("not a debug build") unless the extensions were built with
    ``RTCENGINE_DEBUG=1``."""
    counts: dict[str, int] = {}
    missing = []
    for name, values in _per_module().items():
        if values is None:
            missing.append(name)
            continue
        for cls, n in values.items():
            counts[f"{name}.{cls}"] = n
    if missing:
        raise NotADebugBuild(
            "not a debug build: rebuild with RTCENGINE_DEBUG=1 to count live objects "
            f"(no counters in {', '.join(missing)})")
    return counts


def main() -> int:
    try:
        counts = live_objects()
    except NotADebugBuild as exc:
        print(exc)
        return 1
    for key, n in sorted(counts.items()):
        print(f"{key}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
