"""SCTP packets and chunks: annotated tables, vectors, round trips, aiortc
differential tests, hypothesis fuzz, no-allocation re-parse."""

from __future__ import annotations

import array
import struct
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcengine._core import crc, sctp
from rtcengine._core.buffer import ParseError as BaseParseError
from tests.vectors import load

CRC32C = load("sctp/crc32c.json")["vectors"]


def h(s: str) -> bytes:
    """Hex with spaces and '|' separators for annotation."""
    return bytes.fromhex(s.replace("|", " "))


def packet(*chunks: bytes, src: int = 5000, dst: int = 5000, vtag: int = 0x11223344) -> bytes:
    """A packet around raw chunk bytes, checksum computed independently
    (RFC 9260 §6.8: CRC-32c with the field zeroed, stored little-endian)."""
    body = b"".join(chunks)
    hdr = struct.pack("!HHL", src, dst, vtag)
    c = crc.crc32c(hdr + b"\0\0\0\0" + body)
    return hdr + struct.pack("<L", c) + body


# ------------------------------------------------------------------ checksum


@pytest.mark.parametrize("vec", CRC32C, ids=lambda v: v["name"])
def test_crc32c_vectors_through_a_packet(vec: dict[str, str]) -> None:
    data = h(vec["input_hex"])
    if len(data) < 12 or data[8:12] != b"\0\0\0\0":
        # Only inputs whose octets 8..11 are zero are "a packet with the
        # checksum field zeroed"; the others check the CRC through marshal.
        pkt = sctp.Packet(1, 2, 3, [sctp.UnknownChunk(0x3F, 0, data)]).marshal()
        zeroed = pkt[:8] + b"\0\0\0\0" + pkt[12:]
        assert pkt[8:12] == crc.crc32c(zeroed).to_bytes(4, "little")
        return
    stamped = data[:8] + bytes.fromhex(vec["crc_bytes_as_transmitted"]) + data[12:]
    assert sctp.verify_checksum(stamped)
    assert not sctp.verify_checksum(data[:8] + b"\1\0\0\0" + data[12:])
    # The CRC passes; what fails next is the chunk framing (zero length).
    with pytest.raises(sctp.ParseError, match="chunk length must be >= 4"):
        sctp.Packet.parse(stamped)


def test_checksum_is_stored_little_endian() -> None:
    pkt = sctp.Packet(5000, 5001, 0xDEADBEEF, [sctp.CookieAckChunk()]).marshal()
    assert pkt[:8] == h("1388 1389 deadbeef")
    assert pkt[12:] == h("0b 00 0004")
    expected = crc.crc32c(pkt[:8] + b"\0\0\0\0" + pkt[12:])
    assert struct.unpack("<L", pkt[8:12])[0] == expected
    parsed = sctp.Packet.parse(pkt)
    assert parsed.checksum == expected
    assert (parsed.source_port, parsed.destination_port, parsed.verification_tag) == (
        5000, 5001, 0xDEADBEEF)


def test_bad_checksum_and_skip_verification() -> None:
    pkt = bytearray(packet(h("0b 00 0004")))
    pkt[8] ^= 1
    with pytest.raises(sctp.ParseError, match="bad checksum"):
        sctp.Packet.parse(pkt)
    assert sctp.Packet.parse(pkt, verify_checksum=False).chunk_count == 1
    assert not sctp.verify_checksum(pkt)


def test_parse_error_is_the_shared_base() -> None:
    assert issubclass(sctp.ParseError, BaseParseError)
    assert issubclass(sctp.ParseError, ValueError)


# ------------------------------------------------------------------ valid chunks

