"""TURN client against a real coturn server on 127.0.0.1 (UDP, TCP, TLS).

The server is started once per module by :mod:`tests.ice.coturn` (generated
config and self-signed certificate) and stopped at teardown.  Skipped when
``turnserver`` is not installed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from rtcengine._core import stun
from rtcengine.ice.agent import DataEvent, IceAgent, IceState, LocalCandidateEvent, StateEvent
from rtcengine.ice.config import parse_ice_url
from rtcengine.ice.relay import RelayError
from rtcengine.ice.turn import Address, TurnState
from rtcengine.ice.turn_transport import TurnClientFactory, TurnRelayClient, relay_candidate
from tests.ice import coturn as _coturn
from tests.ice.coturn import PASSWORD, SKIP_REASON, TURNSERVER, USER, Coturn

pytestmark = [
    pytest.mark.interop,
    pytest.mark.slow,
    pytest.mark.skipif(TURNSERVER is None, reason=SKIP_REASON),
]

TRANSPORTS = ["udp", "tcp", "tls"]
T = TypeVar("T")


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    directory: Path = tmp_path_factory.mktemp("coturn")
    with _coturn.coturn_server(directory) as server:
        yield server


def run(coro: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    async def main() -> T:
        return await asyncio.wait_for(coro(), timeout)

    return asyncio.run(main())


def relay_client(
    server: Coturn,
    transport: str,
    on_datagram: Callable[[Address, bytes], None] | None = None,
    password: str = PASSWORD,
) -> TurnRelayClient:
    url = parse_ice_url(server.url(transport), USER, password)
    factory = TurnClientFactory(cafile=server.cafile)  # verified TLS, our own CA
    return factory(url, on_datagram or (lambda peer, data: None))


class PeerProtocol(asyncio.DatagramProtocol):
    """A plain UDP peer on 127.0.0.1 that records what it receives."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, Address]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.put_nowait((data, (addr[0], addr[1])))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_allocation(coturn: Coturn, transport: str) -> None:
    async def main() -> None:
        client = relay_client(coturn, transport)
        relayed = await client.allocate()
        try:
            assert relayed[0] == "127.0.0.1"
            assert client.relayed_address == relayed
            assert client.mapped_address is not None
            assert client.mapped_address[0] == "127.0.0.1"
            assert client.transport == transport
            assert client.turn.state.value == "allocated"
            assert client.turn.realm == _coturn.REALM
            assert client.turn.lifetime > 0
        finally:
            await client.close()
        assert client.turn.state is TurnState.CLOSED

    run(main)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_data_round_trip_with_permission_and_channel(coturn: Coturn, transport: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[tuple[Address, bytes]] = asyncio.Queue()
        client = relay_client(coturn, transport, lambda p, d: inbox.put_nowait((p, d)))
        peer_transport, peer = await loop.create_datagram_endpoint(
            PeerProtocol, local_addr=("127.0.0.1", 0)
        )
        peer_addr: Address = peer_transport.get_extra_info("sockname")[:2]
        try:
            relayed = await client.allocate()
            # Client -> peer: CreatePermission, then Send indications, then
            # (after a few packets) ChannelBind and ChannelData.
            for i in range(8):
                client.send_to(b"to-peer-%d" % i, peer_addr)
                data, source = await asyncio.wait_for(peer.received.get(), 5)
                assert data == b"to-peer-%d" % i
                assert source == relayed
                # Peer -> client through the relay.
                peer_transport.sendto(b"to-client-%d" % i, relayed)
                got_peer, got = await asyncio.wait_for(inbox.get(), 5)
                assert got == b"to-client-%d" % i
                assert got_peer == peer_addr
            turn = client.turn
            assert turn.has_permission("127.0.0.1")
            assert turn.channel_for(peer_addr) is not None, "channel was not bound"
            assert turn.stats.indications_sent > 0
            assert turn.stats.channel_data_sent > 0
            assert turn.stats.dropped_bad_integrity == 0
            # Larger and odd-sized payloads (ChannelData padding over TCP/TLS).
            for size in (1, 3, 1000, 1201):
                payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
                client.send_to(payload, peer_addr)
                data, _ = await asyncio.wait_for(peer.received.get(), 5)
                assert data == payload
                peer_transport.sendto(payload[::-1], relayed)
                _, got = await asyncio.wait_for(inbox.get(), 5)
                assert got == payload[::-1]
        finally:
            await client.close()
            peer_transport.close()

    run(main)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_wrong_password_is_refused(coturn: Coturn, transport: str) -> None:
    async def main() -> None:
        client = relay_client(coturn, transport, password="wrong")
        with pytest.raises(RelayError, match="401"):
            await client.allocate()
        await client.close()

    run(main)


def test_tls_with_an_untrusted_certificate_fails(coturn: Coturn) -> None:
    async def main() -> None:
        url = parse_ice_url(coturn.url("tls"), USER, PASSWORD)
        # Default verification against the system CAs: our self-signed cert fails.
        client = TurnClientFactory()(url, lambda p, d: None)
        with pytest.raises(RelayError, match="cannot connect"):
            await client.allocate()
        await client.close()
        # verify=False accepts it (tests only).
        client = TurnClientFactory(verify=False)(url, lambda p, d: None)
        await client.allocate()
        await client.close()

    run(main)


class Redirector(asyncio.DatagramProtocol):
    """Answers every Allocate with 300 Try Alternate to ``target``."""

    def __init__(self, target: Address) -> None:
        self.target = target
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        msg = stun.Message.parse(data)
        reply = stun.Message(
            msg.message_method,
            stun.ERROR_RESPONSE,
            msg.transaction_id,
            [
                (stun.ATTR_ERROR_CODE, (300, "Try Alternate")),
                (stun.ATTR_ALTERNATE_SERVER, self.target),
            ],
        )
        self.transport.sendto(reply.marshal(), addr)


def test_try_alternate_is_followed_once(coturn: Coturn) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: Redirector((coturn.host, coturn.port)), local_addr=("127.0.0.1", 0)
        )
        port = transport.get_extra_info("sockname")[1]
        try:
            url = parse_ice_url(f"turn:127.0.0.1:{port}", USER, PASSWORD)
            client = TurnClientFactory()(url, lambda p, d: None)
            await client.allocate()
            assert client.server == (coturn.host, coturn.port)
            await client.close()
            # A redirect to another redirector is not followed (RFC 8489 §10).
            transport2, _ = await loop.create_datagram_endpoint(
                lambda: Redirector(("127.0.0.1", port)), local_addr=("127.0.0.1", 0)
            )
            port2 = transport2.get_extra_info("sockname")[1]
            client = TurnClientFactory()(
                parse_ice_url(f"turn:127.0.0.1:{port2}", USER, PASSWORD), lambda p, d: None
            )
            with pytest.raises(RelayError, match="300"):
                await client.allocate()
            await client.close()
            transport2.close()
        finally:
            transport.close()

    run(main)


