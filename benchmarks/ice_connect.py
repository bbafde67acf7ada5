"""Time to connected on this host, host candidates, both agents in one process:
rtcengine's ICE driver pair vs an aioice Connection pair, in the same run.

    python benchmarks/ice_connect.py [--rounds 20]

Each round creates two agents, gathers (IPv4, non-loopback interfaces, as aioice
does), exchanges credentials and candidates, and times from the start of the
checks (the last signalling step) until both sides report connected.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine.ice.config import IceConfig  # noqa: E402
from rtcengine.ice.driver import IceDriver  # noqa: E402


async def ours_once(aggressive: bool) -> tuple[float, float]:
    cfg = IceConfig(use_ipv6=False, aggressive_nomination=aggressive)
    a, b = IceDriver(True, cfg), IceDriver(False, cfg)
    try:
        t0 = time.perf_counter()
        await asyncio.gather(a.gather(), b.gather())
        t1 = time.perf_counter()
        a.set_remote_credentials(b.local_username, b.local_password)
        b.set_remote_credentials(a.local_username, a.local_password)
        for src, dst in ((a, b), (b, a)):
            for c in src.local_candidates:
                dst.add_remote_candidate(c)
            dst.add_remote_candidate(None)
        await asyncio.gather(a.connect(), b.connect())
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1
    finally:
        await a.close()
        await b.close()


async def aioice_once() -> tuple[float, float]:
    import aioice

    a = aioice.Connection(ice_controlling=True, components=1, use_ipv6=False)
    b = aioice.Connection(ice_controlling=False, components=1, use_ipv6=False)
    try:
        t0 = time.perf_counter()
        await asyncio.gather(a.gather_candidates(), b.gather_candidates())
        t1 = time.perf_counter()
        for src, dst in ((a, b), (b, a)):
            dst.remote_username = src.local_username
            dst.remote_password = src.local_password
            for c in src.local_candidates:
                await dst.add_remote_candidate(c)
            await dst.add_remote_candidate(None)
        await asyncio.gather(a.connect(), b.connect())
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1
    finally:
        await a.close()
        await b.close()


def _fmt(name: str, samples: list[tuple[float, float]]) -> str:
    gather = statistics.median(s[0] for s in samples) * 1e3
    connect = statistics.median(s[1] for s in samples) * 1e3
    return (
        f"{name:<34} gather {gather:7.2f} ms   connect {connect:7.2f} ms (median of {len(samples)})"
    )


async def main(rounds: int) -> None:
    runs: dict[str, list[tuple[float, float]]] = {
        "rtcengine (regular nomination)": [],
        "rtcengine (aggressive nomination)": [],
        "aioice (aggressive nomination)": [],
    }
    have_aioice = True
    try:
        import aioice  # noqa: F401
    except ImportError:
        have_aioice = False
    for _ in range(rounds):
        runs["rtcengine (regular nomination)"].append(await ours_once(False))
        runs["rtcengine (aggressive nomination)"].append(await ours_once(True))
        if have_aioice:
            runs["aioice (aggressive nomination)"].append(await aioice_once())
    for name, samples in runs.items():
        if samples:
            print(_fmt(name, samples))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.rounds))
