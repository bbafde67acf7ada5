"""DCEP (RFC 8832): dcep.json vectors, annotated negatives, round trips,
aiortc's wire format, hypothesis fuzz."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcengine._core import dcep
from rtcengine._core.buffer import ParseError as BaseParseError
from tests.vectors import load

VECTORS = load("sctp/dcep.json")
EXAMPLES = VECTORS["examples"]


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace("|", " "))


@pytest.mark.parametrize("ex", EXAMPLES, ids=lambda e: e["id"])
def test_dcep_json_examples(ex: dict[str, Any]) -> None:
    raw = h(ex["hex"])
    msg = dcep.parse_message(raw)
    dec = ex["decoded"]
    if dec["message_type"].startswith("0x02"):
        assert isinstance(msg, dcep.DataChannelAck)
        assert msg.message_type == dcep.DATA_CHANNEL_ACK == 2
        assert dcep.DataChannelAck.parse(raw) == msg
        assert msg.marshal() == b"\x02"  # we write the RFC's one octet
        return
    assert isinstance(msg, dcep.DataChannelOpen)
    assert msg.message_type == dcep.DATA_CHANNEL_OPEN == 3
    assert msg.channel_type == int(dec["channel_type"], 16)
    assert msg.channel_type_name == dec["channel_type_name"]
    assert msg.priority == dec["priority"]
    assert msg.reliability_parameter == dec["reliability_parameter"]
    assert msg.label == dec["label"] and msg.protocol == dec["protocol"]
    exp = ex["expected"]
    assert (msg.label, msg.protocol, msg.priority) == (exp["label"], exp["protocol"], exp["priority"])
    assert msg.marshal() == raw
    assert dcep.DataChannelOpen.parse(raw) == msg


def test_channel_types_ppids_and_priorities_match_the_vector_file() -> None:
    layout = VECTORS["layout_data_channel_open"][1]["values"]
    for hex_value, name in layout.items():
        const = getattr(dcep, "DATA_CHANNEL_" + name.replace(" (ordered)", ""))
        assert const == int(hex_value, 16)
    ppids = {int(k): v for k, v in VECTORS["ppids"].items()}
    assert ppids[dcep.PPID_DCEP] == "WebRTC DCEP"
    assert ppids[dcep.PPID_STRING] == "WebRTC String"
    assert ppids[dcep.PPID_BINARY_PARTIAL] == "WebRTC Binary Partial (deprecated)"
    assert ppids[dcep.PPID_BINARY] == "WebRTC Binary"
    assert ppids[dcep.PPID_STRING_PARTIAL] == "WebRTC String Partial (deprecated)"
    assert ppids[dcep.PPID_STRING_EMPTY] == "WebRTC String Empty"
    assert ppids[dcep.PPID_BINARY_EMPTY] == "WebRTC Binary Empty"
    assert [dcep.PRIORITY_BELOW_NORMAL, dcep.PRIORITY_NORMAL, dcep.PRIORITY_HIGH,
            dcep.PRIORITY_EXTRA_HIGH] == [128, 256, 512, 1024]


def test_reliability_helpers() -> None:
    rexmit = dcep.DataChannelOpen(0x81, reliability_parameter=0)
    assert not rexmit.ordered and rexmit.max_retransmits == 0 and rexmit.max_packet_lifetime is None
    timed = dcep.DataChannelOpen(0x02, reliability_parameter=3000)
    assert timed.ordered and timed.max_packet_lifetime == 3000 and timed.max_retransmits is None
    assert dcep.DataChannelOpen().max_retransmits is None


def test_utf8_lengths_are_byte_counts() -> None:
    msg = dcep.DataChannelOpen(label="ünï", protocol="日本")
    raw = msg.marshal()
    assert raw[8:12] == h("0005 0006")
    assert dcep.parse_message(raw) == msg


NEGATIVE = [
    ("empty", b"", "DCEP message too short: need 1 bytes, have 0"),
    ("unknown message type", h("04"), "unknown DCEP message type 0x04"),
    ("truncated OPEN header", h("03 00 0000 00000000 0003"),
     "DATA_CHANNEL_OPEN too short: need 12 bytes, have 10"),
    ("label length past end", h("03 00 0000 00000000 0005 0000 | 666f6f"),
     "label past end: label length 5 needs 17 bytes, have 15"),
    ("protocol length past end", h("03 00 0000 00000000 0003 0004 | 666f6f | 6261"),
     "protocol past end: protocol length 4 needs 19 bytes, have 17"),
    ("invalid UTF-8 label", h("03 00 0000 00000000 0002 0000 | c328"),
     "DATA_CHANNEL_OPEN label is not UTF-8"),
    ("invalid UTF-8 protocol", h("03 00 0000 00000000 0000 0001 | ff"),
     "DATA_CHANNEL_OPEN protocol is not UTF-8"),
    ("unknown channel type", h("03 03 0000 00000000 0000 0000"),
     "unknown channel type 0x03"),
]


@pytest.mark.parametrize("name,raw,match", NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_negative(name: str, raw: bytes, match: str) -> None:
    with pytest.raises(dcep.ParseError, match=match):
        dcep.parse_message(raw)


def test_wrong_class_and_error_base() -> None:
    assert issubclass(dcep.ParseError, BaseParseError)
    with pytest.raises(dcep.ParseError, match="expected DATA_CHANNEL_ACK"):
        dcep.DataChannelAck.parse(h("03"))
    with pytest.raises(dcep.ParseError, match="DATA_CHANNEL_ACK too short"):
        dcep.DataChannelAck.parse(b"")
    with pytest.raises(dcep.ParseError, match="expected DATA_CHANNEL_OPEN"):
        dcep.DataChannelOpen.parse(h("02"))
    with pytest.raises(TypeError):
        dcep.parse_message("03")  # type: ignore[arg-type]


def test_trailing_bytes_after_open_are_ignored() -> None:
    raw = dcep.DataChannelOpen(label="a").marshal()
    assert dcep.parse_message(raw + b"xyz").label == "a"  # type: ignore[union-attr]


def test_marshal_into_offset_and_too_small() -> None:
    msg = dcep.DataChannelOpen(0x82, 512, 10, "label", "proto")
    n = msg.marshal_size()
    assert n == 12 + 5 + 5
    buf = bytearray(n + 3)
    assert msg.marshal_into(buf, 3) == n
    assert bytes(buf[3:]) == bytes(msg)
    with pytest.raises(ValueError, match="buffer too small"):
        msg.marshal_into(bytearray(n - 1))
    ack = dcep.DataChannelAck()
    one = bytearray(2)
    assert ack.marshal_into(one, 1) == 1 and one == b"\0\2"
    with pytest.raises(ValueError):
        ack.marshal_into(bytearray(0))
    with pytest.raises(ValueError, match="label longer"):
        dcep.DataChannelOpen(label="x" * 65536).marshal()
    with pytest.raises(OverflowError):
        dcep.DataChannelOpen(priority=65536)


def aiortc_open(channel_type: int, priority: int, reliability: int, label: str,
                protocol: str) -> bytes:
    # The bytes aiortc's RTCSctpTransport._data_channel_open builds (it has no
    # standalone encoder; for ASCII its character counts equal byte counts).
    return struct.pack("!BBHLHH", 3, channel_type, priority, reliability, len(label),
                       len(protocol)) + label.encode() + protocol.encode()


ascii_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)


@given(st.sampled_from([0, 1, 2, 0x80, 0x81, 0x82]), st.integers(0, 0xFFFF),
       st.integers(0, 2**32 - 1), ascii_text, ascii_text)
def test_same_bytes_as_aiortc(ct: int, prio: int, rel: int, label: str, proto: str) -> None:
    raw = aiortc_open(ct, prio, rel, label, proto)
    msg = dcep.DataChannelOpen(ct, prio, rel, label, proto)
    assert msg.marshal() == raw
    assert dcep.parse_message(raw) == msg


@given(st.sampled_from([0, 1, 2, 0x80, 0x81, 0x82]), st.integers(0, 0xFFFF),
       st.integers(0, 2**32 - 1), st.text(max_size=30), st.text(max_size=30))
def test_round_trip_unicode(ct: int, prio: int, rel: int, label: str, proto: str) -> None:
    msg = dcep.DataChannelOpen(ct, prio, rel, label, proto)
    assert dcep.DataChannelOpen.parse(msg.marshal()) == msg


SEEDS = [h(e["hex"]) for e in EXAMPLES]


def _parse(data: bytes) -> None:
    try:
        msg = dcep.parse_message(data)
    except dcep.ParseError:
        return
    assert dcep.parse_message(msg.marshal()) == msg


@given(st.binary(max_size=64))
def test_fuzz_random(data: bytes) -> None:
    _parse(data)
    _parse(b"\x03" + data)


@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 255)),
                                        max_size=4), st.integers(0, 40))
def test_fuzz_mutated(seed: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(seed)
    for pos, val in flips:
        if pos < len(data):
            data[pos] = val
    _parse(bytes(data[:cut]))
    _parse(bytes(data))
