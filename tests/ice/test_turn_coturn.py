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

from rtcengine import udp
from rtcengine._core import stun
from rtcengine.ice.config import IceConfig, IceServer, parse_ice_url
from rtcengine.ice.driver import IceDriver
from rtcengine.ice.relay import RelayError
from rtcengine.ice.turn import Address, TurnState
from rtcengine.ice.turn_transport import TurnClientFactory, TurnRelayClient
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


def test_udp_relay_burst_arrives_through_the_batched_endpoint(coturn: Coturn) -> None:
    """TURN over UDP reads the server socket with recvmmsg (rtcengine.udp):
    bursts relayed by coturn arrive whole, counted by the endpoint."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        got: list[bytes] = []
        done = asyncio.Event()
        burst = 200

        def on_datagram(peer: Address, data: bytes) -> None:
            got.append(data)
            if len(got) == burst:
                done.set()

        client = relay_client(coturn, "udp", on_datagram)
        peer_transport, peer = await loop.create_datagram_endpoint(
            PeerProtocol, local_addr=("127.0.0.1", 0)
        )
        peer_addr: Address = peer_transport.get_extra_info("sockname")[:2]
        try:
            relayed = await client.allocate()
            client.send_to(b"open", peer_addr)  # installs the permission
            await asyncio.wait_for(peer.received.get(), 5)
            # Bursts of 20: coturn itself drops beyond a few dozen in flight.
            for start in range(0, burst, 20):
                for i in range(start, start + 20):
                    peer_transport.sendto(b"burst-%03d" % i, relayed)
                for _ in range(500):
                    if len(got) >= start + 20:
                        break
                    await asyncio.sleep(0.01)
            await asyncio.wait_for(done.wait(), 5)
            assert sorted(got) == [b"burst-%03d" % i for i in range(burst)]
            endpoint = client._endpoint
            assert isinstance(endpoint, udp.BatchDatagramEndpoint)
            stats = endpoint.stats()
            assert stats["datagrams_in"] >= burst
            assert stats["batches_in"] <= stats["datagrams_in"]
            assert stats["datagrams_out"] >= 3  # Allocate x2, CreatePermission/Send
        finally:
            await client.close()
            peer_transport.close()
        assert client._endpoint is None

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


def relay_only_driver(server: Coturn, transport: str, controlling: bool) -> IceDriver:
    """An IceDriver with iceTransportPolicy "relay" whose only ICE server is
    coturn over ``transport``; the relay client is the driver's default
    (TurnClientFactory), verifying TLS against the test CA."""
    config = IceConfig(
        iceServers=[IceServer(server.url(transport), USER, PASSWORD)],
        iceTransportPolicy="relay",
        include_loopback=True,
        interface_filter=lambda name, ip: ip == "127.0.0.1",
    )
    return IceDriver(controlling, config, relay_factory=TurnClientFactory(cafile=server.cafile))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_relay_only_drivers_through_coturn(coturn: Coturn, transport: str) -> None:
    """Two IceDrivers, relay-only (webrtc-pc §4.2.1), connect through coturn
    and exchange application data both ways on a relay/relay pair."""

    async def main() -> None:
        a = relay_only_driver(coturn, transport, controlling=True)
        b = relay_only_driver(coturn, transport, controlling=False)
        inbox: dict[IceDriver, asyncio.Queue[bytes]] = {a: asyncio.Queue(), b: asyncio.Queue()}
        a.on_data = inbox[a].put_nowait
        b.on_data = inbox[b].put_nowait
        # Trickle (RFC 8838) both ways, credentials first.
        a.on_candidate = b.add_remote_candidate
        b.on_candidate = a.add_remote_candidate
        try:
            a.set_remote_credentials(b.local_username, b.local_password)
            b.set_remote_credentials(a.local_username, a.local_password)
            await asyncio.gather(a.gather(), b.gather())
            # Only the relayed candidate is signalled under the relay policy.
            for d in (a, b):
                assert [c.type for c in d.local_candidates] == ["relay"]
            await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 8)
            for me, peer in ((a, b), (b, a)):
                pair = me.selected_pair
                assert pair is not None
                assert pair.local.candidate.type == "relay"
                assert pair.remote.type == "relay"
                client = pair.local.key
                assert isinstance(client, TurnRelayClient)
                assert client.transport == transport
                assert pair.remote_addr == (
                    peer.local_candidates[0].ip,
                    peer.local_candidates[0].port,
                )
                # DTLS-looking datagrams (RFC 7983), a few sizes (ChannelData
                # padding over TCP/TLS).
                for i, size in enumerate((1, 3, 100, 1201)):
                    payload = bytes([23]) + bytes([i]) * size
                    assert me.send(payload)
                    assert await asyncio.wait_for(inbox[peer].get(), 5) == payload
                assert client.turn.stats.dropped_bad_integrity == 0
            stats = a.get_stats()["selectedPair"]
            assert isinstance(stats, dict) and stats["packetsSent"] >= 4
        finally:
            await asyncio.gather(a.close(), b.close())

    run(main, timeout=15)
