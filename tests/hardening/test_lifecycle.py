"""Lifecycle (issue 7): connect/transfer/close cycles in one process return
file descriptors and asyncio tasks to their baseline; close() is idempotent
and works in every state; a dropped connection's sockets; the debug build's
live-object counters.

``RTCENGINE_LONG_TESTS=1`` runs 1000 cycles (about two minutes); the default
is 50.  Figures are printed (``pytest -s``) and recorded in docs/hardening.md.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from rtcengine import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

LONG = os.environ.get("RTCENGINE_LONG_TESTS", "").strip() not in ("", "0")
CYCLES = 1000 if LONG else 50


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def other_tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


def live_timers() -> list[Any]:
    loop: Any = asyncio.get_running_loop()
    return [h for h in loop._scheduled if not h.cancelled()]


def loopback_config() -> RTCConfiguration:
    return RTCConfiguration(extra={
        "include_loopback": True,
        "use_ipv6": False,
        "interface_filter": lambda _name, ip: ip == "127.0.0.1",
    })


async def settle() -> None:
    """A few loop turns: callbacks scheduled by close() run."""
    for _ in range(3):
        await asyncio.sleep(0)
    await asyncio.sleep(0.02)


async def offer_answer(a: RTCPeerConnection, b: RTCPeerConnection,
                       edit_answer: Callable[[str], str] | None = None) -> None:
    await a.setLocalDescription(await a.createOffer())
    offer = a.localDescription
    assert offer is not None
    await b.setRemoteDescription(offer)
    await b.setLocalDescription(await b.createAnswer())
    answer = b.localDescription
    assert answer is not None
    sdp = edit_answer(answer.sdp) if edit_answer is not None else answer.sdp
    await a.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))


async def one_cycle(n: int) -> None:
    """Connect, one message each way and 64 KiB from a to b, close."""
    a, b = RTCPeerConnection(loopback_config()), RTCPeerConnection(loopback_config())
    try:
        got_a: asyncio.Queue[Any] = asyncio.Queue()
        got_b: asyncio.Queue[Any] = asyncio.Queue()
        remote: list[Any] = []
        opened = asyncio.Event()

        def on_datachannel(channel: Any) -> None:
            remote.append(channel)
            channel.on("message", got_b.put_nowait)
            opened.set()

        b.on("datachannel", on_datachannel)
        ch = a.createDataChannel(f"cycle-{n}")
        ch.on("message", got_a.put_nowait)
        await offer_answer(a, b)
        await asyncio.wait_for(opened.wait(), 10)
        async with asyncio.timeout(10):
            while ch.readyState != "open":
                await asyncio.sleep(0.005)
        ch.send(f"hello {n}")
        assert await asyncio.wait_for(got_b.get(), 10) == f"hello {n}"
        remote[0].send(b"back")
        assert await asyncio.wait_for(got_a.get(), 10) == b"back"
        ch.send(bytes(65536))
        assert await asyncio.wait_for(got_b.get(), 10) == bytes(65536)
    finally:
        await a.close()
        await b.close()


def test_sequential_cycles_return_to_baseline() -> None:
    async def main() -> None:
        await one_cycle(-1)  # warm-up: imports, lazily created loop resources
        await settle()
        gc.collect()
        fds0, tasks0, timers0 = fd_count(), other_tasks(), live_timers()
        rss0 = rss_kib()
        t0 = time.perf_counter()
        checkpoints: list[tuple[int, int, int]] = []
        for n in range(CYCLES):
            await one_cycle(n)
            if (n + 1) % max(1, CYCLES // 10) == 0:
                await settle()
                checkpoints.append((n + 1, fd_count(), rss_kib()))
        elapsed = time.perf_counter() - t0
        await settle()
        gc.collect()
        fds1, tasks1, timers1, rss1 = fd_count(), other_tasks(), live_timers(), rss_kib()
        print(f"\n[lifecycle] {CYCLES} cycles in {elapsed:.1f} s "
              f"({elapsed / CYCLES * 1000:.0f} ms/cycle); fds {fds0} -> {fds1}; "
              f"tasks {len(tasks0)} -> {len(tasks1)}; timers {len(timers0)} -> {len(timers1)}; "
              f"RSS {rss0 / 1024:.1f} -> {rss1 / 1024:.1f} MiB "
              f"({(rss1 - rss0) / CYCLES:.1f} KiB/cycle); checkpoints (cycle, fds, RSS KiB) "
              f"{checkpoints}")
        assert fds1 == fds0
        assert tasks1 == tasks0, tasks1 - tasks0
        assert len(timers1) <= len(timers0), timers1
        # Reported, not asserted tightly: a generous bound on growth.
        assert rss1 - rss0 < 64 * 1024 + 64 * CYCLES

    asyncio.run(main())


# ---------------------------------------------------------------- close() in every state


async def _state_new() -> list[RTCPeerConnection]:
    pc = RTCPeerConnection(loopback_config())
    assert pc.signalingState == "stable" and pc.connectionState == "new"
    return [pc]


async def _state_have_local_offer() -> list[RTCPeerConnection]:
    pc = RTCPeerConnection(loopback_config())
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    assert pc.signalingState == "have-local-offer"
    return [pc]


async def _state_have_remote_offer() -> list[RTCPeerConnection]:
    a, b = RTCPeerConnection(loopback_config()), RTCPeerConnection(loopback_config())
    a.createDataChannel("x")
    await a.setLocalDescription(await a.createOffer())
    offer = a.localDescription
    assert offer is not None
    await b.setRemoteDescription(offer)
    assert b.signalingState == "have-remote-offer"
    return [b, a]


def _dead_candidates(sdp: str) -> str:
    """Every candidate's port -> 9 (discard): checks go unanswered."""
    return re.sub(r"(a=candidate:\S+ \d+ \S+ \d+ \S+) \d+ ", r"\1 9 ", sdp)


