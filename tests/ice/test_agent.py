"""The sans-IO ICE agent in virtual time: two agents on an in-memory network."""

from __future__ import annotations

import random

import pytest

from rtcengine._core import stun
from rtcengine.exceptions import InvalidStateError
from rtcengine.ice.agent import (
    CONSENT_TIMEOUT,
    DISCONNECTED_TIMEOUT,
    GatheringState,
    IceAgent,
    IceState,
    SelectedPairEvent,
)
from rtcengine.ice.candidate import Candidate
from rtcengine.ice.checklist import PairState
from tests.ice.vnet import Peer, VNet, exchange, host, relay

A_ADDR = ("10.0.0.1", 1000)
B_ADDR = ("10.0.0.2", 2000)


def make(
    net: VNet,
    a_kwargs: dict[str, object] | None = None,
    b_kwargs: dict[str, object] | None = None,
    a_addrs: list[tuple[str, int]] | None = None,
    b_addrs: list[tuple[str, int]] | None = None,
) -> tuple[Peer, Peer]:
    ak: dict[str, object] = {"controlling": True, "rng": random.Random(1)}
    ak.update(a_kwargs or {})
    bk: dict[str, object] = {"controlling": False, "rng": random.Random(2)}
    bk.update(b_kwargs or {})
    a = net.add("a", IceAgent(**ak), a_addrs or [A_ADDR])  # type: ignore[arg-type]
    b = net.add("b", IceAgent(**bk), b_addrs or [B_ADDR])  # type: ignore[arg-type]
    a.agent.local_candidates_done()
    b.agent.local_candidates_done()
    net.pump()
    return a, b


def both(a: Peer, b: Peer, *states: IceState) -> bool:
    return a.agent.state in states and b.agent.state in states


def connect(net: VNet, a: Peer, b: Peer, until: float = 5.0) -> None:
    exchange(a, b)
    net.run(until, lambda: both(a, b, IceState.COMPLETED))
    assert both(a, b, IceState.COMPLETED), (a.states, b.states)


def assert_same_pair(a: Peer, b: Peer) -> None:
    pa, pb = a.agent.selected_pair, b.agent.selected_pair
    assert pa is not None and pb is not None
    assert pa.local.candidate.addr == pb.remote_addr or pb.remote.type == "prflx"
    assert pb.local.candidate.addr == pa.remote_addr or pa.remote.type == "prflx"
    assert pa.nominated and pb.nominated


# ------------------------------------------------------------------ connecting


def test_regular_nomination_connects() -> None:
    net = VNet()
    a, b = make(net)
    connect(net, a, b)
    assert_same_pair(a, b)
    assert a.states == [IceState.CHECKING, IceState.COMPLETED]
    # Regular nomination: a plain check, then a second check with USE-CANDIDATE.
    assert a.agent.stats.binding_requests_sent == 2
    assert net.now < 0.1
    assert len(a.selected) == 1 and len(b.selected) == 1


def test_aggressive_nomination_connects_with_one_check() -> None:
    net = VNet()
    a, b = make(net, a_kwargs={"aggressive_nomination": True})
    connect(net, a, b)
    assert_same_pair(a, b)
    assert a.agent.stats.binding_requests_sent == 1


def test_aggressive_nomination_moves_to_higher_priority_pair() -> None:
    net = VNet()
    # The high-priority pair is slow to answer the first time (dropped once).
    dropped: list[bytes] = []

    def drop(src: tuple[str, int], dst: tuple[str, int], data: bytes) -> bool:
        if dst == ("10.0.0.2", 2000) and not dropped:
            dropped.append(data)
            return True
        return False

    net.drop = drop
    a, b = make(
        net,
        a_kwargs={"aggressive_nomination": True},
        a_addrs=[("10.0.0.1", 1000)],
        b_addrs=[("10.0.0.2", 2000), ("10.0.0.2", 2001)],
    )
    connect(net, a, b, until=10)
    sel = a.agent.selected_pair
    assert sel is not None and sel.remote_addr == ("10.0.0.2", 2000)
    assert [e.pair.remote_addr for e in a.selected] == [("10.0.0.2", 2001), ("10.0.0.2", 2000)]


