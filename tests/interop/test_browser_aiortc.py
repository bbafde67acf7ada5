"""A Python WebRTC engine against headless Chromium: data channels, both offer directions.

The Python engine is the ``peer`` fixture's parameter: aiortc today (an independent engine, so
these tests prove the browser harness), rtcengine by adding its name there once its
RTCPeerConnection lands (see ``peers.load_peer``).  One Chromium per module, a new
RTCPeerConnection on both sides per test."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.interop.browser import Browser, PageError, chromium_missing
from tests.interop.peers import Peer, PythonSide, load_peer, negotiate, open_channel

pytestmark = [
    pytest.mark.interop,
    pytest.mark.slow,
    pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing())),
]

Run = Callable[..., Any]
MAX_MESSAGE = 65536  # aiortc's a=max-message-size; Chromium accepts 262144
# Bulk transfer size per Python engine, in MiB, each way and each offer direction.  aiortc
# moves ~3 MB/s on a loaded 2-core box, so 4 MiB keeps the module under a minute; the issue's
# 10 MB is for rtcengine.  RTCENGINE_INTEROP_BULK_MB overrides.
BULK_MIB = {"aiortc": 4, "rtcengine": 10}


# Add "rtcengine" here when its RTCPeerConnection lands (and a branch in peers.load_peer).
@pytest.fixture(params=["aiortc", "rtcengine"])
def peer(request: pytest.FixtureRequest) -> Peer:
    name: str = request.param
    pytest.importorskip(name)
    return load_peer(name)


@pytest.fixture(params=["python", "browser"])
def offerer(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def python(peer: Peer, browser: Browser, run: Run) -> Iterator[PythonSide]:
    """A fresh RTCPeerConnection on both sides; both closed after the test."""

    async def setup() -> PythonSide:
        await browser.create_pc()
        return PythonSide(peer)

    side: PythonSide = run(setup)
    try:
        yield side
    finally:

        async def teardown() -> None:
            await side.close()
            await browser.close_pc()

        run(teardown)


def test_open_and_connected(browser: Browser, python: PythonSide, offerer: str, run: Run) -> None:
    async def main() -> None:
        await open_channel(browser, python, offerer)
        assert await browser.wait_connection_state("connected") == "connected"
        assert python.pc.connectionState == "connected"
        info = await browser.channel_info("chat")
        assert info["readyState"] == "open"
        assert info["ordered"] is True
        assert python.channels["chat"].channel.id == info["id"]

    run(main)


MESSAGES: list[str | bytes] = [
    "hello",
    "",
    "ünïcødé ✓ 🙂",
    b"",
    b"\x00\x01\x02\xff",
    os.urandom(MAX_MESSAGE),
    "x" * MAX_MESSAGE,
]


def test_messages_both_ways(browser: Browser, python: PythonSide, offerer: str, run: Run) -> None:
    """Text and binary, empty and max-size, each way; types are kept (str vs bytes)."""

    async def main() -> None:
        channel = await open_channel(browser, python, offerer)
        for message in MESSAGES:
            await browser.send("chat", message)
        for message in MESSAGES:
            got = await channel.next()
            assert type(got) is type(message) and got == message, f"browser->python {message!r:.40}"
        for message in MESSAGES:
            channel.send(message)
        for message in MESSAGES:
            got = await browser.next_message("chat")
            assert type(got) is type(message) and got == message, f"python->browser {message!r:.40}"

    run(main)


def test_browser_echo(browser: Browser, python: PythonSide, offerer: str, run: Run) -> None:
    async def main() -> None:
        channel = await open_channel(browser, python, offerer)
        await browser.echo("chat")
        for message in MESSAGES:
            channel.send(message)
            assert await channel.next() == message

    run(main)


RELIABILITY: dict[str, dict[str, Any]] = {
    "ordered": {"ordered": True},
    "unordered": {"ordered": False},
    "unordered-unreliable": {"ordered": False, "maxRetransmits": 0},
}


@pytest.mark.parametrize("kind", list(RELIABILITY))
def test_ordered_and_unordered(
    browser: Browser, python: PythonSide, offerer: str, kind: str, run: Run
) -> None:
    """The channel's reliability reaches the other side (DCEP) and messages arrive: in order
    for ordered; all of them (any order) for unordered; nearly all for maxRetransmits=0 on
    loopback."""
    options = RELIABILITY[kind]
    count = 200

    async def main() -> None:
        channel = await open_channel(browser, python, offerer, "rel", options)
        info = await browser.channel_info("rel")
        assert info["ordered"] is options["ordered"]
        assert info["maxRetransmits"] == options.get("maxRetransmits")
        assert channel.channel.ordered is options["ordered"]
        assert channel.channel.maxRetransmits == options.get("maxRetransmits")

        sent = [f"{i:04d}" + "." * (i % 50) for i in range(count)]
        for message in sent:
            channel.send(message)
        got_in_browser = await browser.next_messages("rel", count, timeout=3.0)
        await browser.send_many("rel", sent)
        got_in_python = await _drain_python(channel.messages, count)

        for got in (got_in_browser, got_in_python):
            if kind == "ordered":
                assert got == sent
            elif kind == "unordered":
                assert sorted(got) == sorted(sent)
            else:
                assert set(got) <= set(sent) and len(got) >= count * 0.9, len(got)

    run(main)


async def _drain_python(queue: asyncio.Queue[str | bytes], count: int) -> list[str | bytes]:
    got: list[str | bytes] = []
    try:
        while len(got) < count:
            got.append(await asyncio.wait_for(queue.get(), 3.0))
    except TimeoutError:
        pass  # unreliable channel: what arrived is the result
    return got


@pytest.mark.parametrize("closer", ["python", "browser"])
def test_close_channel(
    browser: Browser, python: PythonSide, offerer: str, closer: str, run: Run
) -> None:
    """Closing a channel on one side closes it on the other; another channel lives on."""

    async def main() -> None:
        channel = await open_channel(browser, python, offerer, "doomed")
        if offerer == "browser":
            await browser.create_data_channel("survivor")
        else:
            python.create_data_channel("survivor")
        survivor = await python.channel("survivor")
        await survivor.wait_open()
        await browser.wait_channel_open("survivor")

        if closer == "python":
            channel.channel.close()
            await browser.wait_channel_closed("doomed")
            await channel.wait_closed()
        else:
            await browser.close_channel("doomed")
            await channel.wait_closed()
            await browser.wait_channel_closed("doomed")
        assert channel.channel.readyState == "closed"

        survivor.send("still here")
        assert await browser.next_message("survivor") == "still here"
        await browser.send("survivor", b"me too")
        assert await survivor.next() == b"me too"

    run(main)


@pytest.mark.parametrize("closer", ["python", "browser"])
def test_close_peer_connection(
    browser: Browser, python: PythonSide, offerer: str, closer: str, run: Run
) -> None:
    """Closing the whole connection on one side closes the other side's channels."""

    async def main() -> None:
        channel = await open_channel(browser, python, offerer)
        if closer == "python":
            await python.close()
            await browser.wait_channel_closed("chat")
        else:
            await browser.close_pc()
            await channel.wait_closed()
            assert await browser.connection_state() == "closed"

    run(main)