async def _state_connecting() -> list[RTCPeerConnection]:
    a, b = RTCPeerConnection(loopback_config()), RTCPeerConnection(loopback_config())
    a.createDataChannel("x")
    await offer_answer(a, b, _dead_candidates)
    async with asyncio.timeout(5):
        while a.connectionState != "connecting":
            await asyncio.sleep(0.01)
    return [a, b]


async def _state_connected() -> list[RTCPeerConnection]:
    a, b = RTCPeerConnection(loopback_config()), RTCPeerConnection(loopback_config())
    a.createDataChannel("x")
    await offer_answer(a, b)
    async with asyncio.timeout(10):
        while a.connectionState != "connected":
            await asyncio.sleep(0.01)
    return [a, b]


def _wrong_fingerprint(sdp: str) -> str:
    return re.sub(r"(a=fingerprint:sha-256 )([0-9A-F]{2})",
                  lambda m: m.group(1) + ("00" if m.group(2) != "00" else "11"), sdp)


async def _state_failed() -> list[RTCPeerConnection]:
    """The answer's DTLS fingerprint does not match: DTLS fails (RFC 8122)."""
    a, b = RTCPeerConnection(loopback_config()), RTCPeerConnection(loopback_config())
    a.createDataChannel("x")
    await offer_answer(a, b, _wrong_fingerprint)
    async with asyncio.timeout(15):
        while a.connectionState != "failed":
            await asyncio.sleep(0.01)
    return [a, b]


STATES: dict[str, Callable[[], Awaitable[list[RTCPeerConnection]]]] = {
    "new": _state_new,
    "have-local-offer": _state_have_local_offer,
    "have-remote-offer": _state_have_remote_offer,
    "connecting": _state_connecting,
    "connected": _state_connected,
    "failed": _state_failed,
}


@pytest.mark.parametrize("state", list(STATES))
def test_close_in_every_state(state: str) -> None:
    """close() twice in a row, and twice at once, in each state: every state
    ends "closed", no fd, task or timer is left, and later API calls raise
    InvalidStateError."""
    from rtcengine.exceptions import InvalidStateError

    async def main() -> None:
        await settle()
        fds0, tasks0 = fd_count(), other_tasks()
        async with asyncio.timeout(30):
            pcs = await STATES[state]()
        target = pcs[0]
        await asyncio.gather(target.close(), target.close())
        await target.close()
        assert target.signalingState == "closed"
        assert target.connectionState == "closed"
        assert target.iceConnectionState == "closed"
        with pytest.raises(InvalidStateError):
            await target.createOffer()
        for pc in pcs[1:]:
            await pc.close()
            await pc.close()
        await settle()
        assert fd_count() == fds0
        assert other_tasks() == tasks0, other_tasks() - tasks0
        assert not live_timers(), live_timers()

    asyncio.run(main())


# ---------------------------------------------------------------- dropped without close()


def test_dropped_connection_releases_sockets() -> None:
    async def main() -> None:
        await settle()
        fds0 = fd_count()
        pc = RTCPeerConnection(loopback_config())
        pc.createDataChannel("x")
        await pc.setLocalDescription(await pc.createOffer())
        assert fd_count() > fds0
        ref = weakref.ref(pc)
        del pc
        gc.collect()
        await settle()
        gc.collect()
        alive = ref() is not None
        leaked = fd_count() - fds0
        still = ref()
        if still is not None:
            await still.close()  # do not leak into later tests
            del still
        assert not alive and leaked == 0, f"alive={alive}, fds leaked={leaked}"

    asyncio.run(main())