VALID: list[tuple[str, bytes, type, dict[str, Any]]] = [
    ("DATA B|E, 3 bytes, PPID 51",
     h("00 03 0013 | 00000001 | 0002 0003 | 00000033 | 616263 00"),
     sctp.DataChunk,
     dict(flags=3, tsn=1, stream_id=2, stream_seq=3, protocol=51, user_data=b"abc",
          beginning=True, ending=True, unordered=False, immediate=False)),
    ("DATA U|I middle fragment, 4 bytes (no padding)",
     h("00 0c 0014 | ffffffff | ffff ffff | 00000035 | 01020304"),
     sctp.DataChunk,
     dict(flags=0x0C, tsn=0xFFFFFFFF, stream_id=0xFFFF, stream_seq=0xFFFF, protocol=53,
          user_data=b"\1\2\3\4", unordered=True, immediate=True, beginning=False)),
    ("DATA empty message: PPID 57 and one byte (RFC 8831 §6.6)",
     h("00 03 0011 | 00000009 | 0000 0000 | 00000039 | 00 000000"),
     sctp.DataChunk, dict(protocol=57, user_data=b"\0")),
    ("I-DATA first fragment carries the PPID",
     h("40 02 0015 | 0000000a | 0001 0000 | 00000007 | 00000032 | 03 000000"),
     sctp.IDataChunk,
     dict(flags=2, tsn=10, stream_id=1, mid=7, protocol=50, fsn=0, user_data=b"\3")),
    ("I-DATA later fragment carries the FSN",
     h("40 01 0016 | 0000000b | 0001 0000 | 00000007 | 00000002 | 0405 0000"),
     sctp.IDataChunk,
     dict(flags=1, tsn=11, mid=7, fsn=2, protocol=0, user_data=b"\4\5")),
    ("INIT with Forward-TSN, Supported Extensions, unknown 0x8123",
     h("01 00 0025 | 01020304 | 00100000 | ffff | ffff | 0a0b0c0d"
       "| c000 0004 | 8008 0007 c08240 00 | 8123 0005 99 000000"),
     sctp.InitChunk,
     dict(initiate_tag=0x01020304, advertised_rwnd=0x100000, outbound_streams=0xFFFF,
          inbound_streams=0xFFFF, initial_tsn=0x0A0B0C0D, forward_tsn_supported=True,
          supported_extensions=[0xC0, 0x82, 0x40], ecn_capable=False, state_cookie=None,
          params=[(0xC000, b""), (0x8008, h("c08240")), (0x8123, b"\x99")])),
    ("INIT last parameter padding inside the chunk length (RFC 9260 §3.2)",
     h("01 00 001c | 00000001 | 00001000 | 0001 | 0001 | 00000001 | 8008 0005 82 000000"),
     sctp.InitChunk, dict(supported_extensions=[0x82])),
    ("INIT with Initiate Tag 0 parses: the association discards it (RFC 9260 §3.3.2)",
     h("01 00 0014 | 00000000 | 00001000 | 0000 | 0000 | 00000001"),
     sctp.InitChunk, dict(initiate_tag=0, outbound_streams=0, params=[])),
    ("INIT ACK with State Cookie and ECN Capable",
     h("02 00 0020 | 0a0b0c0d | 00020000 | 0400 | 0400 | 00000064"
       "| 0007 0007 636f6f 00 | 8000 0004"),
     sctp.InitAckChunk,
     dict(initiate_tag=0x0A0B0C0D, state_cookie=b"coo", ecn_capable=True)),
    ("SACK with 2 gap blocks and 1 duplicate",
     h("03 00 001c | 00000064 | 00010000 | 0002 | 0001 | 0002 0003 | 0005 0005 | 00000060"),
     sctp.SackChunk,
     dict(cumulative_tsn=100, advertised_rwnd=0x10000, gaps=[(2, 3), (5, 5)],
          duplicates=[96])),
    ("HEARTBEAT with Heartbeat Info",
     h("04 00 000c | 0001 0008 01020304"),
     sctp.HeartbeatChunk, dict(info=h("01020304"), params=[(1, h("01020304"))])),
    ("HEARTBEAT ACK echoes it",
     h("05 00 000b | 0001 0007 aabbcc 00"),
     sctp.HeartbeatAckChunk, dict(info=h("aabbcc"))),
    ("ABORT, T bit, User-Initiated Abort + Protocol Violation",
     h("06 01 0014 | 000c 0006 6279 0000 | 000d 0008 78797a21"),
     sctp.AbortChunk,
     dict(flags=1, tag_reflected=True, causes=[(12, b"by"), (13, b"xyz!")])),
    ("ABORT with no cause",
     h("06 00 0004"), sctp.AbortChunk, dict(causes=[], tag_reflected=False)),
    ("SHUTDOWN",
     h("07 00 0008 | 12345678"), sctp.ShutdownChunk, dict(cumulative_tsn=0x12345678)),
    ("SHUTDOWN ACK", h("08 00 0004"), sctp.ShutdownAckChunk, dict(flags=0)),
    ("ERROR Invalid Stream Identifier + Stale Cookie",
     h("09 00 0014 | 0001 0008 0005 0000 | 0003 0008 000003e8"),
     sctp.ErrorChunk,
     dict(causes=[(1, h("00050000")), (3, h("000003e8"))])),
    ("COOKIE ECHO",
     h("0a 00 0009 | 6b756b6973 000000"),
     sctp.CookieEchoChunk, dict(cookie=b"kukis", body=b"kukis")),
    ("COOKIE ACK", h("0b 00 0004"), sctp.CookieAckChunk, dict()),
    ("SHUTDOWN COMPLETE, T bit", h("0e 01 0004"), sctp.ShutdownCompleteChunk,
     dict(tag_reflected=True)),
    ("FORWARD TSN with 2 streams",
     h("c0 00 0010 | 00000200 | 0001 0009 | 0002 0000"),
     sctp.ForwardTsnChunk, dict(cumulative_tsn=0x200, streams=[(1, 9), (2, 0)])),
    ("I-FORWARD-TSN with an unordered and an ordered stream",
     h("c2 00 0018 | 00000300 | 0004 0001 00000011 | 0005 0000 00000012"),
     sctp.IForwardTsnChunk,
     dict(cumulative_tsn=0x300, streams=[(4, True, 0x11), (5, False, 0x12)])),
    ("RE-CONFIG Outgoing SSN Reset Request, streams 1 and 3",
     h("82 00 0018 | 000d 0014 | 00000001 | 00000000 | 00000063 | 0001 0003"),
     sctp.ReconfigChunk,
     dict(params=[(13, h("00000001 00000000 00000063 0001 0003"))])),
    ("unknown type 0x3f (action 00: stop, discard)",
     h("3f 05 0006 | abcd 0000"),
     sctp.UnknownChunk, dict(type=0x3F, flags=5, value=h("abcd"), action=0)),
    ("unknown type 0xff (action 11: skip and report)",
     h("ff 00 0004"), sctp.UnknownChunk, dict(type=0xFF, action=3, value=b"")),
    ("PAD (RFC 4820) is kept raw",
     h("84 00 0008 | 00000000"), sctp.UnknownChunk, dict(type=0x84, action=2)),
]