def test_regular_nomination_waits_for_better_pair_then_gives_up() -> None:
    net = VNet()
    # The best pair never answers: the controlling side nominates the other
    # one after the nomination delay.
    net.drop = lambda src, dst, data: dst == ("10.0.0.2", 2000) or src == ("10.0.0.2", 2000)
    a, b = make(net, b_addrs=[("10.0.0.2", 2000), ("10.0.0.2", 2001)])
    exchange(a, b)
    net.run(60, lambda: both(a, b, IceState.CONNECTED, IceState.COMPLETED))
    sel = a.agent.selected_pair
    assert sel is not None and sel.remote_addr == ("10.0.0.2", 2001)
    assert 0.4 < net.now < 1.0


def test_multiple_components() -> None:
    net = VNet()
    a = net.add("a", IceAgent(True))
    b = net.add("b", IceAgent(False))
    for peer, ip in ((a, "10.0.0.1"), (b, "10.0.0.2")):
        for comp in (1, 2):
            addr = (ip, 1000 + comp)
            net.attach(peer, addr)
            peer.agent.add_local_candidate(host(ip, addr[1], component=comp), addr)
        peer.agent.local_candidates_done()
    exchange(a, b)
    net.run(5, lambda: a.agent.selected_pair is not None and b.agent.selected_pair is not None)
    # The checklist holds pairs of both components, never across components.
    comps = {(p.local.candidate.component, p.remote.component) for p in a.agent.checklist}
    assert comps <= {(1, 1), (2, 2)}


def test_failed_when_nothing_answers() -> None:
    net = VNet()
    net.drop = lambda src, dst, data: True
    a, b = make(net)
    exchange(a, b)
    net.run(120, lambda: both(a, b, IceState.FAILED))
    assert both(a, b, IceState.FAILED)
    assert all(p.state is PairState.FAILED for p in a.agent.checklist)
    # RFC 8489 §6.2.1: 7 transmissions over 39.5 s.
    assert 39 < net.now < 41


def test_no_failure_before_end_of_candidates() -> None:
    net = VNet()
    net.drop = lambda src, dst, data: True
    a, b = make(net)
    exchange(a, b, trickle_end=False)
    net.run(120)
    # RFC 8838 §8: more candidates may come, so the agent keeps checking.
    assert a.agent.state is IceState.CHECKING
    a.agent.add_remote_candidate(None)
    assert a.agent.state is IceState.FAILED


# ------------------------------------------------------------------ role conflicts


@pytest.mark.parametrize("controlling", [True, False], ids=["both-controlling", "both-controlled"])
def test_role_conflict_resolved(controlling: bool) -> None:
    net = VNet()
    a, b = make(
        net,
        a_kwargs={"controlling": controlling, "tie_breaker": 10},
        b_kwargs={"controlling": controlling, "tie_breaker": 20},
    )
    connect(net, a, b)
    # RFC 8445 §7.3.1.1: the larger tie-breaker ends up controlling.
    assert b.agent.controlling and not a.agent.controlling
    assert a.agent.stats.role_conflicts + b.agent.stats.role_conflicts >= 1
    assert_same_pair(a, b)


def test_role_conflict_487_response_switches_role() -> None:
    # A controlling agent with the smaller tie-breaker receives 487 and switches.
    net = VNet()
    a, b = make(
        net,
        a_kwargs={"controlling": True, "tie_breaker": 1},
        b_kwargs={"controlling": True, "tie_breaker": 2**64 - 1},
    )
    exchange(a, b)
    # Only A checks first: hold B's checks back until A got its 487.
    a.agent.handle_timeout(net.now)
    net.pump()
    net.run(5, lambda: both(a, b, IceState.COMPLETED))
    assert not a.agent.controlling and b.agent.controlling
    assert b.agent.stats.error_responses_sent >= 1


# ------------------------------------------------------------------ consent freshness


