"""Data channels (DCEP RFC 8832, W3C RTCDataChannel states) over two SCTP
associations in the virtual-time network simulator."""

from __future__ import annotations

from typing import Any

import pytest

from rtcengine._core import dcep
from rtcengine._core.sctp_association import Association
from rtcengine.exceptions import InvalidStateError, OperationError
from rtcengine.sctp_channels import ChannelState, DataChannelManager
from tests.netsim import Network


class Peer:
    def __init__(self, assoc: Association) -> None:
        self.assoc = assoc
        self.mgr = DataChannelManager(assoc)
        self.events: list[tuple[Any, ...]] = []

    def poll(self) -> None:
        self.events.extend(self.mgr.poll())

    def names(self, ch: ChannelState | None = None) -> list[str]:
        return [e[0] for e in self.events if ch is None or e[1] is ch]

    def messages(self, ch: ChannelState) -> list[Any]:
        return [e[2] for e in self.events if e[0] == "message" and e[1] is ch]

    def remote(self, label: str) -> ChannelState:
        found: list[ChannelState] = [e[1] for e in self.events
                                     if e[0] == "datachannel" and e[1].label == label]
        return found[-1]


def setup(seed: int = 1, **link: Any) -> tuple[Peer, Peer, Network]:
    a = Association(5000, 5000, True)
    b = Association(5000, 5000, False)
    a.remote_max_message_size = b.remote_max_message_size = 262144
    pa, pb = Peer(a), Peer(b)
    net = Network(a, b, seed=seed, **link)
    net.a.poller = pa.poll
    net.b.poller = pb.poll
    a.connect(0.0)
    return pa, pb, net


def test_in_band_open_with_ack_and_messages() -> None:
    pa, pb, net = setup()
    ch = pa.mgr.create("chat", protocol="p1")
    assert ch.id % 2 == 0 and ch.ready_state == "connecting"
    assert net.run(lambda: ch.ready_state == "open" and not ch._awaiting_ack, max_time=30)
    rch = pb.remote("chat")
    assert (rch.id, rch.protocol, rch.ordered, rch.ready_state) == (ch.id, "p1", True, "open")
    assert pb.names(rch) == ["datachannel", "open"]
    sent: list[str | bytes] = ["hello", "", b"bin", b"", "é" * 1000, b"x" * 200000]
    for m in sent:
        pa.mgr.send(ch, m)
    assert net.run(lambda: len(pb.messages(rch)) == 6, max_time=60)
    assert pb.messages(rch) == ["hello", "", b"bin", b"", "é" * 1000, b"x" * 200000]
    # And back.
    pb.mgr.send(rch, "pong")
    assert net.run(lambda: pa.messages(ch) == ["pong"], max_time=30)


def test_server_uses_odd_ids_client_even() -> None:
    pa, pb, net = setup()
    ids_a = [pa.mgr.create(f"a{i}").id for i in range(3)]
    ids_b = [pb.mgr.create(f"b{i}").id for i in range(3)]
    assert ids_a == [0, 2, 4] and ids_b == [1, 3, 5]
    assert net.run(lambda: all(c.ready_state == "open" for p in (pa, pb)
                               for c in p.mgr.channels.values())
                   and len(pa.mgr.channels) == len(pb.mgr.channels) == 6, max_time=30)


def test_negotiated_channel_opens_on_connect_without_dcep() -> None:
    pa, pb, net = setup()
    ca = pa.mgr.create("neg", negotiated=True, id=7, ordered=False, max_retransmits=3)
    cb = pb.mgr.create("neg", negotiated=True, id=7, ordered=False, max_retransmits=3)
    assert net.run(lambda: ca.ready_state == cb.ready_state == "open", max_time=30)
    assert "datachannel" not in pa.names() + pb.names()
    pa.mgr.send(ca, b"x")
    assert net.run(lambda: pb.messages(cb) == [b"x"], max_time=30)
    with pytest.raises(TypeError):
        pa.mgr.create("bad", negotiated=True)
    with pytest.raises(OperationError):
        pa.mgr.create("dup", negotiated=True, id=7)


def test_reliability_parameters_reach_the_peer() -> None:
    pa, pb, net = setup()
    c1 = pa.mgr.create("r", ordered=False, max_retransmits=0)
    c2 = pa.mgr.create("t", max_packet_lifetime=150)
    assert net.run(lambda: c1.ready_state == c2.ready_state == "open"
                   and not (c1._awaiting_ack or c2._awaiting_ack), max_time=30)
    r1, r2 = pb.remote("r"), pb.remote("t")
    assert (r1.ordered, r1.max_retransmits, r1.max_packet_lifetime) == (False, 0, None)
    assert (r2.ordered, r2.max_retransmits, r2.max_packet_lifetime) == (True, None, 150)
    with pytest.raises(TypeError):
        pa.mgr.create("both", max_retransmits=1, max_packet_lifetime=1)