@pytest.mark.parametrize("name,raw,cls,fields", VALID, ids=[v[0] for v in VALID])
def test_valid_chunk(name: str, raw: bytes, cls: type, fields: dict[str, Any]) -> None:
    chunk = sctp.Chunk.parse(raw)
    assert type(chunk) is cls
    assert chunk.type == raw[0]
    for key, value in fields.items():
        assert getattr(chunk, key) == value, key
    if cls is not sctp.UnknownChunk:
        assert type(cls.parse(raw)) is cls  # type: ignore[attr-defined]
    # Inside a packet, through walk_chunks and back out byte-exact.
    pkt = packet(raw)
    parsed = sctp.Packet.parse(pkt)
    assert parsed.chunk_count == 1
    (again,) = parsed.chunks
    assert again == chunk
    out = array.array("i", [0] * 8)
    assert sctp.walk_chunks(pkt, out) == 1
    assert list(out[:4]) == [raw[0], raw[1], 12, struct.unpack("!H", raw[2:4])[0]]
    if name.startswith("INIT last parameter padding"):
        return  # re-marshalled without the final pad in the length (see below)
    assert chunk.marshal() == raw
    assert parsed.marshal() == pkt


def test_last_parameter_padding_is_written_outside_the_length() -> None:
    # RFC 9260 §3.2: the last parameter's padding is the chunk's padding.
    raw = VALID[6][1]
    chunk = sctp.Chunk.parse(raw)
    assert chunk.marshal() == raw[:2] + h("0019") + raw[4:]


def test_unpadded_chunk_alone_parses() -> None:
    # Chunk.parse takes one chunk with or without its padding.
    data = h("00 03 0011 | 00000001 | 0000 0000 | 00000033 | 61")
    assert sctp.DataChunk.parse(data).user_data == b"a"
    assert sctp.DataChunk.parse(data + b"\0\0\0").user_data == b"a"


# ------------------------------------------------------------------ negative