def test_consent_loss_disconnected_then_failed() -> None:
    net = VNet()
    a, b = make(net)
    connect(net, a, b)
    t0 = net.now
    net.drop = lambda src, dst, data: True
    net.run(t0 + 60, lambda: a.agent.state is IceState.FAILED)
    assert a.states[-2:] == [IceState.DISCONNECTED, IceState.FAILED]
    # RFC 7675 §5.1: failed 30 s after the last consent response.
    last = a.agent.selected_pair.lastConsentResponse  # type: ignore[union-attr]
    assert last is not None and net.now == pytest.approx(last + CONSENT_TIMEOUT)
    assert a.agent.send_pair() is None
    assert a.agent.stats.consent_expired == 1


def test_consent_recovers() -> None:
    net = VNet()
    a, b = make(net)
    connect(net, a, b)
    t0 = net.now
    net.drop = lambda src, dst, data: True
    net.run(t0 + DISCONNECTED_TIMEOUT + 7, lambda: a.agent.state is IceState.DISCONNECTED)
    assert a.agent.state is IceState.DISCONNECTED
    assert a.agent.send_pair() is not None  # still allowed until consent expires
    net.drop = None
    net.run(net.now + 10, lambda: a.agent.state is not IceState.DISCONNECTED)
    assert a.agent.state in (IceState.CONNECTED, IceState.COMPLETED)
    assert a.states[-2] is IceState.DISCONNECTED


def test_consent_checks_are_paced() -> None:
    net = VNet()
    a, b = make(net)
    connect(net, a, b)
    before = a.agent.selected_pair.consentRequestsSent  # type: ignore[union-attr]
    net.run(net.now + 60)
    sent = a.agent.selected_pair.consentRequestsSent - before  # type: ignore[union-attr]
    # RFC 7675 §5.1: every 4-6 s.
    assert 10 <= sent <= 15
    assert a.agent.state is IceState.COMPLETED


# ------------------------------------------------------------------ data


def test_data_from_validated_pair_only() -> None:
    net = VNet()
    a, b = make(net)
    connect(net, a, b)
    pair = a.agent.send_pair()
    assert pair is not None
    net.send(pair.key, pair.remote_addr, b"\x17dtls-ish")  # type: ignore[arg-type]
    a.agent.data_sent(pair, 9, net.now)
    net.send(("10.9.9.9", 9), B_ADDR, b"\x17stranger")
    net.run(net.now + 0.01)
    assert b.data == [b"\x17dtls-ish"]
    assert b.agent.stats.data_dropped == 1
    assert pair.bytesSent == 9 and pair.packetsSent == 1
    assert b.agent.selected_pair.bytesReceived == 9  # type: ignore[union-attr]


# ------------------------------------------------------------------ restart


def test_restart_keeps_old_pair_until_new_one_selected() -> None:
    net = VNet()
    a, b = make(net)
    connect(net, a, b)
    old_a = a.agent.selected_pair
    old_ufrag = a.agent.local_username
    a.agent.restart()
    assert a.agent.local_username != old_ufrag and a.agent.generation == 1
    # Data still goes on the old pair, consent keeps running on old credentials.
    assert a.agent.selected_pair is old_a and a.agent.send_pair() is old_a
    net.run(net.now + 12)
    assert a.agent.state in (IceState.CONNECTED, IceState.COMPLETED)
    assert a.agent.selected_pair is old_a
    # The answer: B restarts too (RFC 8445 §9) and both exchange new credentials.
    b.agent.restart()
    assert b.agent.selected_pair is not None
    selected_before = len(a.selected)
    exchange(a, b)
    net.run(
        net.now + 5, lambda: len(a.selected) > selected_before and both(a, b, IceState.COMPLETED)
    )
    new_a = a.agent.selected_pair
    assert new_a is not None and new_a is not old_a
    assert_same_pair(a, b)
    # Re-signalled candidates carry the new ufrag.
    assert a.events and a.agent.get_stats()["selectedPair"] is not None


def test_restart_implicit_on_new_remote_credentials() -> None:
    net = VNet()
    a, b = make(net)
    connect(net, a, b)
    old = b.agent.local_username
    a.agent.restart()
    b.agent.set_remote_credentials(a.agent.local_username, a.agent.local_password)
    assert b.agent.local_username != old