def test_close_from_either_side_and_id_reuse() -> None:
    pa, pb, net = setup()
    ch = pa.mgr.create("x")
    assert net.run(lambda: ch.ready_state == "open" and not ch._awaiting_ack, max_time=30)
    rch = pb.remote("x")
    pa.mgr.send(ch, "last words")
    pa.mgr.close(ch)
    assert ch.ready_state == "closing"
    with pytest.raises(InvalidStateError):
        pa.mgr.send(ch, "too late")
    assert net.run(lambda: ch.ready_state == rch.ready_state == "closed", max_time=30)
    assert pb.messages(rch) == ["last words"]
    assert pa.names(ch) == ["open", "closing", "close"]
    assert pb.names(rch) == ["datachannel", "open", "message", "closing", "close"]
    # The id is free again and gets reused with a fresh SSN space.
    pa.mgr._next_id = ch.id
    again = pa.mgr.create("again")
    assert again.id == ch.id
    assert net.run(lambda: again.ready_state == "open" and not again._awaiting_ack, max_time=30)
    pa.mgr.send(again, "new life")
    r2 = pb.remote("again")
    assert net.run(lambda: pb.messages(r2) == ["new life"], max_time=30)
    # The server closes this time.
    pb.mgr.close(r2)
    assert net.run(lambda: again.ready_state == r2.ready_state == "closed", max_time=30)


def test_thousand_channels_open_and_close() -> None:
    pa, pb, net = setup(delay=0.002)
    for rnd in range(2):
        chans = [pa.mgr.create(f"c{rnd}-{i}") for i in range(1000)]
        assert net.run(lambda chans=chans: all(  # type: ignore[misc]
            c.ready_state == "open" and not c._awaiting_ack for c in chans), max_time=120)
        assert len(pb.mgr.channels) == 1000
        for c in chans:
            pa.mgr.send(c, c.label)
        for c in chans:
            pa.mgr.close(c)
        assert net.run(lambda: not pa.mgr.channels and not pb.mgr.channels, max_time=300)
        assert all(c.ready_state == "closed" for c in chans)
        assert not pa.mgr.channels and not pb.mgr.channels
    got = [e[2] for e in pb.events if e[0] == "message"]
    assert len(got) == 2000 and got[:2] == ["c0-0", "c0-1"]


def test_buffered_amount_exact_and_low_event() -> None:
    pa, pb, net = setup()
    ch = pa.mgr.create("buf")
    assert net.run(lambda: ch.ready_state == "open", max_time=30)
    pa.mgr.set_buffered_amount_low_threshold(ch, 10)
    pa.mgr.send(ch, "é" * 50)  # 100 UTF-8 bytes
    pa.mgr.send(ch, "")
    pa.mgr.send(ch, b"\0" * 1000)
    assert pa.mgr.buffered_amount(ch) == 1100
    assert net.run(lambda: "bufferedamountlow" in pa.names(ch), max_time=30)
    assert pa.mgr.buffered_amount(ch) == 0
    assert pa.names(ch).count("bufferedamountlow") == 1


def test_max_message_size_raises_type_error() -> None:
    pa, pb, net = setup()
    ch = pa.mgr.create("big")
    assert net.run(lambda: ch.ready_state == "open", max_time=30)
    pa.assoc.remote_max_message_size = 65536
    with pytest.raises(TypeError, match="max-message-size of 65536"):
        pa.mgr.send(ch, b"x" * 65537)


def test_association_abort_errors_and_closes_channels() -> None:
    pa, pb, net = setup()
    ch = pa.mgr.create("x")
    assert net.run(lambda: ch.ready_state == "open" and not ch._awaiting_ack, max_time=30)
    rch = pb.remote("x")
    pa.assoc.abort()
    assert net.run(lambda: rch.ready_state == "closed", max_time=30)
    assert pb.names(rch)[-2:] == ["error", "close"]
    assert ch.ready_state == "closed"


def test_open_with_wrong_parity_is_ignored() -> None:
    pa, pb, net = setup()
    assert net.run(lambda: pa.assoc.is_established and pb.assoc.is_established)
    # The client must use even ids: an OPEN on an odd id from it is ignored.
    pa.assoc.send(3, 50, dcep.DataChannelOpen(0, 256, 0, "odd", "").marshal())
    net.run_for(1.0)
    assert 3 not in pb.mgr.channels