NEGATIVE_PACKETS: list[tuple[str, bytes, str]] = [
    ("packet shorter than 12", h("1388 1388 00000000 000000"),
     "SCTP packet too short: need 12 bytes, have 11"),
    ("chunk length < 4", packet(h("0b 00 0003 00")), "chunk length must be >= 4, got 3"),
    ("chunk past end", packet(h("0a 00 0010 | 00000000")),
     "chunk past end: length 16 at offset 12, have 8"),
    ("chunk header past end (3 stray bytes)", packet(h("0b 00 0004"), h("000000")),
     "chunk header past end: need 4 bytes at offset 16, have 3"),
    ("last chunk's padding missing", packet(h("0a 00 0005 | 61")),
     "chunk padding past end: length 5 at offset 12 needs 8 bytes, have 5"),
    ("DATA shorter than its header", packet(h("00 03 000c | 00000001 | 0000 0000")),
     r"DATA chunk too short: need 17 bytes, have 12"),
    ("DATA with no user data (RFC 9260 §6.2)",
     packet(h("00 03 0010 | 00000001 | 0000 0000 | 00000033")), "DATA chunk has no user data"),
    ("I-DATA with no user data",
     packet(h("40 03 0014 | 00000001 | 0000 0000 | 00000000 | 00000033")),
     "I-DATA chunk has no user data"),
    ("SACK shorter than 16", packet(h("03 00 000c | 00000001 | 00001000 | 0000 0000")[:12]),
     "SACK chunk too short: need 16 bytes, have 12"),
    ("SACK gap count past end",
     packet(h("03 00 0014 | 00000001 | 00001000 | 0002 0000 | 0001 0002")),
     "SACK gap blocks and duplicate TSNs past end: 2 gaps and 0 duplicates need 24"),
    ("SACK duplicate count past end",
     packet(h("03 00 0010 | 00000001 | 00001000 | 0000 0001")),
     "0 gaps and 1 duplicates need 20 bytes, chunk length is 16"),
    ("INIT shorter than 20", packet(h("01 00 0010 | 00000001 | 00001000 | 0001 0001")),
     "INIT chunk too short: need 20 bytes, have 16"),
    ("INIT parameter length < 4",
     packet(h("01 00 0018 | 00000001 | 00001000 | 0001 | 0001 | 00000001 | c000 0002")),
     "INIT parameter length must be >= 4, got 2"),
    ("INIT parameter past end",
     packet(h("01 00 0018 | 00000001 | 00001000 | 0001 | 0001 | 00000001 | 0007 0010")),
     "INIT parameter past end: length 16, have 4 bytes"),
    ("INIT ACK parameter header past end",
     packet(h("02 00 0016 | 00000001 | 00001000 | 0001 | 0001 | 00000001 | 0007 0000")),
     "INIT ACK parameter header past end: need 4 bytes, have 2"),
    ("ABORT cause past end", packet(h("06 00 0008 | 000c 0009")),
     "ABORT error cause past end: length 9, have 4 bytes"),
    ("ERROR cause length < 4", packet(h("09 00 0008 | 0001 0000")),
     "ERROR error cause length must be >= 4, got 0"),
    ("HEARTBEAT parameter past end", packet(h("04 00 0008 | 0001 0010")),
     "HEARTBEAT parameter past end"),
    ("SHUTDOWN without cumulative TSN", packet(h("07 00 0004")),
     "SHUTDOWN chunk too short: need 8 bytes, have 4"),
    ("FORWARD TSN stream list not whole entries",
     packet(h("c0 00 000a | 00000001 | 0001 0000")),
     "FORWARD TSN stream list length 2 is not a multiple of 4"),
    ("FORWARD TSN too short", packet(h("c0 00 0004")), "FORWARD TSN chunk too short"),
    ("I-FORWARD-TSN entry cut", packet(h("c2 00 000c | 00000001 | 0001 0000")),
     "I-FORWARD-TSN stream list length 4 is not a multiple of 8"),
    ("RE-CONFIG Outgoing SSN Reset Request too short",
     packet(h("82 00 000c | 000d 0008 00000001")),
     "Outgoing SSN Reset Request too short: need 16 bytes, have 8"),
    ("RE-CONFIG stream list odd length",
     packet(h("82 00 0015 | 000d 0011 00000001 00000000 00000001 07 000000")),
     "stream list has odd length 1"),
    ("RE-CONFIG Response of a wrong size",
     packet(h("82 00 000c | 0010 0008 00000001")),
     "Re-configuration Response length must be 12 or 20, got 8"),
    ("RE-CONFIG Add Streams too short",
     packet(h("82 00 000c | 0011 0008 00000001")),
     "Add Streams Request too short: need 12 bytes, have 8"),
]


@pytest.mark.parametrize("name,raw,match", NEGATIVE_PACKETS, ids=[n[0] for n in NEGATIVE_PACKETS])
def test_negative_packet(name: str, raw: bytes, match: str) -> None:
    with pytest.raises(sctp.ParseError, match=match):
        sctp.Packet.parse(raw)
    with pytest.raises(sctp.ParseError):
        sctp.parse_packet(raw)


def test_framing_errors_also_from_walk_chunks() -> None:
    out = array.array("i", [0] * 64)
    for _name, raw, match in NEGATIVE_PACKETS[:5]:
        with pytest.raises(sctp.ParseError, match=match):
            sctp.walk_chunks(raw, out)
    # walk_chunks checks framing only: the association sees the empty DATA
    # (to answer with ABORT "No User Data", RFC 9260 §6.2).
    assert sctp.walk_chunks(NEGATIVE_PACKETS[6][1], out) == 1
    assert list(out[:4]) == [0, 3, 12, 16]


NEGATIVE_CHUNKS: list[tuple[str, Any, bytes, str]] = [
    ("empty input", sctp.Chunk, b"", "SCTP chunk too short: need 4 bytes, have 0"),
    ("wrong type for the class", sctp.SackChunk, h("0b 00 0004"),
     "expected SACK chunk, got COOKIE ACK"),
    ("stray bytes after the padding", sctp.Chunk, h("0b 00 0004 00000000"),
     "followed by 4 stray bytes"),
    ("length past the input", sctp.DataChunk, h("00 00 0020 00000000"),
     "SCTP chunk past end: length 32, have 8 bytes"),
]


