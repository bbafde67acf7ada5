"""The asyncio driver of the TURN client without a real TURN server: a
scripted UDP server on 127.0.0.1, refused connections, the relay candidate."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from rtcengine._core import stun
from rtcengine.ice.candidate import candidate_priority
from rtcengine.ice.config import parse_ice_url
from rtcengine.ice.relay import RelayClient, RelayError
from rtcengine.ice.turn_transport import TurnClientFactory, TurnRelayClient, relay_candidate

T = TypeVar("T")
USER, PASSWORD, REALM = "u", "p", "realm"
KEY = stun.long_term_key(USER, REALM, PASSWORD)
RELAYED = ("192.0.2.50", 50000)
MAPPED = ("127.0.0.1", 40000)


def run(coro: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    async def main() -> T:
        return await asyncio.wait_for(coro(), timeout)

    return asyncio.run(main())


def closed_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ScriptedServer(asyncio.DatagramProtocol):
    """Answers Allocate with 401 then success, Refresh with success."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.requests: list[stun.Message] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        msg = stun.Message.parse(data)
        self.requests.append(msg)
        assert self.transport is not None
        if msg.message_method == stun.ALLOCATE and stun.ATTR_USERNAME not in msg:
            reply = stun.Message(
                stun.ALLOCATE,
                stun.ERROR_RESPONSE,
                msg.transaction_id,
                [
                    (stun.ATTR_ERROR_CODE, (401, "Unauthorized")),
                    (stun.ATTR_REALM, REALM),
                    (stun.ATTR_NONCE, b"n"),
                ],
            ).marshal()
        else:
            assert msg.check_integrity(KEY)
            attrs: list[tuple[int | str, Any]] = [(stun.ATTR_LIFETIME, 600)]
            if msg.message_method == stun.ALLOCATE:
                attrs += [
                    (stun.ATTR_XOR_RELAYED_ADDRESS, RELAYED),
                    (stun.ATTR_XOR_MAPPED_ADDRESS, MAPPED),
                ]
            reply = stun.Message(
                msg.message_method, stun.SUCCESS_RESPONSE, msg.transaction_id, attrs
            ).marshal(integrity_key=KEY)
        self.transport.sendto(reply, addr)


def test_allocate_and_close_against_a_scripted_udp_server() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, server = await loop.create_datagram_endpoint(
            ScriptedServer, local_addr=("127.0.0.1", 0)
        )
        port = transport.get_extra_info("sockname")[1]
        try:
            url = parse_ice_url(f"turn:127.0.0.1:{port}", USER, PASSWORD)
            client: RelayClient = TurnClientFactory()(url, lambda p, d: None)
            assert await client.allocate() == RELAYED
            assert client.mapped_address == MAPPED
            assert client.transport == "udp"
            await client.close()
            methods = [m.message_method for m in server.requests]
            assert methods == [stun.ALLOCATE, stun.ALLOCATE, stun.REFRESH]
            assert server.requests[-1].get(stun.ATTR_LIFETIME) == 0
        finally:
            transport.close()

    run(main)


def test_relay_candidate() -> None:
    url = parse_ice_url("turn:127.0.0.1:3478?transport=tcp", USER, PASSWORD)
    client = TurnRelayClient(url, lambda p, d: None)
    with pytest.raises(ValueError, match="allocated"):
        relay_candidate(client)
    client.turn.relayed_address = RELAYED
    client.turn.mapped_address = MAPPED
    cand = relay_candidate(client, component=1)
    assert (cand.type, cand.protocol, cand.ip, cand.port) == ("relay", "udp", *RELAYED)
    assert (cand.relatedAddress, cand.relatedPort) == MAPPED
    # RFC 8445 §5.1.2.2: type preference 0 for relayed candidates.
    assert cand.priority >> 24 == 0
    assert cand.priority == candidate_priority(1, "relay", 49151)
    udp = TurnRelayClient(parse_ice_url("turn:127.0.0.1", USER, PASSWORD), lambda p, d: None)
    udp.turn.relayed_address = RELAYED
    assert relay_candidate(udp).priority > cand.priority  # UDP to the server first


def test_udp_port_unreachable_fails_fast() -> None:
    async def main() -> None:
        url = parse_ice_url(f"turn:127.0.0.1:{closed_port(socket.SOCK_DGRAM)}", USER, PASSWORD)
        client = TurnRelayClient(url, lambda p, d: None)
        with pytest.raises(RelayError, match="unreachable"):
            await client.allocate()
        await client.close()

    run(main, timeout=5)


@pytest.mark.parametrize("scheme", ["turn", "turns"])
def test_tcp_connection_refused(scheme: str) -> None:
    async def main() -> None:
        port = closed_port(socket.SOCK_STREAM)
        url = parse_ice_url(f"{scheme}:127.0.0.1:{port}?transport=tcp", USER, PASSWORD)
        client = TurnRelayClient(url, lambda p, d: None)
        with pytest.raises(RelayError, match="cannot connect"):
            await client.allocate()
        await client.close()

    run(main, timeout=5)


def test_missing_credentials() -> None:
    async def main() -> None:
        client = TurnRelayClient(parse_ice_url("turn:127.0.0.1"), lambda p, d: None)
        with pytest.raises(RelayError, match="username and credential"):
            await client.allocate()
        await client.close()

    run(main)


def test_stun_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not a TURN URL"):
        TurnRelayClient(parse_ice_url("stun:127.0.0.1"), lambda p, d: None)