def test_closed_agent() -> None:
    agent = IceAgent(True)
    agent.close()
    assert agent.state is IceState.CLOSED and agent.next_deadline() is None
    with pytest.raises(InvalidStateError):
        agent.restart()
    with pytest.raises(InvalidStateError):
        agent.set_remote_credentials("a", "b" * 22)
    agent.handle_datagram(A_ADDR, B_ADDR, b"\x00\x01", 0.0)
    assert agent.poll_transmit() is None


# ------------------------------------------------------------------ trickle


def test_trickle_candidates_before_credentials_and_late_local() -> None:
    net = VNet()
    a = net.add("a", IceAgent(True, rng=random.Random(3)))
    b = net.add("b", IceAgent(False, rng=random.Random(4)), [B_ADDR])
    b.agent.local_candidates_done()
    # B's candidate reaches A before B's credentials (RFC 8838 §11).
    a.agent.add_remote_candidate(b.agent.local_candidates[0].candidate.copy())
    net.run(1)
    assert a.agent.state is IceState.CHECKING and a.agent.stats.binding_requests_sent == 0
    a.agent.set_remote_credentials(b.agent.local_username, b.agent.local_password)
    b.agent.set_remote_credentials(a.agent.local_username, a.agent.local_password)
    # A's candidate is gathered late and trickled (emitted as found).
    net.attach(a, A_ADDR)
    a.agent.add_local_candidate(host(*A_ADDR), A_ADDR)
    net.pump()
    assert a.candidates[-1] is not None and a.candidates[-1].addr == A_ADDR
    # B never learns A's candidate: it discovers it as peer-reflexive.
    net.run(5, lambda: both(a, b, IceState.CONNECTED, IceState.COMPLETED))
    assert b.agent.selected_pair is not None and b.agent.selected_pair.remote.type == "prflx"
    # Then the signalled candidate arrives and replaces the prflx one.
    b.agent.add_remote_candidate(a.agent.local_candidates[0].candidate.copy())
    assert b.agent.selected_pair.remote.type == "host"
    a.agent.local_candidates_done()
    net.pump()
    assert a.candidates[-1] is None  # end-of-candidates


def test_checks_before_remote_credentials_are_answered_and_replayed() -> None:
    net = VNet()
    a, b = make(net)
    # A knows everything; B knows nothing yet.
    a.agent.set_remote_credentials(b.agent.local_username, b.agent.local_password)
    a.agent.add_remote_candidate(b.agent.local_candidates[0].candidate.copy())
    net.run(0.2)
    assert b.agent.stats.binding_responses_sent >= 1  # answered with the local password
    assert a.agent.checklist.valid_pairs()
    b.agent.set_remote_credentials(a.agent.local_username, a.agent.local_password)
    net.run(net.now + 2, lambda: both(a, b, IceState.CONNECTED, IceState.COMPLETED))
    assert_same_pair(a, b)


def test_candidates_after_end_of_candidates_are_ignored() -> None:
    net = VNet()
    a, b = make(net)
    a.agent.add_remote_candidate(None)
    a.agent.add_remote_candidate(host("10.0.0.3", 3))
    assert a.agent.remote_candidates == []
    assert a.agent.stats.remote_candidates_ignored == 1


@pytest.mark.parametrize(
    "line",
    [
        "candidate:1 1 tcp 1 10.0.0.3 9 typ host tcptype passive",
        "candidate:1 1 udp 1 abc.local 9 typ host",
        "candidate:1 1 udp 1 10.0.0.3 9 typ host ufrag other",
    ],
    ids=["tcp", "unresolved-mdns", "other-generation"],
)
def test_unusable_remote_candidates_ignored(line: str) -> None:
    agent = IceAgent(True)
    agent.set_remote_credentials("ufrg", "p" * 22)
    agent.add_remote_candidate(Candidate.from_sdp(line))
    assert agent.remote_candidates == [] and agent.stats.remote_candidates_ignored == 1