@pytest.mark.parametrize("name,cls,raw,match", NEGATIVE_CHUNKS, ids=[n[0] for n in NEGATIVE_CHUNKS])
def test_negative_chunk(name: str, cls: Any, raw: bytes, match: str) -> None:
    with pytest.raises(sctp.ParseError, match=match):
        cls.parse(raw)


def test_not_a_buffer_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        sctp.Packet.parse("text")  # type: ignore[arg-type]


# ------------------------------------------------------------------ helpers


def test_action_bits_and_names() -> None:
    # RFC 9260 §3.2 / §3.2.1: the two upper bits.
    assert [sctp.chunk_action(t) for t in (0x3F, 0x40, 0x80, 0xC0)] == [0, 1, 2, 3]
    assert [sctp.param_action(t) for t in (0x0007, 0x4000, 0x8008, 0xC000)] == [0, 1, 2, 3]
    assert sctp.cause_name(13) == "Protocol Violation"
    assert sctp.cause_name(9) == "No User Data"
    assert sctp.cause_name(999) == "Unknown cause 999"
    chunk = sctp.AbortChunk(causes=[(12, b""), (1, b"\0\1\0\0")])
    assert chunk.cause_names() == ["User-Initiated Abort", "Invalid Stream Identifier"]


def test_init_helpers_set_and_report_unrecognized() -> None:
    init = sctp.InitChunk(initiate_tag=1, params=[(0x8123, b"x"), (0x4001, b"")])
    init.forward_tsn_supported = True
    init.supported_extensions = [0x82, 0xC0]
    init.state_cookie = b"cookie"
    assert init.forward_tsn_supported and init.supported_extensions == [0x82, 0xC0]
    assert init.unrecognized_params() == [(0x8123, b"x", 2), (0x4001, b"", 1)]
    init.forward_tsn_supported = False
    init.state_cookie = None
    assert init.get_param(sctp.PARAM_FORWARD_TSN_SUPPORTED) is None
    assert init.state_cookie is None
    assert sctp.InitChunk.parse(init.marshal()) == init


def test_reconfig_typed_params_round_trip() -> None:
    params: list[Any] = [
        sctp.OutgoingSsnResetRequest(1, 2, 3, [4, 5]),
        sctp.IncomingSsnResetRequest(6, [7]),
        sctp.SsnTsnResetRequest(8),
        sctp.ReconfigResponse(9, sctp.RECONFIG_SUCCESS_PERFORMED),
        sctp.ReconfigResponse(10, sctp.RECONFIG_IN_PROGRESS, 11, 12),
        sctp.AddStreamsRequest(13, 14),
        sctp.AddStreamsRequest(15, 16, incoming=True),
    ]
    chunk = sctp.ReconfigChunk(params=[p.to_param() for p in params] + [(0x99, b"raw")])
    parsed = sctp.ReconfigChunk.parse(chunk.marshal())
    assert parsed.requests == params + [(0x99, b"raw")]
    assert [p.param_type for p in params] == [13, 14, 15, 16, 16, 17, 18]
    # aiortc's names are the same classes.
    assert sctp.StreamResetOutgoingParam is sctp.OutgoingSsnResetRequest
    with pytest.raises(sctp.ParseError):
        sctp.OutgoingSsnResetRequest.parse(b"\0" * 11)


# ------------------------------------------------------------------ marshal


def test_marshal_into_offset_and_too_small() -> None:
    chunk = sctp.DataChunk(tsn=1, user_data=b"abcde")
    assert chunk.marshal_size() == 24
    buf = bytearray(30)
    assert chunk.marshal_into(buf, 6) == 24
    assert bytes(buf[6:]) == chunk.marshal()
    with pytest.raises(ValueError, match="buffer too small"):
        chunk.marshal_into(bytearray(23))
    with pytest.raises(ValueError):
        chunk.marshal_into(buf, 7)
    pkt = sctp.Packet(1, 2, 3, [chunk, sctp.SackChunk(cumulative_tsn=4)])
    assert pkt.marshal_size() == 12 + 24 + 16
    out = bytearray(100)
    assert pkt.marshal_into(memoryview(out), 10) == 52
    assert bytes(out[10:62]) == pkt.marshal() == bytes(pkt)
    with pytest.raises(ValueError):
        pkt.marshal_into(bytearray(51))
    assert sctp.Packet.parse(out[10:62]).chunks == [chunk, sctp.SackChunk(cumulative_tsn=4)]


def test_marshal_rejects_bad_values() -> None:
    with pytest.raises(OverflowError):
        sctp.DataChunk(tsn=-1)
    with pytest.raises(OverflowError):
        sctp.DataChunk(flags=256)
    with pytest.raises(ValueError, match="too long"):
        sctp.CookieEchoChunk(cookie=b"x" * 65532).marshal()
    with pytest.raises(TypeError):
        sctp.DataChunk(user_data=None)  # type: ignore[arg-type]