def test_channels_under_loss() -> None:
    pa, pb, net = setup(seed=5, loss=0.1, delay=0.02)
    ch = pa.mgr.create("lossy")
    assert net.run(lambda: ch.ready_state == "open" and not ch._awaiting_ack, max_time=120)
    msgs = [f"m{i}" * (i + 1) for i in range(200)]
    for m in msgs:
        pa.mgr.send(ch, m)
    rch = pb.remote("lossy")
    assert net.run(lambda: len(pb.messages(rch)) == 200, max_time=600)
    assert pb.messages(rch) == msgs


def _established(pa: Peer, pb: Peer, net: Network) -> None:
    assert net.run(lambda: pa.assoc.is_established and pb.assoc.is_established, max_time=30)


def test_in_band_open_fires_once_open_is_sent_not_at_ack() -> None:
    """webrtc-pc §6.2 / RFC 8832 §6: on an established association the
    channel opens at the next poll (the OPEN is sent), before the ACK; what
    the opener sends right away reaches the peer after its datachannel."""
    pa, pb, net = setup()
    _established(pa, pb, net)
    ch = pa.mgr.create("early")
    assert ch.ready_state == "connecting"  # not inside createDataChannel
    pa.poll()
    assert ch.ready_state == "open" and ch._awaiting_ack
    assert pa.names(ch) == ["open"]
    pa.mgr.send(ch, "first")
    pa.mgr.send(ch, b"second")
    assert net.run(lambda: len(pb.messages(pb.remote("early")))
                   == 2 if any(e[0] == "datachannel" for e in pb.events) else False,
                   max_time=30)
    rch = pb.remote("early")
    assert pb.names(rch) == ["datachannel", "open", "message", "message"]
    assert pb.messages(rch) == ["first", b"second"]
    assert pb.mgr.no_channel_dropped == 0
    assert net.run(lambda: not ch._awaiting_ack, max_time=30)


def test_in_band_created_before_connect_opens_at_connect() -> None:
    """Created before the association is up: the OPEN is queued and the
    channel opens when the association is established; a message sent at
    once follows the OPEN to the peer."""
    pa, pb, net = setup(seed=3, loss=0.1)
    ch = pa.mgr.create("queued")
    assert net.run(lambda: ch.ready_state == "open", max_time=60)
    pa.mgr.send(ch, "right away")
    assert net.run(lambda: any(e[0] == "message" for e in pb.events), max_time=120)
    rch = pb.remote("queued")
    assert pb.names(rch)[:3] == ["datachannel", "open", "message"]
    assert pb.messages(rch) == ["right away"]
    assert pb.mgr.no_channel_dropped == 0


def test_unordered_messages_wait_for_the_ack() -> None:
    """RFC 8832 §6: the opener does not send unordered messages before the
    ACK; they are held (and counted in bufferedAmount), then sent."""
    pa, pb, net = setup()
    _established(pa, pb, net)
    ch = pa.mgr.create("u", ordered=False, max_retransmits=5)
    pa.poll()
    assert ch.ready_state == "open" and ch._awaiting_ack
    for m in ("a", "bb", "ccc"):
        pa.mgr.send(ch, m)
    assert [p for _, p in ch._held] == [b"a", b"bb", b"ccc"]
    assert pa.mgr.buffered_amount(ch) == 6
    pa.mgr.send(ch, b"")  # an empty message adds no user bytes
    assert pa.mgr.buffered_amount(ch) == 6
    assert net.run(lambda: any(e[0] == "datachannel" for e in pb.events)
                   and len(pb.messages(pb.remote("u"))) == 4, max_time=30)
    assert not ch._awaiting_ack and not ch._held and ch._held_bytes == 0
    assert sorted(map(str, pb.messages(pb.remote("u")))) == sorted(["a", "bb", "ccc", "b''"])
    assert pb.mgr.no_channel_dropped == 0
    # After the ACK, unordered messages go straight to the association.
    pa.mgr.send(ch, "late")
    assert not ch._held
    assert net.run(lambda: "late" in pb.messages(pb.remote("u")), max_time=30)


def test_close_before_ack_drops_held_unordered_messages() -> None:
    pa, pb, net = setup()
    _established(pa, pb, net)
    ch = pa.mgr.create("u2", ordered=False)
    pa.poll()
    pa.mgr.send(ch, "never")
    pa.mgr.close(ch)
    assert not ch._held and ch._held_bytes == 0
    assert net.run(lambda: ch.ready_state == "closed", max_time=30)
    assert all(e[0] != "message" for e in pb.events)