def test_gathering_events_and_server_reflexive() -> None:
    net = VNet()
    net.nat[A_ADDR] = ("198.51.100.1", 40000)
    s1 = net.add_stun_server(("203.0.113.1", 3478))
    s2 = net.add_stun_server(("203.0.113.2", 3478))
    agent = IceAgent(True)
    a = net.add("a", agent, [A_ADDR])
    agent.gather_server_reflexive(A_ADDR, s1.addr, net.now)
    agent.gather_server_reflexive(A_ADDR, s2.addr, net.now)
    # A server that never answers: gathering still completes (RFC 8489 §6.2.1 budget).
    agent.gather_server_reflexive(A_ADDR, ("203.0.113.9", 3478), net.now)
    agent.local_candidates_done()
    assert agent.gathering_state is GatheringState.GATHERING
    net.run(20, lambda: agent.gathering_state is GatheringState.COMPLETE)
    assert agent.gathering_state is GatheringState.COMPLETE
    assert s1.requests == 1 and s2.requests == 1
    types = [c.type if c else None for c in a.candidates]
    # Two servers, same mapped address: one srflx (RFC 8445 §5.1.3 redundancy).
    assert types == ["host", "srflx", None]
    srflx = a.candidates[1]
    assert srflx is not None and srflx.addr == ("198.51.100.1", 40000)
    assert (srflx.relatedAddress, srflx.relatedPort) == A_ADDR
    assert 5 < net.now < 6


def test_server_reflexive_per_server_when_mapped_addresses_differ() -> None:
    net = VNet()
    s1 = net.add_stun_server(("203.0.113.1", 3478), ("198.51.100.1", 40000))
    s2 = net.add_stun_server(("203.0.113.2", 3478), ("198.51.100.2", 40001))
    agent = IceAgent(True)
    a = net.add("a", agent, [A_ADDR])
    agent.gather_server_reflexive(A_ADDR, s1.addr, 0.0)
    agent.gather_server_reflexive(A_ADDR, s2.addr, 0.0)
    agent.local_candidates_done()
    net.run(2, lambda: agent.gathering_state is GatheringState.COMPLETE)
    srflx = [c for c in a.candidates if c is not None and c.type == "srflx"]
    assert {c.ip for c in srflx} == {"198.51.100.1", "198.51.100.2"}
    # RFC 8445 §5.1.1.3: different servers -> different foundations.
    assert srflx[0].foundation != srflx[1].foundation


# ------------------------------------------------------------------ NAT / prflx


def test_peer_reflexive_discovery_through_nat() -> None:
    net = VNet()
    net.nat[A_ADDR] = ("198.51.100.7", 50000)
    a, b = make(net)
    connect(net, a, b)
    # B saw checks from A's public address: a remote prflx candidate.
    pb = b.agent.selected_pair
    assert pb is not None and pb.remote.type == "prflx"
    assert pb.remote_addr == ("198.51.100.7", 50000)
    # A learnt its mapped address as a local prflx candidate (not signalled).
    assert any(lc.candidate.type == "prflx" for lc in a.agent.local_candidates)
    assert all(c is None or c.type != "prflx" for c in a.candidates)


# ------------------------------------------------------------------ lite


def test_ice_lite_server_with_full_client() -> None:
    net = VNet()
    # The full agent is told "controlled" but must take control facing a lite peer.
    a, b = make(net, a_kwargs={"controlling": False}, b_kwargs={"ice_lite": True})
    a.agent.set_remote_credentials(b.agent.local_username, b.agent.local_password, ice_lite=True)
    b.agent.set_remote_credentials(a.agent.local_username, a.agent.local_password)
    for lc in b.agent.local_candidates:
        a.agent.add_remote_candidate(lc.candidate.copy())
    a.agent.add_remote_candidate(None)
    # A lite agent needs no remote candidates.
    net.run(5, lambda: both(a, b, IceState.CONNECTED, IceState.COMPLETED))
    assert a.agent.controlling and not b.agent.controlling
    assert b.agent.stats.binding_requests_sent == 0
    assert_same_pair(a, b)
    # Consent: the full side keeps checking; the lite side sees those checks.
    net.run(net.now + 40)
    assert both(a, b, IceState.CONNECTED, IceState.COMPLETED)
    net.drop = lambda src, dst, data: True
    net.run(net.now + 40)
    assert b.agent.state is IceState.FAILED and a.agent.state is IceState.FAILED