def test_packet_chunks_replaced_and_empty_packet() -> None:
    pkt = sctp.Packet.parse(packet())
    assert pkt.chunks == [] and pkt.chunk_count == 0
    pkt.chunks = [sctp.CookieAckChunk()]
    assert sctp.Packet.parse(pkt.marshal()).chunks == [sctp.CookieAckChunk()]


# ------------------------------------------------------------------ writer


def test_packet_writer_matches_packet_marshal() -> None:
    w = sctp.PacketWriter(mtu=1200)
    w.begin(5000, 5000, 0xCAFEBABE)
    assert w.add_data(10, 1, 2, 51, b"hello", flags=3)
    assert w.add_idata(11, 1, 5, 0, 53, bytearray(b"x"), flags=2)
    assert w.add_idata(12, 1, 5, 1, 53, b"yz", flags=1)
    assert w.add_sack(9, 4096, [(2, 3)], [7, 8])
    assert w.add_forward_tsn(8, [(1, 2)])
    assert w.add_chunk(sctp.CookieAckChunk())
    assert w.add_raw(0xFF, 1, b"\1\2")
    n = w.finish()
    expected = sctp.Packet(5000, 5000, 0xCAFEBABE, [
        sctp.DataChunk(3, 10, 1, 2, 51, b"hello"),
        sctp.IDataChunk(2, 11, 1, 5, 0, 53, b"x"),
        sctp.IDataChunk(1, 12, 1, 5, 1, 0, b"yz"),
        sctp.SackChunk(0, 9, 4096, [(2, 3)], [7, 8]),
        sctp.ForwardTsnChunk(0, 8, [(1, 2)]),
        sctp.CookieAckChunk(),
        sctp.UnknownChunk(0xFF, 1, b"\1\2"),
    ]).marshal()
    assert w.getvalue() == expected and n == len(expected) == w.length
    assert w.chunk_count == 7


def test_packet_writer_budget() -> None:
    buf = bytearray(100)
    w = sctp.PacketWriter(mtu=48, buf=buf, offset=4)
    w.begin(1, 2, 3)
    assert w.remaining == 36
    assert w.add_data(1, 0, 0, 53, b"a" * 17)  # 16 + 17 + 3 pad = 36
    assert w.remaining == 0
    assert not w.add_data(2, 0, 0, 53, b"b")  # does not fit: nothing written
    assert not w.add_chunk(sctp.CookieAckChunk())
    n = w.finish()
    assert n == 48 and sctp.Packet.parse(buf[4:52]).chunk_count == 1
    with pytest.raises(ValueError, match="begin"):
        w.add_data(3, 0, 0, 53, b"c")
    w.begin(1, 2, 3)
    with pytest.raises(ValueError, match="DATA user data"):
        w.add_data(3, 0, 0, 53, b"")
    with pytest.raises(ValueError):
        sctp.PacketWriter(mtu=64, buf=bytearray(32))
    with pytest.raises(ValueError):
        sctp.PacketWriter(mtu=8)


def test_packet_writer_many_sack_gaps_fall_back() -> None:
    gaps = [(i * 2 + 1, i * 2 + 1) for i in range(200)]
    w = sctp.PacketWriter(mtu=2000)
    w.begin(1, 2, 3)
    assert w.add_sack(1, 2, gaps, [])
    w.finish()
    (sack,) = sctp.Packet.parse(w.getvalue()).chunks
    assert isinstance(sack, sctp.SackChunk) and sack.gaps == gaps


# ------------------------------------------------------------------ walk_chunks


def test_walk_chunks_bundle_and_buffers() -> None:
    chunks = [sctp.DataChunk(tsn=i, user_data=bytes(i + 1)) for i in range(5)]
    pkt = sctp.Packet(1, 2, 3, chunks).marshal()
    out = array.array("i", [0] * 20)
    assert sctp.walk_chunks(pkt, out) == 5
    offsets = [out[4 * i + 2] for i in range(5)]
    lengths = [out[4 * i + 3] for i in range(5)]
    assert lengths == [17, 18, 19, 20, 21]
    for off, length, c in zip(offsets, lengths, chunks, strict=True):
        assert pkt[off:off + length] == c.marshal()[:length]
    with pytest.raises(ValueError, match="more than 4 chunks"):
        sctp.walk_chunks(pkt, array.array("i", [0] * 16))
    with pytest.raises(TypeError, match="32-bit"):
        sctp.walk_chunks(pkt, array.array("h", [0] * 40))
    with pytest.raises(BufferError):
        sctp.walk_chunks(pkt, b"\0" * 80)  # read-only
    np = pytest.importorskip("numpy")
    arr = np.zeros((8, 4), dtype=np.int32)
    assert sctp.walk_chunks(bytearray(pkt), arr) == 5
    assert arr[:5, 3].tolist() == lengths