def test_bulk_transfer_both_ways(
    browser: Browser, python: PythonSide, offerer: str, run: Run
) -> None:
    """Megabytes each way in 64 KiB messages (see BULK_MIB), checked by SHA-256 on both ends (the page hashes
    with crypto.subtle; the bytes never cross the DevTools Protocol)."""

    nbytes = int(os.environ.get("RTCENGINE_INTEROP_BULK_MB", BULK_MIB[python.peer.name])) << 20

    async def main() -> None:
        channel = await open_channel(browser, python, offerer, "bulk")

        receiving = asyncio.ensure_future(channel.receive_bulk(nbytes))
        sent = await browser.send_bulk("bulk", nbytes, MAX_MESSAGE)
        assert await receiving == sent.sha256
        assert sent.nbytes == nbytes

        data = os.urandom(nbytes)
        await browser.expect_bulk("bulk", nbytes)
        chunks = [data[i : i + MAX_MESSAGE] for i in range(0, nbytes, MAX_MESSAGE)]
        await channel.send_flow_controlled(chunks)
        result = await browser.bulk_result("bulk")
        assert result.nbytes == nbytes
        assert result.messages == len(chunks)
        assert result.sha256 == hashlib.sha256(data).hexdigest()

    run(main, timeout=60)


def test_message_rate(
    browser: Browser, python: PythonSide, offerer: str, run: Run, record_property: Any
) -> None:
    """100-byte messages, reliable ordered, both ways: every one arrives; rates recorded."""
    count = 1000

    async def main() -> None:
        channel = await open_channel(browser, python, offerer, "rate")
        await browser.start_counting("rate")
        await channel.send_flow_controlled([b"m" * 100] * count)
        to_browser = await browser.counted("rate", count)
        assert (to_browser.messages, to_browser.nbytes) == (count, 100 * count)

        loop = asyncio.get_running_loop()
        start = loop.time()
        await browser.send_burst("rate", count, 100)
        for _ in range(count):
            assert await channel.next() == bytes(100)
        to_python = count / (loop.time() - start)
        record_property("python_to_browser_msgs_per_s", round(to_browser.rate))
        record_property("browser_to_python_msgs_per_s", round(to_python))

    run(main)


