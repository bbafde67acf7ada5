"""rtcengine <-> rtcengine over loopback: the issue-6 data-channel matrix
with each side offering (tests/pc_matrix.py)."""

from __future__ import annotations

import pytest

from tests.pc_matrix import (  # noqa: F401 - collected by pytest
    test_bulk_10mb_each_way,
    test_close_channel_from_either_side,
    test_close_peer_connection_answerer,
    test_close_peer_connection_offerer,
    test_messages_both_ways,
    test_reliability_options_cross,
    test_renegotiation_adds_a_channel,
    test_stats_counters_move,
)


@pytest.fixture(params=[("rtcengine", "rtcengine")], ids=["self"])
def pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    value: tuple[str, str] = request.param
    return value


def test_perfect_negotiation_glare() -> None:
    """webrtc-pc §10.7 perfect negotiation: both peers offer at once; the
    impolite one ignores the colliding offer, the polite one rolls back
    implicitly (setRemoteDescription(offer) in have-local-offer)."""
    import asyncio
    from typing import Any

    from rtcengine import RTCPeerConnection

    async def peer(pc: RTCPeerConnection, polite: bool, inbox: asyncio.Queue[Any],
                   outbox: asyncio.Queue[Any]) -> None:
        making_offer = False

        async def on_negotiationneeded() -> None:
            nonlocal making_offer
            making_offer = True
            try:
                await pc.setLocalDescription()
                await outbox.put(("description", pc.localDescription))
            finally:
                making_offer = False

        pc.on("negotiationneeded", on_negotiationneeded)
        while True:
            kind, desc = await inbox.get()
            if kind == "stop":
                return
            collision = desc.type == "offer" and (making_offer or pc.signalingState != "stable")
            if collision and not polite:
                continue  # ignore the offer: ours wins
            await pc.setRemoteDescription(desc)  # polite: implicit rollback
            if desc.type == "offer":
                await pc.setLocalDescription()
                await outbox.put(("description", pc.localDescription))

    async def main() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        to_a: asyncio.Queue[Any] = asyncio.Queue()
        to_b: asyncio.Queue[Any] = asyncio.Queue()
        opened = {"a": asyncio.Event(), "b": asyncio.Event()}
        tasks = [asyncio.ensure_future(peer(a, False, to_a, to_b)),
                 asyncio.ensure_future(peer(b, True, to_b, to_a))]
        await asyncio.sleep(0)  # both handlers registered
        ca = a.createDataChannel("from-a")
        cb = b.createDataChannel("from-b")
        ca.on("open", opened["a"].set)
        cb.on("open", opened["b"].set)
        await asyncio.wait_for(asyncio.gather(opened["a"].wait(), opened["b"].wait()), 15)
        assert a.signalingState == b.signalingState == "stable"
        assert a.connectionState == "connected"
        await to_a.put(("stop", None))
        await to_b.put(("stop", None))
        await asyncio.gather(*tasks)
        await a.close()
        await b.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_close_releases_sockets_and_tasks() -> None:
    import asyncio
    import os
    from typing import Any

    from tests.pc_helpers import Side, connect

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def main() -> None:
        await asyncio.sleep(0)
        before = fds()
        a, b = Side("rtcengine"), Side("rtcengine")
        await connect(a, b)
        assert fds() > before
        await a.close()
        await b.close()
        await asyncio.sleep(0.05)
        assert fds() == before
        others = asyncio.all_tasks() - {asyncio.current_task()}
        assert not others, others
        loop: Any = asyncio.get_running_loop()
        timers = [h for h in loop._scheduled if not h.cancelled()]
        assert not timers, timers

    asyncio.run(main())
