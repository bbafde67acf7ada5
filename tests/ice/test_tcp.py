"""ICE-TCP (RFC 6544): framing, priorities, pairing rules, the agent's
acceptance of TCP candidates, and two drivers connecting over TCP only."""

from __future__ import annotations

import asyncio
import socket

import pytest

from rtcengine.ice.agent import IceAgent
from rtcengine.ice.candidate import Candidate, candidate_priority, tcp_candidate_priority
from rtcengine.ice.checklist import LocalCandidate, can_pair, can_pair_tcp
from rtcengine.ice.config import IceConfig
from rtcengine.ice.driver import IceDriver
from rtcengine.ice.tcp import ActiveTcp, FrameReader, PassiveTcp, TcpEndpoint, frame

# ------------------------------------------------------------ RFC 4571 framing


def test_frames_split_and_joined_across_reads() -> None:
    packets = [b"", b"a", b"\x00\x01stun", bytes(range(256)) * 5]
    stream = b"".join(frame(p) for p in packets)
    assert stream[:2] == b"\x00\x00"  # RFC 4571 §2: 16-bit big-endian length
    for cut in (1, 2, 3, 7, len(stream)):
        reader = FrameReader()
        got: list[bytes] = []
        for i in range(0, len(stream), cut):
            got += reader.feed(stream[i : i + cut])
        assert got == packets
        assert reader.buffered == 0
    reader = FrameReader()
    assert reader.feed(b"\x00\x05abc") == []
    assert reader.buffered == 5
    assert reader.feed(b"de\x00") == [b"abcde"]


def test_frame_too_long() -> None:
    assert len(frame(bytes(65535))) == 65537
    with pytest.raises(ValueError, match="65535"):
        frame(bytes(65536))


# ------------------------------------------------------------ candidates


def test_tcp_candidates_parse_and_serialize_with_tcptype() -> None:
    for line in (
        "candidate:1 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active",
        "candidate:2 1 tcp 1518214911 192.0.2.1 50000 typ host tcptype passive",
        "candidate:3 1 tcp 1518149375 192.0.2.1 50001 typ host tcptype so",
        "candidate:4 1 TCP 1 192.0.2.1 50002 typ srflx raddr 10.0.0.1 rport 9 tcptype passive",
    ):
        c = Candidate.from_sdp(line)
        assert c.protocol == "tcp"
        assert c.tcpType == line.rsplit(" ", 1)[1]
        again = Candidate.from_sdp(c.to_sdp())
        assert (again.protocol, again.tcpType, again.port) == ("tcp", c.tcpType, c.port)
    c = Candidate(1, "f", "192.0.2.1", 9, 1, "tcp", "host", tcpType="active")
    assert c.to_sdp() == "f 1 tcp 1 192.0.2.1 9 typ host tcptype active"  # aiortc form


def test_tcp_priorities() -> None:
    udp_host = candidate_priority(1, "host", 65535)
    active = tcp_candidate_priority(1, "host", "active")
    passive = tcp_candidate_priority(1, "host", "passive")
    so = tcp_candidate_priority(1, "host", "so")
    # RFC 6544 §4.2: UDP preferred over TCP; active > passive > S-O for hosts.
    assert udp_host > active > passive > so
    # local preference = 2^13 * direction-pref + other-pref
    assert (active >> 8) & 0xFFFF == (6 << 13) + 8191
    assert (tcp_candidate_priority(1, "host", "passive", 0) >> 8) & 0xFFFF == 4 << 13
    # Host TCP stays below server-reflexive UDP (browsers' order).
    assert active < candidate_priority(1, "srflx", 0)
    # A TCP candidate's peer-reflexive priority (PRIORITY of its checks) uses
    # the TCP prflx type preference, below the UDP one.
    lc = LocalCandidate(
        Candidate(1, "f", "192.0.2.1", 9, active, "tcp", "host", tcpType="active"),
        "key",
        ("192.0.2.1", 9),
    )
    assert lc.prflx_priority() >> 24 == 80
    assert lc.prflx_priority() & 0xFFFFFF == active & 0xFFFFFF
    with pytest.raises(ValueError):
        tcp_candidate_priority(1, "host", "active", 8192)