async def _connected_pair() -> tuple[RTCPeerConnection, RTCPeerConnection, Any,
                                      asyncio.Queue[Any], asyncio.Queue[Any]]:
    """A connected pair with an open channel; the test keeps no reference to
    b's channel (only the queue its messages go to)."""
    a, b = RTCPeerConnection(loopback_config()), RTCPeerConnection(loopback_config())
    got_a: asyncio.Queue[Any] = asyncio.Queue()
    got_b: asyncio.Queue[Any] = asyncio.Queue()
    opened = asyncio.Event()

    def on_datachannel(channel: Any) -> None:
        channel.on("message", got_b.put_nowait)
        channel.on("message", lambda m: m == "echo" and channel.send("echoed"))
        opened.set()

    b.on("datachannel", on_datachannel)
    ch = a.createDataChannel("gc")
    ch.on("message", got_a.put_nowait)
    await offer_answer(a, b)
    await asyncio.wait_for(opened.wait(), 10)
    async with asyncio.timeout(10):
        while ch.readyState != "open":
            await asyncio.sleep(0.005)
    return a, b, ch, got_a, got_b


def _record_loop_errors() -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    return errors


def test_dropped_side_of_a_connected_pair() -> None:
    """The user drops b (no close()): until b is collected the pair keeps
    working; once collected, b's sockets are closed, and a goes on without a
    crash or an exception reaching the loop."""
    async def main() -> None:
        await settle()
        gc.collect()
        fds0 = fd_count()
        errors = _record_loop_errors()
        a, b, ch, got_a, got_b = await _connected_pair()
        fds_pair = fd_count()
        ref = weakref.ref(b)
        del b
        # Not collected yet (a cycle): b still answers.
        ch.send("echo")
        assert await asyncio.wait_for(got_b.get(), 10) == "echo"
        assert await asyncio.wait_for(got_a.get(), 10) == "echoed"
        gc.collect()
        await settle()
        gc.collect()
        assert ref() is None
        a_only = fd_count()
        assert a_only < fds_pair
        # a keeps sending into a peer that is gone: no exception anywhere.
        for i in range(50):
            ch.send(f"after {i}")
            ch.send(bytes(2000))
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.3)
        assert a.connectionState in ("connected", "disconnected", "failed")
        assert got_b.empty()
        await a.close()
        del a, ch
        await settle()
        gc.collect()
        assert fd_count() == fds0
        assert not errors, errors

    asyncio.run(main())


def test_held_connection_survives_gc_during_transfer() -> None:
    """Connections the user holds keep working across gc.collect() calls in
    the middle of a transfer: the loop holds the I/O layer, which reaches the
    data path weakly, so the data path must be held from above."""
    async def main() -> None:
        errors = _record_loop_errors()
        a, b, ch, _got_a, got_b = await _connected_pair()
        try:
            chunk = bytes(range(256)) * 64  # 16 KiB
            sent = 0
            # Full collections while sending and while receiving.  Every 8th
            # message, not every one: a full collection's cost grows with the
            # process heap (0.3 s each once a whole suite has run in the
            # process), and 128 of them stretched the test to ~25 s.
            for i in range(64):
                ch.send(chunk)
                sent += 1
                if i % 8 == 0:
                    gc.collect()
                await asyncio.sleep(0)
            received = 0
            async with asyncio.timeout(20):
                while received < sent:
                    assert await got_b.get() == chunk
                    received += 1
                    if received % 8 == 0:
                        gc.collect()
            # Held connections survive: neither failed nor closed.  Not exactly
            # "connected": on a loop stalled by long full collections, an
            # in-process pair's ICE consent can lapse past the 8 s
            # "disconnected" window.  That happens with or without the weak
            # references this test guards (checked by reverting them), so it
            # is a separate, known issue (see the session note), not a
            # garbage-collection bug.
            assert a.connectionState in ("connected", "disconnected")
            assert b.connectionState in ("connected", "disconnected")
            ch.send("last")
            assert await asyncio.wait_for(got_b.get(), 10) == "last"
        finally:
            await a.close()
            await b.close()
        assert not errors, errors

    asyncio.run(main())


# ---------------------------------------------------------------- debug counters


def test_debug_live_objects_zero_after_close() -> None:
    from rtcengine._core import debug

    if not debug.enabled():
        pytest.skip("not a debug build (build with RTCENGINE_DEBUG=1 to count live objects)")

    async def main() -> None:
        gc.collect()
        base = debug.live_objects()
        a, b = RTCPeerConnection(loopback_config()), RTCPeerConnection(loopback_config())
        a.createDataChannel("x")
        await offer_answer(a, b)
        async with asyncio.timeout(10):
            while a.connectionState != "connected" or b.sctp is None \
                    or b.sctp.state != "connected":
                await asyncio.sleep(0.01)
        during = debug.live_objects()
        assert any(during[k] > base.get(k, 0) for k in during), during
        await a.close()
        await b.close()
        del a, b
        await settle()
        gc.collect()
        after = debug.live_objects()
        print(f"\n[debug] live objects before {base}, connected {during}, after close {after}")
        assert after == base

    asyncio.run(main())
