"""The peer-connection data-channel matrix (issue 6), engine-agnostic.

Test modules import these tests and define a ``pair`` fixture giving
(offerer engine, answerer engine): rtcengine <-> rtcengine on loopback
(tests/test_rtcpeerconnection_loopback.py) and rtcengine <-> aiortc both
ways (tests/interop/test_pc_aiortc.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tests.pc_helpers import Side, connect, negotiate, receive_bulk, send_bulk, wait_for

BULK_BYTES = 10 * 1000 * 1000


def run(main: Callable[[Side, Side], Awaitable[None]], pair: tuple[str, str],
        timeout: float = 60.0) -> None:
    async def wrapper() -> None:
        offerer, answerer = Side(pair[0]), Side(pair[1])
        try:
            await asyncio.wait_for(main(offerer, answerer), timeout)
        finally:
            await offerer.close()
            await answerer.close()

    asyncio.run(wrapper())


def test_messages_both_ways(pair: tuple[str, str]) -> None:
    async def main(a: Side, b: Side) -> None:
        ours, theirs = await connect(a, b)
        assert a.pc.connectionState == "connected"
        await wait_for(lambda: b.pc.connectionState == "connected")
        assert a.pc.signalingState == b.pc.signalingState == "stable"
        size = min(a.max_message_size, b.max_message_size)
        big_text = "é" * (size // 2)
        for message in ("hello", b"\x00\x01\xff", "", b"", b"\xab" * size, big_text):
            ours.send(message)
            assert await b.next("chat") == message
            theirs.send(message)
            assert await a.next("chat") == message
        # Many in a row arrive in order on an ordered channel.
        for i in range(200):
            ours.send(f"m{i}")
        assert [await b.next("chat") for _ in range(200)] == [f"m{i}" for i in range(200)]

    run(main, pair)


def test_reliability_options_cross(pair: tuple[str, str]) -> None:
    async def main(a: Side, b: Side) -> None:
        await connect(a, b)
        options = {
            "unordered": {"ordered": False},
            "rexmit0": {"ordered": False, "maxRetransmits": 0},
            "lifetime": {"maxPacketLifeTime": 500},
        }
        for label, opts in options.items():
            a.create(label, **opts)
        for label, opts in options.items():
            theirs = await b.channel(label)
            await asyncio.wait_for(a.opened[label].wait(), 10)
            assert theirs.ordered == opts.get("ordered", True)
            assert theirs.maxRetransmits == opts.get("maxRetransmits")
            assert theirs.maxPacketLifeTime == opts.get("maxPacketLifeTime")
            a.channels[label].send(label)
            assert await b.next(label) == label
            theirs.send(b"back")
            assert await a.next(label) == b"back"
        # Unordered: everything arrives on loopback, in some order.
        for i in range(100):
            a.channels["unordered"].send(str(i))
        got = {await b.next("unordered") for _ in range(100)}
        assert got == {str(i) for i in range(100)}

    run(main, pair)


def bulk_each_way(pair: tuple[str, str], nbytes: int, timeout: float = 120) -> None:
    """``nbytes`` of random 64 KiB messages each way, checked by SHA-256."""

    async def main(a: Side, b: Side) -> None:
        await connect(a, b, "bulk")
        chunk = min(a.max_message_size, b.max_message_size, 65536)
        receiving = asyncio.ensure_future(receive_bulk(b, "bulk", nbytes, timeout))
        sent = await send_bulk(a, "bulk", nbytes, chunk)
        assert await receiving == sent
        receiving = asyncio.ensure_future(receive_bulk(a, "bulk", nbytes, timeout))
        sent = await send_bulk(b, "bulk", nbytes, chunk)
        assert await receiving == sent

    run(main, pair, timeout=timeout)


def test_bulk_10mb_each_way(pair: tuple[str, str]) -> None:
    bulk_each_way(pair, BULK_BYTES)


def test_close_channel_from_either_side(pair: tuple[str, str]) -> None:
    async def main(a: Side, b: Side) -> None:
        await connect(a, b, "one")
        a.create("two")
        a.create("keep")
        for label in ("two", "keep"):
            await b.channel(label)
            await asyncio.wait_for(a.opened[label].wait(), 10)
        a.channels["one"].close()
        await asyncio.wait_for(b.closed["one"].wait(), 10)
        await asyncio.wait_for(a.closed["one"].wait(), 10)
        b.channels["two"].close()
        await asyncio.wait_for(a.closed["two"].wait(), 10)
        await asyncio.wait_for(b.closed["two"].wait(), 10)
        assert a.channels["one"].readyState == "closed"
        a.channels["keep"].send("still here")
        assert await b.next("keep") == "still here"

    run(main, pair)


def test_close_peer_connection_offerer(pair: tuple[str, str]) -> None:
    async def main(a: Side, b: Side) -> None:
        await connect(a, b)
        await a.pc.close()
        assert a.pc.connectionState == "closed" and a.pc.signalingState == "closed"
        await asyncio.wait_for(b.closed["chat"].wait(), 10)
        await wait_for(lambda: b.pc.connectionState in ("closed", "failed", "disconnected"))

    run(main, pair)


def test_close_peer_connection_answerer(pair: tuple[str, str]) -> None:
    async def main(a: Side, b: Side) -> None:
        await connect(a, b)
        await b.pc.close()
        await asyncio.wait_for(a.closed["chat"].wait(), 10)
        await wait_for(lambda: a.pc.connectionState in ("closed", "failed", "disconnected"))

    run(main, pair)


def test_renegotiation_adds_a_channel(pair: tuple[str, str]) -> None:
    async def main(a: Side, b: Side) -> None:
        first, _ = await connect(a, b, "first")
        a.create("second")
        await negotiate(a, b)  # a second offer/answer round on a live connection
        assert a.pc.signalingState == b.pc.signalingState == "stable"
        second = await b.channel("second")
        await asyncio.wait_for(a.opened["second"].wait(), 10)
        second.send("over the new channel")
        assert await a.next("second") == "over the new channel"
        first.send("old channel still works")
        assert await b.next("first") == "old channel still works"
        # And the answerer offers this time.
        b.create("third")
        await negotiate(b, a)
        await a.channel("third")
        assert a.pc.connectionState == "connected"

    run(main, pair)


def test_stats_counters_move(pair: tuple[str, str]) -> None:
    async def main(a: Side, b: Side) -> None:
        await connect(a, b)
        side = a if a.engine == "rtcengine" else b
        before = await side.pc.getStats()
        for _ in range(50):
            side.channels["chat"].send(b"x" * 1000)
        other = b if side is a else a
        for _ in range(50):
            await other.next("chat")
        after = await side.pc.getStats()
        types = {s.type for s in after.values()}
        assert {"peer-connection", "transport", "candidate-pair", "local-candidate",
                "remote-candidate", "certificate", "data-channel"} <= types
        transport_before = next(s for s in before.values() if s.type == "transport")
        transport = next(s for s in after.values() if s.type == "transport")
        assert transport.bytesSent >= transport_before.bytesSent + 50000
        assert transport.dtlsState == "connected"
        pair_stats = after[transport.selectedCandidatePairId]
        assert pair_stats.type == "candidate-pair" and pair_stats.nominated
        assert after[pair_stats.localCandidateId].type == "local-candidate"
        assert after[pair_stats.remoteCandidateId].type == "remote-candidate"
        channel = next(s for s in after.values() if s.type == "data-channel")
        assert channel.messagesSent >= 50 and channel.bytesSent >= 50000
        pc_stats = after["P"]
        assert pc_stats.dataChannelsOpened == 1

    run(main, pair)