def _tcp(ip: str, port: int, tcp_type: str) -> Candidate:
    return Candidate(1, "f", ip, port, 1, "tcp", "host", tcpType=tcp_type)


def test_pairing_rules() -> None:
    # RFC 6544 §6.2: active<->passive; local passive pairs are pruned; no S-O here.
    assert can_pair_tcp("active", "passive")
    for local, remote in [
        ("passive", "active"),
        ("active", "active"),
        ("passive", "passive"),
        ("so", "so"),
        ("active", None),
    ]:
        assert not can_pair_tcp(local, remote)
    active = LocalCandidate(_tcp("10.0.0.1", 9, "active"), "k", ("10.0.0.1", 9))
    udp_host = LocalCandidate(
        Candidate(1, "u", "10.0.0.1", 5000, 1, "udp", "host"), "u", ("10.0.0.1", 5000)
    )
    assert can_pair(active, _tcp("10.0.0.2", 5000, "passive"))
    assert not can_pair(active, _tcp("10.0.0.2", 9, "active"))
    assert not can_pair(udp_host, _tcp("10.0.0.2", 5000, "passive"))
    assert not can_pair(active, Candidate(1, "u", "10.0.0.2", 5000, 1, "udp", "host"))


def test_agent_accepts_tcp_candidates_only_with_ice_tcp() -> None:
    lines = [
        "candidate:1 1 tcp 1518280447 10.0.0.3 9 typ host tcptype active",
        "candidate:2 1 tcp 1518214911 10.0.0.3 5000 typ host tcptype passive",
        "candidate:3 1 tcp 1518149375 10.0.0.3 5001 typ host tcptype so",
        "candidate:4 1 udp 2130706431 10.0.0.3 5000 typ host",
    ]
    off = IceAgent(True)
    on = IceAgent(True, ice_tcp=True)
    for agent in (off, on):
        agent.set_remote_credentials("ufrg", "p" * 22)
        agent.add_local_candidate(_tcp("10.0.0.1", 9, "active"), "active")
        agent.add_local_candidate(_tcp("10.0.0.1", 6000, "passive"), "passive")
        agent.add_local_candidate(Candidate(1, "u", "10.0.0.1", 6000, 1, "udp", "host"), "udp")
        for line in lines:
            agent.add_remote_candidate(Candidate.from_sdp(line))
    # Same port, different transports: all three local candidates are kept.
    assert len(on.local_candidates) == 3
    assert [(c.protocol, c.port) for c in off.remote_candidates] == [("udp", 5000)]
    assert off.stats.remote_candidates_ignored == 3
    # The S-O candidate is ignored; the passive TCP one and the UDP one on
    # the same port are two candidates.
    assert [(c.protocol, c.tcpType) for c in on.remote_candidates] == [
        ("tcp", "active"),
        ("tcp", "passive"),
        ("udp", None),
    ]
    pairs = {(p.local.key, p.remote.protocol, p.remote.tcpType) for p in on.checklist}
    # Only local active -> remote passive for TCP (RFC 6544 §6.2), UDP as usual.
    assert pairs == {("active", "tcp", "passive"), ("udp", "udp", None)}


# ------------------------------------------------------------ two drivers


def tcp_config(**kwargs: object) -> IceConfig:
    cfg = IceConfig(
        include_loopback=True,
        interface_filter=lambda name, ip: ip == "127.0.0.1",
        ice_tcp=True,
    )
    for k, v in kwargs.items():
        setattr(cfg, k, v)
    return cfg


async def connect(a: IceDriver, b: IceDriver) -> None:
    a.on_candidate = b.add_remote_candidate
    b.on_candidate = a.add_remote_candidate
    a.set_remote_credentials(b.local_username, b.local_password)
    b.set_remote_credentials(a.local_username, a.local_password)
    await asyncio.gather(a.gather(), b.gather())
    await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 5)


