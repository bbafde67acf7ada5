"""Benchmark workloads shared by ``rtcengine bench`` and ``benchmarks/``.

Each wire concern has a module here (``rtp.py``, ``stun.py`` ...) with a
``cases()`` function returning :class:`Case` objects.  A case times our code
and, when the package is installed, the aiortc/aioice/pylibsrtp code doing the
same job on the same bytes, so every figure is a ratio from one run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

# The concerns with benchmark workloads, in the order the table prints them.
CONCERNS = [
    "crc",
    "rtp",
    "rtcp",
    "stun",
    "sctp",
    "dcep",
    "sctp_association",
    "srtp",
    "dtls",
    "udp",
    "ice",
    "sdp",
]


@dataclass
class Case:
    """One workload: ``ours`` and (optionally) ``baseline`` do the same job."""

    name: str
    ours: Callable[[], object]
    baseline: Callable[[], object] | None = None
    baseline_name: str = ""
    # Operations one call performs (a batch call over 64 packets counts 64).
    ops_per_call: int = 1
    # The same for the baseline callable (so both sides count the same unit).
    baseline_ops_per_call: int = 1
    # Bytes one operation processes, for MB/s (0: not a throughput case).
    bytes_per_op: int = 0
    # The ratio (ours / baseline ops/s) the issue asks for, if any.
    target_ratio: float | None = None
    # A C-level/batch case with no comparable baseline call.
    note: str = ""


def load_cases(only: list[str] | None = None) -> list[Case]:
    """All cases of the concerns that exist in this build, in table order."""
    cases: list[Case] = []
    for concern in CONCERNS:
        if only and concern not in only:
            continue
        try:
            mod = importlib.import_module(f"rtcengine._bench.{concern}")
        except ModuleNotFoundError as exc:
            if exc.name == f"rtcengine._bench.{concern}":
                continue  # that concern has no workloads (yet)
            raise
        cases.extend(mod.cases())
    return cases
