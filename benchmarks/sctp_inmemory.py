"""Data-channel transport in memory: rtcengine vs aiortc, same run, same messages.

Two rtcengine ``Association`` objects joined in memory (packets handed across in
bursts) against two aiortc ``RTCSctpTransport`` joined by a fake DTLS transport
on one event loop.  No sockets, no DTLS: this measures the SCTP machinery.

    python benchmarks/sctp_inmemory.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine._bench.sctp_association import (  # noqa: E402
    WORKLOADS,
    AiortcPair,
    OursPair,
    have_aiortc,
    make_transfer,
)


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second (best of three windows, after a warm-up call)."""
    fn()
    best = 0.0
    for _ in range(3):
        calls = 0
        start = time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds / 3:
                break
        best = max(best, calls / elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    ours = OursPair()
    base = AiortcPair() if have_aiortc() else None
    print(f"{'workload':45s} {'rtcengine':>22s} {'aiortc':>22s} {'ratio':>8s}")
    for name, size, count, ordered, rtx in WORKLOADS:
        r_ours = rate(make_transfer(ours, size, count, ordered, rtx), args.seconds) * count
        line = f"{name:45s} {r_ours:9.0f} msg/s {r_ours * size / 1e6:6.1f} MB/s"
        if base is not None:
            r_base = rate(make_transfer(base, size, count, ordered, rtx), args.seconds) * count
            line += f" {r_base:9.0f} msg/s {r_base * size / 1e6:6.1f} MB/s {r_ours / r_base:7.1f}x"
        print(line, flush=True)
    if base is not None:
        base.close()


if __name__ == "__main__":
    main()
