"""Two rtcengine ICE drivers on loopback with real sockets (host candidates)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from rtcengine.ice.agent import GatheringState, IceState
from rtcengine.ice.candidate import Candidate
from rtcengine.ice.config import IceConfig, IceServer
from rtcengine.ice.driver import IceDriver, host_addresses


def loopback_config(**kwargs: object) -> IceConfig:
    cfg = IceConfig(
        include_loopback=True,
        interface_filter=lambda name, ip: ip == "127.0.0.1",
    )
    for k, v in kwargs.items():
        setattr(cfg, k, v)
    return cfg


def wire(a: IceDriver, b: IceDriver) -> None:
    """Trickle candidates both ways as they are found."""
    a.on_candidate = b.add_remote_candidate
    b.on_candidate = a.add_remote_candidate


async def connect_pair(a: IceDriver, b: IceDriver, trickle: bool = True) -> None:
    a.set_remote_credentials(b.local_username, b.local_password)
    b.set_remote_credentials(a.local_username, a.local_password)
    if trickle:
        wire(a, b)
        await asyncio.gather(a.gather(), b.gather())
    else:
        await asyncio.gather(a.gather(), b.gather())
        for src, dst in ((a, b), (b, a)):
            for c in src.local_candidates:
                dst.add_remote_candidate(c)
            dst.add_remote_candidate(None)
    await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 5)


def test_host_addresses_filters() -> None:
    everything = host_addresses(IceConfig(include_loopback=True))
    assert "127.0.0.1" in everything
    assert "127.0.0.1" not in host_addresses(IceConfig())
    assert all(":" not in ip for ip in host_addresses(IceConfig(use_ipv6=False)))
    assert all(":" in ip for ip in host_addresses(IceConfig(use_ipv4=False, include_loopback=True)))


@pytest.mark.parametrize("trickle", [True, False], ids=["trickle", "full-gather"])
def test_two_drivers_connect_and_exchange_data(trickle: bool) -> None:
    async def main() -> None:
        a = IceDriver(True, loopback_config())
        b = IceDriver(False, loopback_config())
        got_a: list[bytes] = []
        got_b: list[bytes] = []
        a.on_data = got_a.append
        b.on_data = got_b.append
        states: list[IceState] = []
        a.on_state_change = states.append
        try:
            await connect_pair(a, b, trickle)
            assert a.gathering_state is GatheringState.COMPLETE
            assert [c.type for c in a.local_candidates] == ["host"]
            # DTLS-looking datagrams (first byte 20..63, RFC 7983).
            for i in range(20):
                assert a.send(bytes([22, i]) + b"x" * 100)
                assert b.send(bytes([23, i]) + b"y" * 50)
            for _ in range(100):
                if len(got_a) == 20 and len(got_b) == 20:
                    break
                await asyncio.sleep(0.01)
            assert [d[1] for d in got_b] == list(range(20))
            assert [d[1] for d in got_a] == list(range(20))
            stats = a.get_stats()
            sel = stats["selectedPair"]
            assert isinstance(sel, dict) and sel["bytesSent"] == 20 * 102
            assert sel["bytesReceived"] == 20 * 52
            assert IceState.CHECKING in states
        finally:
            await a.close()
            await b.close()
        assert a.state is IceState.CLOSED
        assert not a.send(b"\x17late")

    asyncio.run(main())


def test_restart_on_real_sockets() -> None:
    async def main() -> None:
        a = IceDriver(True, loopback_config())
        b = IceDriver(False, loopback_config())
        try:
            await connect_pair(a, b, trickle=False)
            old = a.selected_pair
            got: list[bytes] = []
            b.on_data = got.append
            a.restart()
            b.restart()
            assert a.selected_pair is old
            assert a.send(b"\x17during restart")
            new_local = [c for c in a.local_candidates[-1:]]
            assert new_local
            a.set_remote_credentials(b.local_username, b.local_password)
            b.set_remote_credentials(a.local_username, a.local_password)
            host_a = Candidate.from_sdp(a.local_candidates[0].to_sdp())
            host_b = Candidate.from_sdp(b.local_candidates[0].to_sdp())
            a.add_remote_candidate(host_b)
            b.add_remote_candidate(host_a)
            a.add_remote_candidate(None)
            b.add_remote_candidate(None)
            for _ in range(200):
                if a.selected_pair is not old and a.agent.generation == 1:
                    if a.agent._previous is None:
                        break
                await asyncio.sleep(0.01)
            assert a.selected_pair is not old
            assert a.send(b"\x17after restart")
            for _ in range(100):
                if len(got) == 2:
                    break
                await asyncio.sleep(0.01)
            assert got == [b"\x17during restart", b"\x17after restart"]
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())


def test_srflx_from_every_stun_server() -> None:
    """Two local STUN servers (rtcengine agents are not servers: a tiny responder)."""
    from rtcengine._core import stun

    class Responder(asyncio.DatagramProtocol):
        def __init__(self, mapped: tuple[str, int]) -> None:
            self.mapped = mapped
            self.count = 0
            self.transport: asyncio.DatagramTransport | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.count += 1
            req = stun.Message.parse(data)
            resp = stun.Message(
                stun.BINDING,
                stun.SUCCESS_RESPONSE,
                req.transaction_id,
                [(stun.ATTR_XOR_MAPPED_ADDRESS, self.mapped)],
            )
            assert self.transport is not None
            self.transport.sendto(resp.marshal(fingerprint=True), addr)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers = []
        for mapped in (("198.51.100.1", 1111), ("198.51.100.2", 2222)):
            transport, proto = await loop.create_datagram_endpoint(
                lambda m=mapped: Responder(m),
                local_addr=("127.0.0.1", 0),  # type: ignore[misc]
            )
            servers.append((transport, proto))
        urls = [f"stun:127.0.0.1:{t.get_extra_info('sockname')[1]}" for t, _ in servers]
        cfg = loopback_config(iceServers=[IceServer(urls=urls[0]), IceServer(urls=[urls[1]])])
        a = IceDriver(True, cfg)
        seen: list[Candidate | None] = []
        a.on_candidate = seen.append
        try:
            await asyncio.wait_for(a.gather(), 5)
        finally:
            await a.close()
            for t, _ in servers:
                t.close()
        types = [(c.type, c.ip) if c else None for c in seen]
        assert types == [
            ("host", "127.0.0.1"),
            ("srflx", "198.51.100.1"),
            ("srflx", "198.51.100.2"),
            None,
        ]

    asyncio.run(main())


def test_relay_policy_without_turn_server_gathers_nothing() -> None:
    async def main() -> None:
        a = IceDriver(True, loopback_config(iceTransportPolicy="relay"))
        try:
            await asyncio.wait_for(a.gather(), 2)
            assert a.local_candidates == []
        finally:
            await a.close()

    asyncio.run(main())


def test_mdns_hidden_host_candidates_resolved_by_injected_resolver() -> None:
    async def main() -> None:
        names: dict[str, str] = {}

        async def resolver(name: str) -> str | None:
            return names.get(name)

        a = IceDriver(True, loopback_config(mdns_hide_host=True), mdns_resolver=resolver)
        b = IceDriver(False, loopback_config(), mdns_resolver=resolver)
        try:
            await a.gather()
            host = a.local_candidates[0]
            assert host.ip.endswith(".local") and host.is_mdns
            assert a._mdns is not None
            names[host.ip] = a._mdns.names.own(host.ip) or ""
            await connect_pair(a, b, trickle=False)
            sel = b.selected_pair
            assert sel is not None and sel.remote_addr[0] == "127.0.0.1"
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())


class FakeRelay:
    """A RelayClient whose "allocation" is a UDP socket of its own on
    127.0.0.1: what the peer sends to the relayed address comes back through
    ``on_datagram``; ``send_to`` leaves from it."""

    def __init__(self, url: object, on_datagram: Callable[[tuple[str, int], bytes], None]) -> None:
        self.on_datagram = on_datagram
        self.permissions: list[tuple[str, int]] = []
        self.sent = 0
        self._transport: asyncio.DatagramTransport | None = None
        self._relayed: tuple[str, int] | None = None
        self.closed = False

    @property
    def relayed_address(self) -> tuple[str, int] | None:
        return self._relayed

    @property
    def mapped_address(self) -> tuple[str, int] | None:
        return ("198.51.100.9", 4444)

    @property
    def transport(self) -> str:
        return "udp"

    async def allocate(self) -> tuple[str, int]:
        relay = self

        class Proto(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                relay.on_datagram((addr[0], addr[1]), data)

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(Proto, local_addr=("127.0.0.1", 0))
        self._transport = transport
        self._relayed = transport.get_extra_info("sockname")[:2]
        assert self._relayed is not None
        return self._relayed

    def add_permission(self, peer: tuple[str, int]) -> None:
        self.permissions.append(peer)

    def send_to(self, data: bytes, peer: tuple[str, int]) -> None:
        assert peer in self.permissions, "permission before the first send"
        self.sent += 1
        assert self._transport is not None
        self._transport.sendto(data, peer)

    async def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()


def test_relay_only_through_relay_clients() -> None:
    async def main() -> None:
        made: list[FakeRelay] = []

        def factory(
            url: object, on_datagram: Callable[[tuple[str, int], bytes], None]
        ) -> FakeRelay:
            made.append(FakeRelay(url, on_datagram))
            return made[-1]

        cfg = loopback_config(
            iceTransportPolicy="relay",
            iceServers=[IceServer(urls="turn:127.0.0.1:3478", username="u", credential="p")],
        )
        a = IceDriver(True, cfg, relay_factory=factory)
        b = IceDriver(False, cfg, relay_factory=factory)
        got: list[bytes] = []
        b.on_data = got.append
        try:
            await connect_pair(a, b, trickle=False)
            assert [c.type for c in a.local_candidates] == ["relay"]
            assert a.local_candidates[0].relatedAddress == "198.51.100.9"
            sel = a.selected_pair
            assert sel is not None and sel.local.candidate.type == "relay"
            assert sel.remote.type == "relay"
            assert a.send(b"\x17via relay")
            for _ in range(100):
                if got:
                    break
                await asyncio.sleep(0.005)
            assert got == [b"\x17via relay"]
            assert made[0].permissions and made[0].sent >= 2
        finally:
            await a.close()
            await b.close()
        assert all(r.closed for r in made)

    asyncio.run(main())