class RelayOnlyPeer:
    """One IceAgent (iceTransportPolicy "relay") with one TURN allocation,
    glued by hand the way the ICE driver does it (relay.py steps 3 and 4):
    agent transmits go through the client (permission first), relayed data
    goes back to the agent as received on the relay candidate's key."""

    def __init__(self, server: Coturn, transport: str, controlling: bool) -> None:
        self.agent = IceAgent(controlling, transport_policy="relay")
        self.client = relay_client(server, transport, self._on_datagram)
        self.loop = asyncio.get_running_loop()
        self.timer: asyncio.TimerHandle | None = None
        self.other: RelayOnlyPeer | None = None
        self.permitted: set[Address] = set()
        self.received: asyncio.Queue[bytes] = asyncio.Queue()
        self.connected = asyncio.Event()

    async def start(self) -> None:
        await self.client.allocate()
        self.agent.start_gathering()
        # A host candidate is refused under the relay policy (webrtc-pc §4.2.1).
        assert self.agent.add_local_candidate(relay_candidate(self.client), self.client)
        self.agent.local_candidates_done()

    def _on_datagram(self, peer: Address, data: bytes) -> None:
        self.agent.handle_datagram(self.client, peer, data, self.loop.time())
        self.pump()

    def _on_timer(self) -> None:
        self.timer = None
        self.agent.handle_timeout(self.loop.time())
        self.pump()

    def pump(self) -> None:
        while (t := self.agent.poll_transmit()) is not None:
            assert t.key is self.client  # only relay candidates exist
            if t.addr not in self.permitted:
                self.permitted.add(t.addr)
                self.client.add_permission(t.addr)
            self.client.send_to(t.data, t.addr)
        while (e := self.agent.poll_event()) is not None:
            if isinstance(e, LocalCandidateEvent):
                assert self.other is not None
                if e.candidate is not None:
                    assert e.candidate.type == "relay"
                self.other.agent.add_remote_candidate(e.candidate)
                self.other.pump()
            elif isinstance(e, StateEvent) and e.state in (
                IceState.CONNECTED,
                IceState.COMPLETED,
            ):
                self.connected.set()
            elif isinstance(e, DataEvent):
                self.received.put_nowait(e.data)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        deadline = self.agent.next_deadline()
        if deadline is not None:
            self.timer = self.loop.call_at(deadline, self._on_timer)

    async def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.agent.close()
        await self.client.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_relay_only_ice_agents_through_coturn(coturn: Coturn, transport: str) -> None:
    # The ICE driver (rtcengine/ice/driver.py) is not in the tree yet: the
    # sans-IO agents are glued to the TURN clients by RelayOnlyPeer above.
    async def main() -> None:
        a = RelayOnlyPeer(coturn, transport, controlling=True)
        b = RelayOnlyPeer(coturn, transport, controlling=False)
        a.other, b.other = b, a
        try:
            await asyncio.gather(a.start(), b.start())
            a.agent.set_remote_credentials(b.agent.local_username, b.agent.local_password)
            b.agent.set_remote_credentials(a.agent.local_username, a.agent.local_password)
            a.pump()
            b.pump()
            await asyncio.wait_for(asyncio.gather(a.connected.wait(), b.connected.wait()), 8)
            for me, peer in ((a, b), (b, a)):
                pair = me.agent.send_pair()
                assert pair is not None
                assert pair.local.candidate.type == "relay"
                assert pair.remote_addr == peer.client.relayed_address
                me.client.send_to(b"\x80app-data", pair.remote_addr)
                assert await asyncio.wait_for(peer.received.get(), 5) == b"\x80app-data"
            assert a.client.turn.stats.dropped_bad_integrity == 0
        finally:
            await asyncio.gather(a.close(), b.close())

    run(main, timeout=15)
