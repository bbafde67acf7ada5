"""mDNS (RFC 6762) for ICE candidates: codec, names, injected resolvers and a
real multicast round trip when the host allows it."""

from __future__ import annotations

import asyncio
import re
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcengine.ice import mdns
from rtcengine.ice.candidate import Candidate
from rtcengine.ice.config import IceConfig
from rtcengine.ice.driver import IceDriver, _MdnsService


def test_query_layout() -> None:
    q = mdns.build_query("abc.local")
    # RFC 6762 §18: ID 0, flags 0, two questions (A, AAAA), class IN.
    assert q[:12] == struct.pack("!HHHHHH", 0, 0, 2, 0, 0, 0)
    assert q[12:23] == b"\x03abc\x05local\x00"
    msg = mdns.parse(q)
    assert not msg.is_response
    assert msg.questions == (
        mdns.Question("abc.local", mdns.TYPE_A),
        mdns.Question("abc.local", mdns.TYPE_AAAA),
    )


@pytest.mark.parametrize("address", ["192.0.2.7", "2001:db8::7"])
def test_response_round_trip(address: str) -> None:
    data = mdns.build_response("x.local", address)
    msg = mdns.parse(data)
    assert msg.is_response and msg.flags & mdns.FLAG_AUTHORITATIVE
    (answer,) = msg.answers
    assert (answer.name, answer.address, answer.ttl) == ("x.local", address, mdns.ADDRESS_TTL)


def test_compressed_names() -> None:
    # An answer whose name is a pointer to the question's name (RFC 1035 §4.1.4).
    header = struct.pack("!HHHHHH", 0, 0x8400, 1, 1, 0, 0)
    question = b"\x03abc\x05local\x00" + struct.pack("!HH", 1, 1)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 0x8001, 120, 4) + bytes([10, 0, 0, 1])
    msg = mdns.parse(header + question + answer)
    assert msg.answers[0].name == "abc.local" and msg.answers[0].address == "10.0.0.1"


BAD = {
    "short header": (b"\x00" * 5, "header too short"),
    "question truncated": (struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 0) + b"\x03ab", "past the end"),
    "pointer loop": (struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 0) + b"\xc0\x0c", "loop"),
    "answer truncated": (
        struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0) + b"\x01a\x00" + b"\x00\x01",
        "answer truncated",
    ),
    "rdata truncated": (
        struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0)
        + b"\x01a\x00"
        + struct.pack("!HHIH", 1, 1, 1, 4)
        + b"\x01",
        "data truncated",
    ),
    "bad label type": (struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 0) + b"\x80", "label type"),
}


@pytest.mark.parametrize("data,message", BAD.values(), ids=BAD.keys())
def test_bad_messages(data: bytes, message: str) -> None:
    with pytest.raises(mdns.ParseError, match=re.escape(message)):
        mdns.parse(data)


@given(st.binary(max_size=300))
def test_fuzz_parse(data: bytes) -> None:
    try:
        mdns.parse(data)
    except mdns.ParseError:
        pass


def test_names_answer_only_their_own_questions() -> None:
    names = mdns.MdnsNames()
    name = names.register("192.0.2.9")
    assert re.fullmatch(r"[0-9a-f-]{36}\.local", name)
    assert names.register("192.0.2.9") == name  # one name per address
    (reply,) = names.handle(mdns.build_query(name))
    assert mdns.parse(reply).answers[0].address == "192.0.2.9"
    assert names.handle(mdns.build_query("other.local")) == []
    assert names.handle(mdns.build_query(name, (mdns.TYPE_AAAA,))) == []
    other = mdns.MdnsNames()
    other.handle(reply)
    assert other.resolved == {name: "192.0.2.9"}


def test_driver_resolves_remote_local_candidate_with_injected_resolver() -> None:
    async def main() -> None:
        asked: list[str] = []

        async def resolver(name: str) -> str | None:
            asked.append(name)
            await asyncio.sleep(0.01)
            return "127.0.0.1" if name == "peer.local" else None

        d = IceDriver(True, IceConfig(include_loopback=True), mdns_resolver=resolver)
        try:
            d.set_remote_credentials("ufrg", "p" * 22)
            d.add_remote_candidate(Candidate.from_sdp("candidate:1 1 udp 5 peer.local 9 typ host"))
            d.add_remote_candidate(Candidate.from_sdp("candidate:2 1 udp 5 gone.local 9 typ host"))
            # end-of-candidates waits for the pending resolutions.
            d.add_remote_candidate(None)
            assert not d.agent._gen.remote_end
            for _ in range(100):
                if d.agent._gen.remote_end:
                    break
                await asyncio.sleep(0.005)
            assert [c.addr for c in d.agent.remote_candidates] == [("127.0.0.1", 9)]
            assert d.agent._gen.remote_end
            assert asked == ["peer.local", "gone.local"]
        finally:
            await d.close()

    asyncio.run(main())


def test_real_multicast_round_trip() -> None:
    async def main() -> None:
        try:
            responder = await _MdnsService.start()
            querier = await _MdnsService.start()
        except OSError as exc:
            pytest.skip(f"cannot join the mDNS group here: {exc}")
        try:
            name = responder.names.register("192.0.2.55")
            try:
                address = await asyncio.wait_for(querier.resolve(name), 2.5)
            except TimeoutError:
                pytest.skip("multicast loopback does not deliver on this host")
            assert address == "192.0.2.55"
        finally:
            responder.close()
            querier.close()

    asyncio.run(main())
