"""Soak: a peer-connection pair with data flowing for a given time, reporting
throughput, RSS and file descriptors over time.

    python benchmarks/soak.py --seconds 600 [--interval 10] [--message-size 16384]
                              [--rate-mbps 0] [--churn] [--json out.json]

Both RTCPeerConnections live in this one process (one event loop), so the
RSS and fd figures cover both peers; they talk over 127.0.0.1 through real
UDP sockets, DTLS and SCTP.  The offerer sends on a reliable ordered channel
under bufferedAmount flow control (optionally capped at ``--rate-mbps``);
every message carries a sequence number, and the answerer checks that they
arrive complete and in order.  With ``--churn`` a second, short-lived channel
is opened, used and closed once per interval (channel setup and teardown
under load).

Every ``--interval`` seconds one row: elapsed time, throughput over the
interval, messages, RSS (VmRSS), peak RSS (VmHWM), open fds and asyncio tasks.
Then a summary.  The exit status is 1 if a message was lost, reordered or
corrupted, or if the connection left ``connected``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import struct
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine import RTCConfiguration, RTCPeerConnection  # noqa: E402

HIGH_WATER = 4 << 20
LOW_WATER = 1 << 20


def proc_status() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in KiB (Linux)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def fd_count() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


@dataclass
class Row:
    t: float
    mbytes_per_s: float
    messages: int
    rss_kib: int
    hwm_kib: int
    fds: int
    tasks: int
    churned: int


@dataclass
class Result:
    seconds: float
    message_size: int
    rate_mbps: float
    rows: list[Row] = field(default_factory=list)
    bytes_received: int = 0
    messages_received: int = 0
    errors: list[str] = field(default_factory=list)
    fds_before: int = 0
    fds_after_close: int = 0
    rss_before_kib: int = 0
    rss_after_close_kib: int = 0
    hwm_kib: int = 0
    final_state: str = ""


def configuration() -> RTCConfiguration:
    return RTCConfiguration(extra={
        "include_loopback": True,
        "use_ipv6": False,
        "interface_filter": lambda _name, ip: ip == "127.0.0.1",
    })


async def open_pair() -> tuple[RTCPeerConnection, RTCPeerConnection, Any, Any]:
    a = RTCPeerConnection(configuration())
    b = RTCPeerConnection(configuration())
    ours = a.createDataChannel("soak")
    opened = asyncio.Event()
    theirs: list[Any] = []

    def on_datachannel(channel: Any) -> None:
        if channel.label == "soak":
            theirs.append(channel)
            opened.set()

    b.on("datachannel", on_datachannel)
    await a.setLocalDescription(await a.createOffer())
    offer = a.localDescription
    assert offer is not None
    await b.setRemoteDescription(offer)
    await b.setLocalDescription(await b.createAnswer())
    answer = b.localDescription
    assert answer is not None
    await a.setRemoteDescription(answer)
    await asyncio.wait_for(opened.wait(), 15)
    while ours.readyState != "open":
        await asyncio.sleep(0.01)
    return a, b, ours, theirs[0]


async def churn_once(a: RTCPeerConnection, b: RTCPeerConnection, n: int) -> None:
    """Open a channel, send one message each way, close it."""
    label = f"churn-{n}"
    got = asyncio.Event()
    remote: list[Any] = []

    def on_datachannel(channel: Any) -> None:
        if channel.label == label:
            remote.append(channel)
            channel.on("message", lambda _m: got.set())

    b.on("datachannel", on_datachannel)
    try:
        ch = a.createDataChannel(label)
        opened = asyncio.Event()
        ch.on("open", opened.set)
        await asyncio.wait_for(opened.wait(), 10)
        ch.send(b"ping")
        await asyncio.wait_for(got.wait(), 10)
        ch.close()
        while remote and remote[0].readyState != "closed":
            await asyncio.sleep(0.01)
    finally:
        b.remove_listener("datachannel", on_datachannel)


async def soak(seconds: float, interval: float, size: int, rate_mbps: float,
               churn: bool, quiet: bool) -> Result:
    result = Result(seconds=seconds, message_size=size, rate_mbps=rate_mbps)
    await asyncio.sleep(0)
    result.fds_before = fd_count()
    result.rss_before_kib = proc_status().get("VmRSS", 0)
    a, b, ours, theirs = await open_pair()
    payload = bytearray(os.urandom(size))
    counters = {"bytes": 0, "messages": 0, "expected": 0}

    def on_message(message: Any) -> None:
        if not isinstance(message, bytes) or len(message) != size:
            result.errors.append(f"bad message of {len(message)} bytes")
            return
        (seq,) = struct.unpack_from("!Q", message)
        if seq != counters["expected"]:
            result.errors.append(f"expected #{counters['expected']}, got #{seq}")
        counters["expected"] = seq + 1
        counters["bytes"] += size
        counters["messages"] += 1

    theirs.on("message", on_message)
    drained = asyncio.Event()
    ours.bufferedAmountLowThreshold = LOW_WATER
    ours.on("bufferedamountlow", drained.set)
    loop = asyncio.get_running_loop()
    start = loop.time()
    stop_at = start + seconds

    async def sender() -> None:
        seq = 0
        budget_start = loop.time()
        while loop.time() < stop_at and ours.readyState == "open":
            if ours.bufferedAmount > HIGH_WATER:
                drained.clear()
                await asyncio.wait_for(drained.wait(), 30)
                continue
            if rate_mbps > 0:
                allowed = (loop.time() - budget_start) * rate_mbps * 1e6
                if seq * size > allowed:
                    await asyncio.sleep(0.005)
                    continue
            struct.pack_into("!Q", payload, 0, seq)
            ours.send(bytes(payload))
            seq += 1
            if seq % 64 == 0:
                await asyncio.sleep(0)

    send_task = asyncio.ensure_future(sender())
    churned = 0
    last_bytes = 0
    last_t = start
    header = (f"{'t (s)':>7} {'MB/s':>7} {'messages':>10} {'RSS MiB':>8} "
              f"{'peak MiB':>8} {'fds':>4} {'tasks':>5} {'churn':>5}")
    if not quiet:
        print(header, flush=True)
    try:
        next_tick = start + interval
        while True:
            await asyncio.sleep(max(0.0, next_tick - loop.time()))
            if churn and loop.time() < stop_at:
                await churn_once(a, b, churned)
                churned += 1
            now = loop.time()
            status = proc_status()
            row = Row(
                t=round(now - start, 1),
                mbytes_per_s=round((counters["bytes"] - last_bytes) / (now - last_t) / 1e6, 2),
                messages=counters["messages"],
                rss_kib=status.get("VmRSS", 0),
                hwm_kib=status.get("VmHWM", 0),
                fds=fd_count(),
                tasks=len(asyncio.all_tasks()),
                churned=churned,
            )
            result.rows.append(row)
            if not quiet:
                print(f"{row.t:7.1f} {row.mbytes_per_s:7.2f} {row.messages:10d} "
                      f"{row.rss_kib / 1024:8.1f} {row.hwm_kib / 1024:8.1f} {row.fds:4d} "
                      f"{row.tasks:5d} {row.churned:5d}", flush=True)
            last_bytes, last_t = counters["bytes"], now
            next_tick += interval
            if now >= stop_at or a.connectionState != "connected":
                break
        await send_task
        # Let the tail arrive.
        deadline = loop.time() + 10
        while (ours.bufferedAmount or counters["messages"] < counters["expected"]) and \
                loop.time() < deadline:
            await asyncio.sleep(0.05)
    finally:
        result.final_state = a.connectionState
        if not send_task.done():
            send_task.cancel()
            await asyncio.gather(send_task, return_exceptions=True)
        await a.close()
        await b.close()
    await asyncio.sleep(0.1)
    result.bytes_received = counters["bytes"]
    result.messages_received = counters["messages"]
    result.fds_after_close = fd_count()
    status = proc_status()
    result.rss_after_close_kib = status.get("VmRSS", 0)
    result.hwm_kib = status.get("VmHWM", 0)
    if result.final_state != "connected":
        result.errors.append(f"connection ended {result.final_state}")
    return result


def summary(r: Result) -> str:
    rates = [row.mbytes_per_s for row in r.rows] or [0.0]
    elapsed = r.rows[-1].t if r.rows else 0.0
    rss = [row.rss_kib for row in r.rows] or [0]
    lines = [
        f"duration {elapsed:.0f} s, {r.messages_received} messages of {r.message_size} B "
        f"({r.bytes_received / 1e6:.1f} MB), {len(r.errors)} errors",
        f"throughput MB/s: mean {statistics.fmean(rates):.2f}, min {min(rates):.2f}, "
        f"max {max(rates):.2f}",
        f"RSS MiB: before {r.rss_before_kib / 1024:.1f}, first row {rss[0] / 1024:.1f}, "
        f"last row {rss[-1] / 1024:.1f}, peak (VmHWM) {r.hwm_kib / 1024:.1f}, "
        f"after close {r.rss_after_close_kib / 1024:.1f}",
        f"fds: before {r.fds_before}, during {min(x.fds for x in r.rows) if r.rows else -1}"
        f"..{max(x.fds for x in r.rows) if r.rows else -1}, after close {r.fds_after_close}",
        f"final connection state: {r.final_state}",
    ]
    lines += [f"error: {e}" for e in r.errors[:10]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--message-size", type=int, default=16384)
    parser.add_argument("--rate-mbps", type=float, default=0.0,
                        help="cap the offered load in MB/s (0: as fast as it goes)")
    parser.add_argument("--churn", action="store_true",
                        help="open, use and close a second channel once per interval")
    parser.add_argument("--json", type=Path, help="write the rows and summary here")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.message_size < 8:
        parser.error("--message-size must be at least 8 (the sequence number)")
    result = asyncio.run(soak(args.seconds, args.interval, args.message_size,
                              args.rate_mbps, args.churn, args.quiet))
    print(summary(result), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(result), indent=1))
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
