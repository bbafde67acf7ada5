"""UDP loopback datagrams/s, one process, 1200 B, in one run:

(a) our BatchDatagramEndpoint pair through the event loop (recvmmsg bursts in,
    one sendmmsg flush per loop iteration out),
(b) a plain asyncio DatagramProtocol pair on the same loop type (same driver,
    same window, same 4 MiB socket buffers),
(c) blocking sockets, sendto + recv per datagram,
(d) our C batch calls without an event loop (the ceiling of (a)).

Prints the medians and the ratios (a)/(b) (issue 4 target: >= 4x) and (a)/(c).

    python benchmarks/udp_loopback.py [--datagrams 200000] [--repeat 5] [--loop both]
                                      [--gso on|off|both]

``--gso`` sets UDP GSO (Linux UDP_SEGMENT) on the sending side of (a) and (d);
``both`` runs each of them twice, with and without.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtcengine._bench.udp import (  # noqa: E402
    BlockingPair,
    CorePair,
    EndpointPair,
    ProtocolPair,
    loop_factory,
    rate,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--datagrams", type=int, default=200_000, help="per sample")
    ap.add_argument("--repeat", type=int, default=5, help="samples per workload (median)")
    ap.add_argument("--size", type=int, default=1200)
    ap.add_argument("--loop", choices=["asyncio", "uvloop", "both"], default="both")
    ap.add_argument("--gso", choices=["on", "off", "both"], default="on",
                    help="UDP GSO on the sender of (a) and (d)")
    args = ap.parse_args()
    kinds = ["asyncio", "uvloop"] if args.loop == "both" else [args.loop]
    if "uvloop" in kinds:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            print("uvloop not installed: skipping it", file=sys.stderr)
            kinds.remove("uvloop")

    n, size = args.datagrams, args.size
    work: dict[str, Callable[[int], None]] = {}
    closers: list[Callable[[], None]] = []
    gsos = [True, False] if args.gso == "both" else [args.gso == "on"]

    def tag(gso: bool) -> str:
        return "" if len(gsos) == 1 else (", GSO" if gso else ", no GSO")

    for kind in kinds:
        loop = loop_factory(kind)()
        for gso in gsos:
            ours = EndpointPair(loop, size, gso=gso)
            work[f"(a) endpoint, {kind}{tag(gso)}"] = ours.transfer
            closers.append(ours.close)
        plain = ProtocolPair(loop, size)
        work[f"(b) DatagramProtocol, {kind}"] = plain.transfer
        closers += [plain.close, loop.close]
    block = BlockingPair(size)
    work["(c) blocking sendto+recv"] = block.transfer
    closers.append(block.close)
    for gso in gsos:
        batch = CorePair(size, gso=gso)
        work[f"(d) C batch calls, no loop{tag(gso)}"] = batch.transfer
        closers.append(batch.close)

    samples: dict[str, list[float]] = {k: [] for k in work}
    for fn in work.values():
        fn(min(n, 20_000))  # warm up
    gc.disable()
    try:
        for _ in range(args.repeat):  # interleaved, so load changes hit all alike
            for name, fn in work.items():
                samples[name].append(rate(fn, n))
    finally:
        gc.enable()
        for close in closers:
            close()

    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"UDP loopback, {size} B datagrams, one process, {n} datagrams per sample, "
          f"median of {args.repeat}, GSO {args.gso}\n")
    print("| workload | datagrams/s | min–max |")
    print("|---|---:|---:|")
    for name, v in samples.items():
        print(f"| {name} | {med[name] / 1e3:.0f} k | {min(v) / 1e3:.0f}–{max(v) / 1e3:.0f} k |")
    print()
    block_rate = med["(c) blocking sendto+recv"]
    for kind in kinds:
        b = med[f"(b) DatagramProtocol, {kind}"]
        for gso in gsos:
            a = med[f"(a) endpoint, {kind}{tag(gso)}"]
            verdict = "✓" if a / b >= 4 else "✗"
            print(f"{kind}{tag(gso)}: (a)/(b) = {a / b:.1f}× (target ≥ 4× {verdict}); "
                  f"(a)/(c) = {a / block_rate:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