def test_two_drivers_connect_over_tcp_only() -> None:
    async def main() -> None:
        a = IceDriver(True, tcp_config(use_udp=False))
        b = IceDriver(False, tcp_config(use_udp=False))
        inbox: dict[IceDriver, list[bytes]] = {a: [], b: []}
        a.on_data = inbox[a].append
        b.on_data = inbox[b].append
        try:
            await connect(a, b)
            for d in (a, b):
                assert sorted((c.protocol, c.tcpType) for c in d.local_candidates) == [
                    ("tcp", "active"),
                    ("tcp", "passive"),
                ]
                active = next(c for c in d.local_candidates if c.tcpType == "active")
                assert active.port == 9  # RFC 6544 §4.5
            pa, pb = a.selected_pair, b.selected_pair
            assert pa is not None and pb is not None
            assert pa.local.candidate.protocol == pb.local.candidate.protocol == "tcp"
            # Both ends selected the same TCP connection: one end's active
            # candidate towards the other's passive one.
            assert {pa.local.candidate.tcpType, pb.local.candidate.tcpType} == {
                "active",
                "passive",
            }
            # Data both ways, sizes across a frame boundary and a big one.
            sizes = (1, 100, 1200, 60000)
            for me, peer in ((a, b), (b, a)):
                for i, size in enumerate(sizes):
                    assert me.send(bytes([23, i]) + bytes(size))
                assert me.send_many([bytes([23, 9]) + b"x" * 10] * 3) == 3
                for _ in range(200):
                    if len(inbox[peer]) == len(sizes) + 3:
                        break
                    await asyncio.sleep(0.01)
                assert [len(d) - 2 for d in inbox[peer]] == [*sizes, 10, 10, 10]
                inbox[peer].clear()
            tcp_stats = a.get_stats()["tcp"]
            assert isinstance(tcp_stats, list) and len(tcp_stats) == 2
        finally:
            await asyncio.gather(a.close(), b.close())
        assert all(not ep.connections for ep in a._tcp + b._tcp)

    asyncio.run(main())


def test_udp_is_preferred_when_both_work() -> None:
    async def main() -> None:
        a = IceDriver(True, tcp_config())
        b = IceDriver(False, tcp_config())
        try:
            await connect(a, b)
            assert {c.protocol for c in a.local_candidates} == {"udp", "tcp"}
            pair = a.selected_pair
            assert pair is not None and pair.local.candidate.protocol == "udp"
        finally:
            await asyncio.gather(a.close(), b.close())

    asyncio.run(main())


def test_ice_tcp_is_off_by_default() -> None:
    async def main() -> None:
        a = IceDriver(True, tcp_config(ice_tcp=False))
        try:
            await a.gather()
            assert [c.protocol for c in a.local_candidates] == ["udp"]
        finally:
            await a.close()

    asyncio.run(main())


def test_endpoints_drop_what_they_cannot_send() -> None:
    async def main() -> None:
        frames: list[tuple[TcpEndpoint, tuple[str, int], bytes]] = []
        passive = await PassiveTcp.listen("127.0.0.1", lambda e, p, d: frames.append((e, p, d)))
        active = ActiveTcp("127.0.0.1", lambda e, p, d: frames.append((e, p, d)))
        try:
            # RFC 6544 §6.2: a passive candidate never opens a connection.
            assert not passive.send_to(b"\x00x", ("127.0.0.1", 9))
            assert passive.dropped == 1
            # An active one connects on first send; queued frames go out once up.
            assert active.send_to(b"\x00one", ("127.0.0.1", passive.port))
            assert active.send_to(b"\x00two", ("127.0.0.1", passive.port))
            for _ in range(100):
                if len(frames) == 2:
                    break
                await asyncio.sleep(0.01)
            assert [d for _, _, d in frames] == [b"\x00one", b"\x00two"]
            ep, peer, _ = frames[0]
            assert ep is passive and peer[1] != 9  # the connection's real source port
            assert passive.send_to(b"\x00back", peer)
            for _ in range(100):
                if len(frames) == 3:
                    break
                await asyncio.sleep(0.01)
            assert frames[2] == (active, ("127.0.0.1", passive.port), b"\x00back")
            # Nobody listening: the connection fails, the frame is counted as dropped.
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                closed_port = probe.getsockname()[1]  # closed again below: refused
            assert active.send_to(b"\x00lost", ("127.0.0.1", closed_port))
            for _ in range(200):
                if active.connect_failures:
                    break
                await asyncio.sleep(0.01)
            assert active.connect_failures == 1 and active.dropped == 1
        finally:
            await active.close()
            await passive.close()

    asyncio.run(main())