def test_lite_agent_keeps_host_candidates_only() -> None:
    agent = IceAgent(True, ice_lite=True)
    assert not agent.controlling
    assert agent.add_local_candidate(relay("1.1.1.1", 5, A_ADDR), "r") is None
    agent.gather_server_reflexive(A_ADDR, ("1.1.1.1", 3478), 0.0)
    assert agent.poll_transmit() is None


# ------------------------------------------------------------------ relay policy


def test_transport_policy_relay() -> None:
    net = VNet()
    relay_addr = ("203.0.113.50", 60000)
    a = net.add("a", IceAgent(True, transport_policy="relay"))
    net.attach(a, A_ADDR)
    net.attach(a, relay_addr)
    assert a.agent.add_local_candidate(host(*A_ADDR), A_ADDR) is None
    a.agent.add_local_candidate(relay(*relay_addr, raddr=A_ADDR), relay_addr)
    a.agent.local_candidates_done()
    b = net.add("b", IceAgent(False), [B_ADDR])
    b.agent.local_candidates_done()
    connect(net, a, b)
    assert [c.type for c in a.candidates if c is not None] == ["relay"]
    sel = a.agent.selected_pair
    assert sel is not None and sel.local.candidate.type == "relay"
    with pytest.raises(ValueError, match="transport policy"):
        IceAgent(True, transport_policy="none")


# ------------------------------------------------------------------ bad input


def _connected_pair() -> tuple[VNet, Peer, Peer]:
    net = VNet()
    a, b = make(net)
    connect(net, a, b)
    return net, a, b


def _snapshot(agent: IceAgent) -> tuple[object, ...]:
    pair = agent.selected_pair
    return (
        agent.state,
        agent.controlling,
        pair,
        pair.state if pair else None,
        len(agent.checklist),
        len(agent.remote_candidates),
    )


def _request(
    username: str, pwd: str | None, extra: list[tuple[int, object]] | None = None
) -> stun.Message:
    attrs: list[tuple[int | str, object]] = [
        (stun.ATTR_USERNAME, username),
        (stun.ATTR_PRIORITY, 12345),
        (stun.ATTR_ICE_CONTROLLED, 5),
    ]
    attrs += extra or []  # type: ignore[arg-type]
    return stun.Message(stun.BINDING, stun.REQUEST, None, attrs)


def test_malformed_stun_dropped_and_counted() -> None:
    net, a, b = _connected_pair()
    before = _snapshot(b.agent)
    for junk in (b"\x00\x01\x00", b"\x00\x01\x00\x04\x21\x12\xa4\x42" + b"x" * 12, b"\x01" * 40):
        b.agent.handle_datagram(B_ADDR, A_ADDR, junk, net.now)
    assert b.agent.stats.stun_malformed == 3
    assert b.agent.poll_transmit() is None and _snapshot(b.agent) == before


def test_wrong_integrity_answered_401_and_counted() -> None:
    net, a, b = _connected_pair()
    before = _snapshot(b.agent)
    req = _request(f"{b.agent.local_username}:{a.agent.local_username}", None)
    b.agent.handle_datagram(B_ADDR, ("10.0.0.66", 6), req.marshal(b"wrong" * 5, True), net.now)
    assert b.agent.stats.stun_bad_integrity == 1
    t = b.agent.poll_transmit()
    assert t is not None and stun.Message.parse(t.data).error_code == 401
    assert _snapshot(b.agent) == before
    # No prflx candidate was learnt from the forged check.
    assert all(c.ip != "10.0.0.66" for c in b.agent.remote_candidates)


def test_unknown_username_and_missing_integrity() -> None:
    net, a, b = _connected_pair()
    before = _snapshot(b.agent)
    bad_user = _request("nope:nope", None).marshal(b.agent.local_password, True)
    b.agent.handle_datagram(B_ADDR, A_ADDR, bad_user, net.now)
    no_mi = _request(f"{b.agent.local_username}:x", None).marshal()
    b.agent.handle_datagram(B_ADDR, A_ADDR, no_mi, net.now)
    codes = []
    while (t := b.agent.poll_transmit()) is not None:
        codes.append(stun.Message.parse(t.data).error_code)
    assert codes == [401, 400]
    assert b.agent.stats.stun_bad_username == 2
    assert _snapshot(b.agent) == before