# ------------------------------------------------------------------ aiortc

a = pytest.importorskip("aiortc.rtcsctptransport")

# The aiortc strategies are slow to draw: a third of the profile's examples
# (the "long" profile still runs thousands).
fewer = settings(max_examples=max(100, (settings.default.max_examples or 400) // 3))

u32 = st.integers(0, 2**32 - 1)
u16 = st.integers(0, 2**16 - 1)
params_st = st.lists(st.tuples(u16, st.binary(max_size=20)), max_size=4)


def reconfig_param() -> Any:
    return st.one_of(
        st.builds(lambda a_, b_, c_, s_: (13, bytes(a.StreamResetOutgoingParam(a_, b_, c_, s_))),
                  u32, u32, u32, st.lists(u16, max_size=4)),
        st.builds(lambda a_, b_: (16, bytes(a.StreamResetResponseParam(a_, b_))), u32, u32),
        st.builds(lambda a_, b_: (17, bytes(a.StreamAddOutgoingParam(a_, b_))), u32, u16),
    )


def aiortc_chunks() -> Any:
    def data(flags: int, tsn: int, sid: int, ssn: int, ppid: int, ud: bytes) -> Any:
        c = a.DataChunk(flags=flags)
        c.tsn, c.stream_id, c.stream_seq, c.protocol, c.user_data = tsn, sid, ssn, ppid, ud
        return c

    def init(cls: Any, tag: int, rwnd: int, os_: int, is_: int, itsn: int, params: Any) -> Any:
        c = cls()
        c.initiate_tag, c.advertised_rwnd, c.outbound_streams = tag, rwnd, os_
        c.inbound_streams, c.initial_tsn, c.params = is_, itsn, params
        return c

    def sack(cum: int, rwnd: int, gaps: Any, dups: Any) -> Any:
        c = a.SackChunk()
        c.cumulative_tsn, c.advertised_rwnd, c.gaps, c.duplicates = cum, rwnd, gaps, dups
        return c

    def fwd(cum: int, streams: Any) -> Any:
        c = a.ForwardTsnChunk()
        c.cumulative_tsn, c.streams = cum, streams
        return c

    def tlv(cls: Any, flags: int, params: Any) -> Any:
        c = cls(flags=flags)
        c.params = params
        return c

    def shutdown(cum: int) -> Any:
        c = a.ShutdownChunk()
        c.cumulative_tsn = cum
        return c

    return st.one_of(
        st.builds(data, st.integers(0, 15), u32, u16, u16, u32, st.binary(min_size=1, max_size=64)),
        st.builds(init, st.sampled_from([a.InitChunk, a.InitAckChunk]), u32, u32, u16, u16, u32,
                  params_st),
        st.builds(sack, u32, u32, st.lists(st.tuples(u16, u16), max_size=5),
                  st.lists(u32, max_size=5)),
        st.builds(fwd, u32, st.lists(st.tuples(u16, u16), max_size=5)),
        st.builds(tlv, st.sampled_from([a.AbortChunk, a.ErrorChunk, a.HeartbeatChunk,
                                        a.HeartbeatAckChunk]),
                  st.integers(0, 1), st.lists(st.tuples(st.sampled_from([1, 12, 13, 99]),
                                                        st.binary(max_size=12)), max_size=3)),
        st.builds(tlv, st.just(a.ReconfigChunk), st.just(0), st.lists(reconfig_param(),
                                                                      max_size=3)),
        st.builds(shutdown, u32),
        st.builds(lambda b: a.CookieEchoChunk(body=b), st.binary(max_size=40)),
        st.sampled_from([a.CookieAckChunk(), a.ShutdownAckChunk(), a.ShutdownCompleteChunk()]),
    )


def same_fields(ours: Any, theirs: Any) -> None:
    assert ours.type == theirs.type and ours.flags == theirs.flags
    for name in ("tsn", "stream_id", "stream_seq", "protocol", "user_data", "initiate_tag",
                 "advertised_rwnd", "outbound_streams", "inbound_streams", "initial_tsn",
                 "params", "cumulative_tsn", "gaps", "duplicates", "streams"):
        if hasattr(theirs, name):
            mine = getattr(ours, name)
            want = getattr(theirs, name)
            if name in ("gaps", "streams"):
                want = [tuple(x) for x in want]
            assert mine == want, name
    if isinstance(theirs, a.CookieEchoChunk):
        assert ours.cookie == theirs.body


@fewer
@given(st.lists(reconfig_param(), min_size=1, max_size=3))
def test_differential_reconfig_params_vs_aiortc(params: Any) -> None:
    theirs = a.ReconfigChunk()
    theirs.params = params
    ours = sctp.ReconfigChunk.parse(bytes(theirs))
    for (t, v), typed in zip(params, ours.requests, strict=True):
        want = a.RECONFIG_PARAM_TYPES[t].parse(v)
        for name in vars(want):
            assert getattr(typed, name) == getattr(want, name), name
        assert bytes(typed) == v


@fewer
@given(aiortc_chunks())
def test_differential_chunks_vs_aiortc(theirs: Any) -> None:
    raw = bytes(theirs)
    ours = sctp.Chunk.parse(raw)
    same_fields(ours, theirs)
    assert ours.marshal() == raw
    # And aiortc parses ours into the same fields.
    back = a.CHUNK_TYPES[raw[0]](flags=raw[1], body=ours.marshal()[4:struct.unpack("!H", raw[2:4])[0]])
    same_fields(ours, back)


@fewer
@given(st.lists(aiortc_chunks(), min_size=1, max_size=4), u16, u16, u32)
def test_differential_packets_vs_aiortc(chunks: Any, src: int, dst: int, vtag: int) -> None:
    # aiortc serializes one chunk per call: bundle the chunk bytes the same way.
    body = b"".join(bytes(c) for c in chunks)
    first = a.serialize_packet(src, dst, vtag, chunks[0])
    hdr = first[:8]
    raw = hdr + struct.pack("<L", crc.crc32c(hdr + b"\0\0\0\0" + body)) + body
    theirs = a.parse_packet(raw)
    ours = sctp.parse_packet(raw)
    assert ours[:3] == theirs[:3]
    assert len(ours[3]) == len(theirs[3])
    for o, t in zip(ours[3], theirs[3], strict=True):
        same_fields(o, t)
    assert sctp.Packet.parse(raw).marshal() == raw
    assert sctp.Packet.parse(first).marshal() == first


def test_aiortc_parses_our_packets() -> None:
    pkt = sctp.Packet(5000, 5000, 42, [sctp.DataChunk(3, 1, 2, 3, 51, b"hello"),
                                        sctp.SackChunk(0, 5, 6, [(1, 2)], [3])]).marshal()
    src, dst, tag, chunks = a.parse_packet(pkt)
    assert (src, dst, tag) == (5000, 5000, 42)
    assert chunks[0].user_data == b"hello" and chunks[1].gaps == [(1, 2)]


# ------------------------------------------------------------------ fuzz

SEEDS = [packet(v[1]) for v in VALID] + [
    sctp.Packet(1, 2, 3, [sctp.DataChunk(tsn=i, user_data=b"x" * i) for i in range(1, 6)]).marshal()
]


def _parse_all(data: bytes) -> None:
    try:
        pkt = sctp.Packet.parse(data, verify_checksum=False)
    except sctp.ParseError:
        pass
    else:
        chunks = pkt.chunks
        assert len(chunks) == pkt.chunk_count
        for c in chunks:
            c.marshal()
            if isinstance(c, sctp.ReconfigChunk):
                assert len(c.requests) == len(c.params)
        assert sctp.Packet.parse(pkt.marshal()).chunks == chunks
    out = array.array("i", [0] * 4 * 400)
    try:
        n = sctp.walk_chunks(data, out)
    except sctp.ParseError:
        pass
    else:
        for i in range(n):
            off, length = out[4 * i + 2], out[4 * i + 3]
            assert 12 <= off and off + length <= len(data) and length >= 4
    try:
        sctp.Chunk.parse(data)
    except sctp.ParseError:
        pass


@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    _parse_all(data)


@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)),
                                        max_size=6), st.integers(0, 400))
def test_fuzz_mutated_packets(seed: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(seed)
    for pos, val in flips:
        if pos < len(data):
            data[pos] = val
    _parse_all(bytes(data[: max(cut, 12)]))
    _parse_all(bytes(data[12:]))  # chunk bytes alone, for Chunk.parse


# ------------------------------------------------------------------ allocations


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_reparse_into_allocates_nothing(kind: type) -> None:
    data = kind(SEEDS[-1])
    other = kind(SEEDS[0])
    pkt = sctp.Packet()
    parse_into = pkt.parse_into
    for _ in range(100):
        parse_into(data)
        parse_into(other)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10_000):
            parse_into(data)
            parse_into(other)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 1024
    assert pkt.chunk_count == 1


def test_materialized_chunks_survive_reparse() -> None:
    buf = bytearray(SEEDS[-1])
    pkt = sctp.Packet.parse(buf)
    chunks = pkt.chunks
    buf.extend(b"\0" * 4)  # the export is released: resizing is allowed
    buf[16:] = bytes(len(buf) - 16)  # chunks are copies
    pkt.parse_into(SEEDS[0])
    assert [c.tsn for c in chunks] == [1, 2, 3, 4, 5]  # type: ignore[attr-defined]