def test_trickle(browser: Browser, python: PythonSide, offerer: str, run: Run) -> None:
    """The browser's SDP goes out without candidates; they follow through addIceCandidate."""

    async def main() -> None:
        if offerer == "browser":
            await browser.create_data_channel("chat")
        else:
            python.create_data_channel("chat")
        negotiated = await negotiate(browser, python, offerer, trickle=True)
        assert negotiated.trickled >= 1
        assert "a=candidate:" not in negotiated.browser_sdp
        channel = await python.channel("chat")
        await channel.wait_open()
        await browser.wait_channel_open("chat")
        await browser.send("chat", "trickled")
        assert await channel.next() == "trickled"

    run(main)


def test_renegotiation_adds_channel(
    browser: Browser, python: PythonSide, offerer: str, run: Run
) -> None:
    """After a first channel is up, a second offer/answer round (from the same side) and a
    new channel; both channels work and signaling is back to stable."""

    async def main() -> None:
        first = await open_channel(browser, python, offerer, "first")
        if offerer == "browser":
            await browser.create_data_channel("second")
        else:
            python.create_data_channel("second")
        try:
            await negotiate(browser, python, offerer)
        except (PageError, ValueError) as exc:  # pragma: no cover - depends on the engine
            pytest.skip(f"{python.peer.name} cannot renegotiate a data-only session: {exc}")
        assert await browser.signaling_state() == "stable"
        assert python.pc.signalingState == "stable"
        second = await python.channel("second")
        await second.wait_open()
        await browser.wait_channel_open("second")
        for label, channel in (("first", first), ("second", second)):
            channel.send(f"to browser on {label}")
            assert await browser.next_message(label) == f"to browser on {label}"
            await browser.send(label, f"to python on {label}")
            assert await channel.next() == f"to python on {label}"

    run(main)


def test_stats(browser: Browser, python: PythonSide, offerer: str, run: Run) -> None:
    """The browser's getStats() sees the connection and its moving data-channel counters."""

    async def main() -> None:
        channel = await open_channel(browser, python, offerer)
        for i in range(5):
            channel.send(f"ping {i}")
            await browser.send("chat", f"pong {i}")
        for i in range(5):
            assert await browser.next_message("chat") == f"ping {i}"
            assert await channel.next() == f"pong {i}"
        stats = await browser.get_stats()
        by_type: dict[str, list[dict[str, Any]]] = {}
        for entry in stats:
            by_type.setdefault(entry["type"], []).append(entry)
        for kind in (
            "peer-connection",
            "transport",
            "candidate-pair",
            "local-candidate",
            "remote-candidate",
            "certificate",
            "data-channel",
        ):
            assert kind in by_type, f"no {kind} in {sorted(by_type)}"
        (dc,) = [s for s in by_type["data-channel"] if s["label"] == "chat"]
        assert dc["messagesSent"] == 5 and dc["messagesReceived"] == 5
        assert by_type["peer-connection"][0]["dataChannelsOpened"] >= 1
        (transport,) = by_type["transport"]
        assert transport["dtlsState"] == "connected"
        assert transport["bytesSent"] > 0 and transport["bytesReceived"] > 0

    run(main)