def test_unknown_comprehension_required_answered_420() -> None:
    net, a, b = _connected_pair()
    before = _snapshot(b.agent)
    req = _request(f"{b.agent.local_username}:{a.agent.local_username}", None, [(0x7F01, b"?")])
    tid = req.transaction_id
    b.agent.handle_datagram(B_ADDR, A_ADDR, req.marshal(b.agent.local_password, True), net.now)
    t = b.agent.poll_transmit()
    assert t is not None
    resp = stun.Message.parse(t.data)
    assert resp.transaction_id == tid and resp.error_code == 420
    assert resp.get(stun.ATTR_UNKNOWN_ATTRIBUTES) == [0x7F01]
    assert resp.verify(b.agent.local_password)
    assert b.agent.stats.stun_unknown_attributes == 1
    assert _snapshot(b.agent) == before


def test_response_to_unknown_transaction_dropped() -> None:
    net, a, b = _connected_pair()
    before = _snapshot(a.agent)
    resp = stun.Message(
        stun.BINDING, stun.SUCCESS_RESPONSE, None, [(stun.ATTR_XOR_MAPPED_ADDRESS, A_ADDR)]
    )
    a.agent.handle_datagram(A_ADDR, B_ADDR, resp.marshal(b.agent.local_password, True), net.now)
    assert a.agent.stats.stun_unknown_transaction == 1
    assert a.agent.poll_transmit() is None and _snapshot(a.agent) == before


def test_response_with_bad_integrity_dropped() -> None:
    net = VNet()
    a, b = make(net)
    exchange(a, b)
    # A's first check goes out; answer it with a forged response.
    a.agent.handle_timeout(net.now)
    t = a.agent.poll_transmit()
    assert t is not None
    req = stun.Message.parse(t.data)
    forged = stun.Message(
        stun.BINDING,
        stun.SUCCESS_RESPONSE,
        req.transaction_id,
        [(stun.ATTR_XOR_MAPPED_ADDRESS, A_ADDR)],
    ).marshal(b"not the password", True)
    a.agent.handle_datagram(A_ADDR, B_ADDR, forged, net.now)
    assert a.agent.stats.stun_bad_integrity == 1
    assert not a.agent.checklist.valid_pairs()
    # The genuine response still completes the transaction.
    net.send(A_ADDR, t.addr, t.data)
    net.run(2, lambda: both(a, b, IceState.COMPLETED))
    assert both(a, b, IceState.COMPLETED)


def test_non_binding_request_gets_400() -> None:
    agent = IceAgent(False)
    req = stun.Message(stun.ALLOCATE, stun.REQUEST)
    agent.handle_datagram(A_ADDR, B_ADDR, req.marshal(), 0.0)
    t = agent.poll_transmit()
    assert t is not None and stun.Message.parse(t.data).error_code == 400
    # Indications are keepalives: ignored.
    agent.handle_datagram(A_ADDR, B_ADDR, stun.Message(stun.BINDING, stun.INDICATION).marshal(), 0)
    assert agent.poll_transmit() is None and agent.state is IceState.NEW


# ------------------------------------------------------------------ stats


def test_stats_names() -> None:
    net, a, b = _connected_pair()
    stats = a.agent.get_stats()
    sel = stats["selectedPair"]
    assert isinstance(sel, dict)
    for name in (
        "requestsSent",
        "responsesReceived",
        "requestsReceived",
        "responsesSent",
        "currentRoundTripTime",
        "totalRoundTripTime",
        "bytesSent",
        "bytesReceived",
        "packetsSent",
        "packetsReceived",
        "nominated",
        "state",
        "consentRequestsSent",
    ):
        assert name in sel
    assert sel["currentRoundTripTime"] == pytest.approx(2 * net.latency)
    assert stats["state"] == "completed"


def test_selected_pair_event_order() -> None:
    net, a, b = _connected_pair()
    kinds = [type(e).__name__ for e in a.events]
    assert kinds.index("SelectedPairEvent") < len(kinds)
    assert isinstance(a.selected[0], SelectedPairEvent)
