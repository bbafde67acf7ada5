"""RTCDataChannel (aiortc-style events) over the channel manager and two SCTP
associations in the virtual-time simulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtcengine._core.sctp_association import Association
from rtcengine.events import EventEmitter
from rtcengine.exceptions import InvalidStateError
from rtcengine.rtcdatachannel import RTCDataChannel, create_data_channel, dispatch
from rtcengine.sctp_channels import DataChannelManager
from tests.netsim import Network


def setup() -> tuple[DataChannelManager, DataChannelManager, Network, list[RTCDataChannel]]:
    a = Association(5000, 5000, True)
    b = Association(5000, 5000, False)
    a.remote_max_message_size = b.remote_max_message_size = 262144
    ma, mb = DataChannelManager(a), DataChannelManager(b)
    announced: list[RTCDataChannel] = []
    net = Network(a, b, seed=1)
    net.a.poller = lambda: dispatch(ma, ma.poll())
    net.b.poller = lambda: dispatch(mb, mb.poll(), announced.append)
    a.connect(0.0)
    return ma, mb, net, announced


def test_events_in_aiortc_style() -> None:
    ma, mb, net, announced = setup()
    ch = create_data_channel(ma, "chat", protocol="json")
    log: list[Any] = []
    ch.on("open", lambda: log.append("open"))

    @ch.on("message")
    def on_message(msg: str | bytes) -> None:
        log.append(msg)

    ch.on("closing", lambda: log.append("closing"))
    ch.on("close", lambda: log.append("close"))
    assert ch.readyState == "connecting"
    assert net.run(lambda: ch.readyState == "open" and bool(announced), max_time=30)
    assert len(announced) == 1
    remote = announced[0]
    assert (remote.label, remote.protocol, remote.id, remote.readyState) == (
        "chat", "json", ch.id, "open")
    remote.on("message", lambda m: remote.send(m * 2 if m else m))
    ch.send("ping")
    ch.send(b"")
    assert net.run(lambda: len(log) == 3, max_time=30)
    assert log == ["open", "pingping", b""]
    ch.close()
    assert net.run(lambda: remote.readyState == "closed" and ch.readyState == "closed",
                   max_time=30)
    assert log[-2:] == ["closing", "close"]
    with pytest.raises(InvalidStateError):
        ch.send("x")


def test_buffered_amount_low_threshold() -> None:
    ma, mb, net, announced = setup()
    ch = create_data_channel(ma, "b", negotiated=True, id=2)
    create_data_channel(mb, "b", negotiated=True, id=2)
    assert net.run(lambda: ch.readyState == "open", max_time=30)
    ch.bufferedAmountLowThreshold = 100
    fired: list[int] = []
    ch.on("bufferedamountlow", lambda: fired.append(ch.bufferedAmount))
    ch.send(b"x" * 5000)
    assert ch.bufferedAmount == 5000
    assert net.run(lambda: bool(fired), max_time=30)
    assert fired[0] <= 100
    with pytest.raises(ValueError):
        ch.bufferedAmountLowThreshold = -1


def test_coroutine_handlers_run_on_the_loop() -> None:
    emitter = EventEmitter()
    seen: list[int] = []

    @emitter.on("x")
    async def handler(v: int) -> None:
        await asyncio.sleep(0)
        seen.append(v)

    async def main() -> None:
        emitter.emit("x", 5)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert seen == [5]
    emitter.once("y", lambda: seen.append(1))
    assert emitter.emit("y") and not emitter.emit("y")
    assert seen == [5, 1]
    emitter.remove_all_listeners()
    assert emitter.listeners("x") == []


def test_open_before_ack_and_send_from_the_open_handler() -> None:
    """An in-band channel created on an established association is
    "connecting" when created, fires "open" without waiting for the ACK, and
    what its open handler sends reaches the peer after the peer's
    datachannel event (where the peer's handlers are attached)."""
    ma, mb, net, announced = setup()
    assert net.run(lambda: ma.association.is_established and mb.association.is_established,
                   max_time=30)
    got: list[Any] = []
    order: list[str] = []

    def on_datachannel(channel: RTCDataChannel) -> None:
        order.append("datachannel")
        channel.on("message", got.append)

    net.b.poller = lambda: dispatch(mb, mb.poll(), on_datachannel)
    ch = create_data_channel(ma, "early")
    assert ch.readyState == "connecting"
    acked_at_open: list[bool] = []

    @ch.on("open")
    def on_open() -> None:
        acked_at_open.append(not ch._state._awaiting_ack)
        ch.send("one")
        ch.send(b"two")

    assert net.run(lambda: len(got) == 2, max_time=30)
    assert acked_at_open == [False]
    assert order == ["datachannel"] and got == ["one", b"two"]
    assert mb.no_channel_dropped == 0
