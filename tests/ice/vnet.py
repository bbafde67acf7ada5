"""An in-memory network in virtual time for sans-IO ICE agents.

Each agent socket is keyed by its local address ``(ip, port)``.  Datagrams take
``latency`` seconds; ``drop(src, dst, data)`` can lose them; ``nat`` maps a
private source address to the public one the far side sees (a 1:1,
endpoint-independent NAT), so peer-reflexive candidates appear.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from rtcengine._core import stun
from rtcengine.ice.agent import (
    DataEvent,
    Event,
    IceAgent,
    IceState,
    LocalCandidateEvent,
    SelectedPairEvent,
    StateEvent,
)
from rtcengine.ice.candidate import Candidate, candidate_foundation, candidate_priority

Address = tuple[str, int]


def host(ip: str, port: int, local_pref: int = 65535, component: int = 1) -> Candidate:
    return Candidate(
        component=component,
        foundation=candidate_foundation("host", "udp", ip),
        ip=ip,
        port=port,
        priority=candidate_priority(component, "host", local_pref),
        protocol="udp",
        type="host",
    )


def relay(ip: str, port: int, raddr: Address) -> Candidate:
    return Candidate(
        component=1,
        foundation=candidate_foundation("relay", "udp", ip, ip),
        ip=ip,
        port=port,
        priority=candidate_priority(1, "relay", 65535),
        protocol="udp",
        type="relay",
        relatedAddress=raddr[0],
        relatedPort=raddr[1],
    )


@dataclass
class Peer:
    name: str
    agent: IceAgent
    events: list[Event] = field(default_factory=list)
    data: list[bytes] = field(default_factory=list)
    states: list[IceState] = field(default_factory=list)
    candidates: list[Candidate | None] = field(default_factory=list)
    selected: list[SelectedPairEvent] = field(default_factory=list)


class StunServer:
    """A STUN server at ``addr`` answering Binding with XOR-MAPPED-ADDRESS."""

    def __init__(self, addr: Address, mapped: Address | None = None) -> None:
        self.addr = addr
        # Report this address instead of the source (a NAT with per-destination mapping).
        self.mapped = mapped
        self.requests = 0


class VNet:
    def __init__(self, latency: float = 0.001) -> None:
        self.now = 0.0
        self.latency = latency
        self.peers: list[Peer] = []
        self.routes: dict[Address, Peer | StunServer] = {}
        self.nat: dict[Address, Address] = {}
        self.drop: Callable[[Address, Address, bytes], bool] | None = None
        self._queue: list[tuple[float, int, Address, Address, bytes]] = []
        self._seq = 0
        self.delivered = 0

    def add(self, name: str, agent: IceAgent, addrs: list[Address] | None = None) -> Peer:
        peer = Peer(name, agent)
        self.peers.append(peer)
        for i, addr in enumerate(addrs or []):
            self.attach(peer, addr)
            agent.add_local_candidate(host(addr[0], addr[1], 65535 - i), addr)
        self.pump()
        return peer

    def attach(self, peer: Peer, addr: Address) -> None:
        self.routes[addr] = peer

    def add_stun_server(self, addr: Address, mapped: Address | None = None) -> StunServer:
        server = StunServer(addr, mapped)
        self.routes[addr] = server
        return server

    def _public(self, addr: Address) -> Address:
        return self.nat.get(addr, addr)

    def _private(self, addr: Address) -> Address:
        for private, public in self.nat.items():
            if public == addr:
                return private
        return addr

    def pump(self) -> None:
        """Move every pending transmit into the network and collect events."""
        for peer in self.peers:
            agent = peer.agent
            while (t := agent.poll_transmit()) is not None:
                src = t.key
                assert isinstance(src, tuple)
                self.send(src, t.addr, t.data)
            while (ev := agent.poll_event()) is not None:
                peer.events.append(ev)
                if isinstance(ev, StateEvent):
                    peer.states.append(ev.state)
                elif isinstance(ev, LocalCandidateEvent):
                    peer.candidates.append(ev.candidate)
                elif isinstance(ev, SelectedPairEvent):
                    peer.selected.append(ev)
                elif isinstance(ev, DataEvent):
                    peer.data.append(ev.data)

    def send(self, src: Address, dst: Address, data: bytes) -> None:
        self._seq += 1
        heapq.heappush(
            self._queue, (self.now + self.latency, self._seq, self._public(src), dst, data)
        )

    def _deliver(self, src: Address, dst: Address, data: bytes) -> None:
        if self.drop is not None and self.drop(src, dst, data):
            return
        target = self.routes.get(self._private(dst))
        if target is None:
            return
        self.delivered += 1
        if isinstance(target, StunServer):
            target.requests += 1
            msg = stun.Message.parse(data)
            resp = stun.Message(
                stun.BINDING,
                stun.SUCCESS_RESPONSE,
                msg.transaction_id,
                [(stun.ATTR_XOR_MAPPED_ADDRESS, target.mapped or src)],
            )
            self.send(target.addr, src, resp.marshal(fingerprint=True))
            return
        target.agent.handle_datagram(self._private(dst), src, data, self.now)

    def step(self) -> bool:
        """Advance to the next event (datagram or timer); False when idle."""
        self.pump()
        deadlines = [d for p in self.peers if (d := p.agent.next_deadline()) is not None]
        next_timer = min(deadlines) if deadlines else None
        next_packet = self._queue[0][0] if self._queue else None
        if next_timer is None and next_packet is None:
            return False
        if next_packet is not None and (next_timer is None or next_packet <= next_timer):
            at, _, src, dst, data = heapq.heappop(self._queue)
            self.now = max(self.now, at)
            self._deliver(src, dst, data)
        else:
            assert next_timer is not None
            self.now = max(self.now, next_timer)
            for p in self.peers:
                d = p.agent.next_deadline()
                if d is not None and d <= self.now:
                    p.agent.handle_timeout(self.now)
        self.pump()
        return True

    def run(self, until: float, stop: Callable[[], bool] | None = None) -> None:
        """Run until virtual time ``until`` or ``stop()``."""
        steps = 0
        while self.now < until:
            if stop is not None and stop():
                return
            steps += 1
            assert steps < 200_000, "virtual network livelock"
            if not self.step():
                break
            if self.now > until:
                break
        self.pump()


def exchange(a: Peer, b: Peer, trickle_end: bool = True) -> None:
    """Signal credentials and the candidates gathered so far both ways."""
    a.agent.set_remote_credentials(b.agent.local_username, b.agent.local_password)
    b.agent.set_remote_credentials(a.agent.local_username, a.agent.local_password)
    for src, dst in ((a, b), (b, a)):
        for lc in src.agent.local_candidates:
            if lc.candidate.type != "prflx":
                dst.agent.add_remote_candidate(lc.candidate.copy())
        if trickle_end:
            dst.agent.add_remote_candidate(None)
