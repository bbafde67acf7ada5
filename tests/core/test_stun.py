"""STUN codec: RFC 5769 / RFC 8489 B.1 vectors, named tables, round trips,
integrity, differential tests against aioice, fuzz, no-alloc re-parse."""

from __future__ import annotations

import array
import struct
import tracemalloc
import zlib
from typing import Any

import aioice.stun as astun
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcengine._core import stun
from rtcengine._core.buffer import ParseError as BaseParseError
from rtcengine._core.hmac import HmacKey
from tests.vectors import load

RFC5769 = load("stun/rfc5769.json")["vectors"]
B1 = load("stun/rfc8489_b1_sha256.json")
TID = bytes.fromhex("b7e7a701bc34d686fa87dfae")
PWD = b"VOkJxbRl1RmTxUk/WvJxBt"


def vector_key(vec: dict[str, Any]) -> bytes:
    c = vec["credentials"]
    if c["mechanism"] == "short-term":
        return stun.short_term_key(c["password"])
    return stun.long_term_key(c["username"], c["realm"], c["password_before_saslprep"])


def ice_request(tid: bytes = TID, username: str = "evtj:h6vY") -> stun.Message:
    return stun.Message(
        stun.BINDING,
        stun.REQUEST,
        tid,
        [
            (stun.ATTR_USERNAME, username),
            (stun.ATTR_PRIORITY, 1845494271),
            (stun.ATTR_ICE_CONTROLLING, 0x932FF9B151263B36),
            (stun.ATTR_USE_CANDIDATE, None),
        ],
    )


def header(mtype: int, length: int, tid: bytes = TID, cookie: int = 0x2112A442) -> bytes:
    return struct.pack("!HHI", mtype, length, cookie) + tid


def attr(t: int, value: bytes) -> bytes:
    return struct.pack("!HH", t, len(value)) + value + bytes(-len(value) % 4)


def msg(*attrs: bytes, mtype: int = 0x0001) -> bytes:
    body = b"".join(attrs)
    return header(mtype, len(body)) + body


# ------------------------------------------------------------------ vectors


@pytest.mark.parametrize("vec", RFC5769, ids=lambda v: v["id"])
def test_rfc5769(vec: dict[str, Any]) -> None:
    data = bytes.fromhex(vec["hex"])
    m = stun.Message.parse(data)
    h = vec["header"]
    assert m.message_type == int(h["type"], 16)
    assert m.message_method == stun.BINDING
    assert (
        m.message_class
        == {"request": stun.REQUEST, "success-response": stun.SUCCESS_RESPONSE}[h["class"]]
    )
    assert m.transaction_id.hex() == h["transaction_id"]
    assert [t for t, _ in m.attributes] == [int(a["type"], 16) for a in vec["attributes"]]
    for a in vec["attributes"]:
        t = int(a["type"], 16)
        value = m.get(t)
        assert stun.ATTRIBUTE_NAMES[t] == a["name"]
        if a["name"] in ("MESSAGE-INTEGRITY", "NONCE"):
            assert value == bytes.fromhex(a["value_hex"])
        elif a["name"] in ("ICE-CONTROLLED", "FINGERPRINT"):
            assert value == int(a["decoded"], 16)
        elif a["name"] == "XOR-MAPPED-ADDRESS":
            assert value == (a["decoded"]["ip"], a["decoded"]["port"])
        else:
            assert value == a["decoded"]
    key = vector_key(vec)
    assert key.hex() == vec["credentials"]["key_hex"]
    assert m.check_integrity(key) is True
    assert m.check_integrity(HmacKey(key, "sha1")) is True
    assert m.check_fingerprint() is vec["expected_checks"].get("fingerprint_valid", False)
    assert m.check_integrity(key + b"x") is False
    # Raw re-marshal keeps the bytes as received (0x20 padding included).
    assert stun.Message.parse(data).marshal() == data


def test_rfc5769_saslprep() -> None:
    c = RFC5769[3]["credentials"]
    assert stun.saslprep(c["password_before_saslprep"]) == "TheMatrIX"


def test_rfc5769_reencoded_with_zero_padding_verifies() -> None:
    # Re-serialising 2.1 with zero padding and fresh MI/FINGERPRINT gives a
    # different but valid message; verifying the received bytes needs no copy.
    m = stun.Message.parse(bytes.fromhex(RFC5769[0]["hex"]))
    _ = m.attributes  # materialise: from now on values are re-encoded
    out = m.marshal(integrity_key=PWD, fingerprint=True)
    assert out != bytes.fromhex(RFC5769[0]["hex"])
    assert out[:60] == bytes.fromhex(RFC5769[0]["hex"])[:60]
    m2 = stun.Message.parse(out)
    assert m2.check_integrity(PWD) and m2.check_fingerprint()


def test_rfc8489_b1_erratum() -> None:
    c = B1["credentials"]
    data = bytes.fromhex(B1["vectors"][0]["hex"])
    m = stun.Message.parse(data)
    assert m.get(stun.ATTR_USERHASH).hex() == c["userhash_hex"]
    assert stun.userhash(c["username"], c["realm"]).hex() == c["userhash_hex"]
    assert m.get(stun.ATTR_NONCE) == c["nonce"].encode()
    assert m.get(stun.ATTR_REALM) == "example.org"
    assert m.get(stun.ATTR_PASSWORD_ALGORITHM) == (stun.PASSWORD_ALGORITHM_SHA256, b"")
    key = stun.long_term_key(
        c["username"], c["realm"], c["password_before_opaquestring"], stun.PASSWORD_ALGORITHM_SHA256
    )
    assert key.hex() == c["key_hex_sha256"]
    md5 = stun.long_term_key(c["username"], c["realm"], c["password_before_opaquestring"])
    assert md5.hex() == c["key_hex_md5_for_comparison"]
    assert m.check_integrity(key)  # bytes + MI-SHA256 present -> SHA-256
    assert m.check_integrity(HmacKey(key, "sha256"))
    assert not m.check_integrity(HmacKey(key, "sha1"))  # no MESSAGE-INTEGRITY
    assert not m.check_integrity(md5)
    assert m.marshal() == data


def test_rfc8489_b1_as_printed_is_rejected() -> None:
    with pytest.raises(stun.ParseError, match="length 156 past end: 136 bytes"):
        stun.Message.parse(bytes.fromhex(B1["vectors"][1]["hex"]))


# --------------------------------------------------------- named valid cases

ADDR4 = ("192.0.2.1", 32853)
ADDR6 = ("2001:db8:1234:5678:11:2233:4455:6677", 32853)

VALID: list[tuple[str, int, Any]] = [
    ("MAPPED-ADDRESS IPv4", stun.ATTR_MAPPED_ADDRESS, ADDR4),
    ("MAPPED-ADDRESS IPv6", stun.ATTR_MAPPED_ADDRESS, ADDR6),
    ("XOR-MAPPED-ADDRESS IPv4", stun.ATTR_XOR_MAPPED_ADDRESS, ADDR4),
    ("XOR-MAPPED-ADDRESS IPv6", stun.ATTR_XOR_MAPPED_ADDRESS, ADDR6),
    ("XOR-PEER-ADDRESS", stun.ATTR_XOR_PEER_ADDRESS, ("10.0.0.1", 0)),
    ("XOR-RELAYED-ADDRESS", stun.ATTR_XOR_RELAYED_ADDRESS, ("::1", 65535)),
    ("ALTERNATE-SERVER", stun.ATTR_ALTERNATE_SERVER, ADDR4),
    ("RESPONSE-ORIGIN", stun.ATTR_RESPONSE_ORIGIN, ADDR4),
    ("OTHER-ADDRESS", stun.ATTR_OTHER_ADDRESS, ADDR6),
    ("USERNAME", stun.ATTR_USERNAME, "alice:bob"),
    ("USERNAME unicode", stun.ATTR_USERNAME, "マトリックス"),
    ("USERHASH", stun.ATTR_USERHASH, bytes(range(32))),
    ("ERROR-CODE 401", stun.ATTR_ERROR_CODE, (401, "Unauthorized")),
    ("ERROR-CODE 699 empty", stun.ATTR_ERROR_CODE, (699, "")),
    ("REALM", stun.ATTR_REALM, "example.org"),
    ("NONCE", stun.ATTR_NONCE, b"obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"),
    ("PASSWORD-ALGORITHM", stun.ATTR_PASSWORD_ALGORITHM, (2, b"")),
    ("PASSWORD-ALGORITHMS", stun.ATTR_PASSWORD_ALGORITHMS, [(2, b""), (1, b""), (9, b"abc")]),
    ("UNKNOWN-ATTRIBUTES odd count", stun.ATTR_UNKNOWN_ATTRIBUTES, [0x7777, 0x0002, 0x4000]),
    ("SOFTWARE", stun.ATTR_SOFTWARE, "rtcengine"),
    ("ALTERNATE-DOMAIN", stun.ATTR_ALTERNATE_DOMAIN, "turn.example.org"),
    ("PRIORITY", stun.ATTR_PRIORITY, 0xFFFFFFFF),
    ("USE-CANDIDATE", stun.ATTR_USE_CANDIDATE, None),
    ("ICE-CONTROLLED", stun.ATTR_ICE_CONTROLLED, 2**64 - 1),
    ("ICE-CONTROLLING", stun.ATTR_ICE_CONTROLLING, 0),
    ("CHANNEL-NUMBER", stun.ATTR_CHANNEL_NUMBER, 0x4001),
    ("LIFETIME", stun.ATTR_LIFETIME, 600),
    ("DATA", stun.ATTR_DATA, b"\x80\x00payload"),
    ("REQUESTED-ADDRESS-FAMILY", stun.ATTR_REQUESTED_ADDRESS_FAMILY, stun.FAMILY_IPV6),
    ("EVEN-PORT reserve", stun.ATTR_EVEN_PORT, True),
    ("EVEN-PORT", stun.ATTR_EVEN_PORT, False),
    ("REQUESTED-TRANSPORT", stun.ATTR_REQUESTED_TRANSPORT, stun.TRANSPORT_UDP),
    ("DONT-FRAGMENT", stun.ATTR_DONT_FRAGMENT, None),
    ("RESERVATION-TOKEN", stun.ATTR_RESERVATION_TOKEN, b"12345678"),
    ("ADDITIONAL-ADDRESS-FAMILY", stun.ATTR_ADDITIONAL_ADDRESS_FAMILY, stun.FAMILY_IPV6),
    ("ADDRESS-ERROR-CODE", stun.ATTR_ADDRESS_ERROR_CODE, (2, 440, "Address Family not Supported")),
    ("ICMP", stun.ATTR_ICMP, (3, 1, 0xDEADBEEF)),
    ("CHANGE-REQUEST", stun.ATTR_CHANGE_REQUEST, stun.CHANGE_IP | stun.CHANGE_PORT),
    ("RESPONSE-PORT", stun.ATTR_RESPONSE_PORT, 3478),
    ("GOOG-NETWORK-INFO", stun.ATTR_GOOG_NETWORK_INFO, (1, 999)),
    ("GOOG-MISC-INFO raw", stun.ATTR_GOOG_MISC_INFO, b"\x00\x01\x00\x02"),
    ("unknown optional raw", 0xFEED, b"xyz"),
    ("unknown required raw", 0x7F01, b""),
]


@pytest.mark.parametrize(("name", "t", "value"), VALID, ids=[v[0] for v in VALID])
def test_named_valid_round_trip(name: str, t: int, value: Any) -> None:
    m = stun.Message(stun.ALLOCATE, stun.SUCCESS_RESPONSE, TID, [(t, value), (t, value)])
    data = m.marshal()
    assert len(data) == m.marshal_size()
    p = stun.Message.parse(data)
    assert p.get(t) == value
    assert p.get_all(t) == [value, value]  # duplicates kept, in order
    assert p.attributes == [(t, value), (t, value)]
    assert p == m
    # Canonical input: parse -> materialise -> marshal is byte-exact.
    _ = p.attributes
    assert p.marshal() == data


def test_xor_address_encoding_rfc5769() -> None:
    # RFC 5769 §2.2/2.3 bytes come back from our encoder.
    m = stun.Message(
        stun.BINDING, stun.SUCCESS_RESPONSE, TID, [(stun.ATTR_XOR_MAPPED_ADDRESS, ADDR4)]
    )
    assert m.marshal()[24:] == bytes.fromhex("0001a147e112a643")
    m = stun.Message(
        stun.BINDING, stun.SUCCESS_RESPONSE, TID, [(stun.ATTR_XOR_MAPPED_ADDRESS, ADDR6)]
    )
    assert m.marshal()[24:] == bytes.fromhex("0002a1470113a9faa5d3f179bc25f4b5bed2b9d9")


def test_method_class_interleaving() -> None:
    # RFC 8489 §5: Binding success 0x0101, error 0x0111, indication 0x0011;
    # RFC 8656: Allocate error 0x0113, ChannelBind request 0x0009, Data indication 0x0017.
    cases = [
        (stun.BINDING, stun.SUCCESS_RESPONSE, 0x0101),
        (stun.BINDING, stun.ERROR_RESPONSE, 0x0111),
        (stun.BINDING, stun.INDICATION, 0x0011),
        (stun.ALLOCATE, stun.ERROR_RESPONSE, 0x0113),
        (stun.CHANNEL_BIND, stun.REQUEST, 0x0009),
        (stun.DATA, stun.INDICATION, 0x0017),
        (stun.SEND, stun.INDICATION, 0x0016),
        (0xFFF, stun.ERROR_RESPONSE, 0x3FFF),
        (stun.GOOG_PING, stun.REQUEST, 0x0800),
    ]
    for method, cls, mtype in cases:
        assert stun.message_type(method, cls) == mtype
        p = stun.Message.parse(header(mtype, 0))
        assert (p.message_method, p.message_class) == (method, cls)


def test_message_api() -> None:
    m = ice_request()
    assert stun.ATTR_USERNAME in m and "PRIORITY" in m and stun.ATTR_REALM not in m
    assert m.get("USERNAME") == "evtj:h6vY"
    assert m.get(stun.ATTR_REALM, "none") == "none"
    m.add(stun.ATTR_SOFTWARE, "x")
    assert m.remove(stun.ATTR_USE_CANDIDATE) == 1
    assert [t for t, _ in m.attributes][-1] == stun.ATTR_SOFTWARE
    assert "BINDING REQUEST" in repr(m)
    e = stun.Message(
        stun.BINDING, stun.ERROR_RESPONSE, TID, [(stun.ATTR_ERROR_CODE, (420, "Unknown"))]
    )
    assert stun.Message.parse(e.marshal()).error_code == 420
    assert m.error_code is None
    assert len(stun.Message().transaction_id) == 12
    with pytest.raises(ValueError, match="12 bytes"):
        stun.Message(transaction_id=b"short")
    with pytest.raises(ValueError, match="code must be 300..699"):
        stun.Message(attributes=[(stun.ATTR_ERROR_CODE, (200, "ok"))]).marshal()
    assert bytes(m) == m.marshal()
    # aioice-style construction: a mapping by attribute name.
    by_name = stun.Message(
        stun.BINDING,
        stun.REQUEST,
        TID,
        {
            "USERNAME": "evtj:h6vY",
            "PRIORITY": 1845494271,
            stun.ATTR_ICE_CONTROLLING: 0x932FF9B151263B36,
        },
    )
    assert by_name.attributes[:2] == [
        (stun.ATTR_USERNAME, "evtj:h6vY"),
        (stun.ATTR_PRIORITY, 1845494271),
    ]
    with pytest.raises(KeyError):
        stun.Message(attributes={"NO-SUCH-ATTRIBUTE": 1})


def test_unknown_comprehension_required() -> None:
    data = msg(
        attr(stun.ATTR_USERNAME, b"a:b"),
        attr(0x7F01, b"x"),
        attr(0xC123, b"y"),  # comprehension-optional: never listed
        attr(0x0002, b""),  # RFC 3489 RESPONSE-ADDRESS: not understood
        attr(0x7F01, b"z"),
    )
    m = stun.Message.parse(data)
    assert m.unknown_comprehension_required() == [0x7F01, 0x0002]
    _ = m.attributes
    assert m.unknown_comprehension_required() == [0x7F01, 0x0002]
    assert (
        stun.Message.parse(bytes.fromhex(RFC5769[0]["hex"])).unknown_comprehension_required() == []
    )


def test_attributes_after_integrity_are_ignored() -> None:
    base = ice_request().marshal(integrity_key=PWD)
    # Append SOFTWARE after MESSAGE-INTEGRITY (fixing the length): ignored (§14.5).
    extra = attr(stun.ATTR_SOFTWARE, b"late")
    data = base[:2] + struct.pack("!H", len(base) - 20 + len(extra)) + base[4:] + extra
    m = stun.Message.parse(data)
    assert stun.ATTR_SOFTWARE not in m
    assert m.ignored_attributes == 1
    assert m.check_integrity(PWD)
    # MI-SHA256 after MI and FINGERPRINT after both are kept.
    m = ice_request()
    out = bytearray(m.marshal(integrity_key=PWD))
    k256 = HmacKey(b"k" * 32, "sha256")
    m2 = stun.Message.parse(bytes(out))
    m2.add(stun.ATTR_MESSAGE_INTEGRITY_SHA256, bytes(32))
    wire = m2.marshal(fingerprint=False)
    p = stun.Message.parse(wire)
    assert p.get(stun.ATTR_MESSAGE_INTEGRITY_SHA256) == bytes(32)
    assert p.check_integrity(PWD, "sha1")
    assert not p.check_integrity(k256)


# ------------------------------------------------------- named negative cases

GOOD = msg(attr(stun.ATTR_PRIORITY, b"\x00\x00\x00\x01"))

NEGATIVE: list[tuple[str, bytes, str]] = [
    ("empty", b"", "STUN header too short: need 20 bytes, have 0"),
    ("shorter than 20", GOOD[:19], "need 20 bytes, have 19"),
    ("top bits not zero", b"\x40" + GOOD[1:], "two zero bits, got 0x4001"),
    ("top bit set", b"\x80" + GOOD[1:], "two zero bits"),
    ("bad magic cookie", header(1, 0, cookie=0x12345678), "bad STUN magic cookie 0x12345678"),
    ("RFC 3489 classic", header(1, 0, cookie=0xDEADBEEF), "classic STUN is not supported"),
    ("length not multiple of 4", header(1, 2) + b"\x00\x00", "multiple of 4, got 2"),
    ("length past end", header(1, 8) + b"\x00" * 4, "length 8 past end: 4 bytes"),
    ("trailing bytes", header(1, 0) + b"\x00" * 4, "length 0 leaves trailing bytes"),
    (
        "attribute past end",
        header(1, 8) + struct.pack("!HH", 0x8022, 5) + b"abcd",
        "SOFTWARE length 5 past end",
    ),
    (
        "padded value past end",
        header(1, 8) + struct.pack("!HH", 0x0006, 5) + b"abcd",
        "USERNAME length 5 past end of message: 4 bytes left",
    ),
    (
        "XOR-PEER-ADDRESS family 0",
        msg(attr(0x0012, b"\x00\x00\x00\x01" + bytes(4))),
        "XOR-PEER-ADDRESS has bad address family 0x00",
    ),
    (
        "ADDRESS-ERROR-CODE class 0",
        msg(attr(0x8001, b"\x01\x00\x00\x00")),
        "ADDRESS-ERROR-CODE class must be 3..6, got 0",
    ),
    ("ICMP bad length", msg(attr(0x8004, bytes(4))), "ICMP length must be 8, got 4"),
    (
        "REQUESTED-TRANSPORT bad length",
        msg(attr(0x0019, bytes(1))),
        "REQUESTED-TRANSPORT length must be 4, got 1",
    ),
    (
        "FINGERPRINT not last",
        msg(attr(0x8028, bytes(4)), attr(0x8022, b"x")),
        "FINGERPRINT must be the last",
    ),
    ("FINGERPRINT bad length", msg(attr(0x8028, bytes(8))), "FINGERPRINT length must be 4, got 8"),
    (
        "bad address family",
        msg(attr(0x0020, b"\x00\x03\x00\x01" + bytes(4))),
        "bad address family 0x03",
    ),
    (
        "XOR IPv4 bad length",
        msg(attr(0x0020, b"\x00\x01\x00\x01" + bytes(16))),
        "bad length 20 for IPv4",
    ),
    (
        "XOR IPv6 bad length",
        msg(attr(0x0020, b"\x00\x02\x00\x01" + bytes(4))),
        "bad length 8 for IPv6",
    ),
    ("address too short", msg(attr(0x0001, b"\x00\x01")), "MAPPED-ADDRESS too short: need 4"),
    ("ERROR-CODE too short", msg(attr(0x0009, b"\x00\x00")), "ERROR-CODE too short"),
    ("ERROR-CODE class 2", msg(attr(0x0009, b"\x00\x00\x02\x00")), "class must be 3..6, got 2"),
    ("ERROR-CODE class 7", msg(attr(0x0009, b"\x00\x00\x07\x00")), "class must be 3..6, got 7"),
    (
        "ERROR-CODE number 100",
        msg(attr(0x0009, b"\x00\x00\x04\x64")),
        "number must be 0..99, got 100",
    ),
    (
        "MESSAGE-INTEGRITY short",
        msg(attr(0x0008, bytes(16))),
        "MESSAGE-INTEGRITY length must be 20",
    ),
    ("MI-SHA256 too short", msg(attr(0x001C, bytes(12))), "16..32 and a multiple of 4, got 12"),
    ("MI-SHA256 too long", msg(attr(0x001C, bytes(36))), "got 36"),
    ("PRIORITY bad length", msg(attr(0x0024, bytes(8))), "PRIORITY length must be 4, got 8"),
    ("ICE-CONTROLLING bad length", msg(attr(0x802A, bytes(4))), "ICE-CONTROLLING length must be 8"),
    ("USE-CANDIDATE with value", msg(attr(0x0025, bytes(4))), "USE-CANDIDATE length must be 0"),
    ("CHANNEL-NUMBER bad length", msg(attr(0x000C, bytes(2))), "CHANNEL-NUMBER length must be 4"),
    ("EVEN-PORT bad length", msg(attr(0x0018, bytes(4))), "EVEN-PORT length must be 1"),
    ("USERHASH bad length", msg(attr(0x001E, bytes(20))), "USERHASH length must be 32"),
    ("UNKNOWN-ATTRIBUTES odd", msg(attr(0x000A, bytes(3))), "must be even, got 3"),
    (
        "PASSWORD-ALGORITHM params past end",
        msg(attr(0x001D, b"\x00\x02\x00\x08")),
        "parameters past end",
    ),
    ("too many attributes", msg(*[attr(0x8022, b"")] * 65), "more than 64 attributes"),
]


@pytest.mark.parametrize(("name", "data", "match"), NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_named_negative(name: str, data: bytes, match: str) -> None:
    with pytest.raises(stun.ParseError, match=match):
        stun.Message.parse(data)
    with pytest.raises(BaseParseError, match=match):  # the shared base class
        stun.Message().parse_into(bytearray(data))
    with pytest.raises(ValueError):
        stun.parse_message(memoryview(data))


def test_bad_utf8_is_parse_error_on_access() -> None:
    m = stun.Message.parse(msg(attr(stun.ATTR_USERNAME, b"\xff\xfe")))
    with pytest.raises(stun.ParseError, match="USERNAME is not valid UTF-8"):
        m.get(stun.ATTR_USERNAME)


def test_failed_parse_into_leaves_empty_message() -> None:
    m = stun.Message.parse(bytes.fromhex(RFC5769[0]["hex"]))
    with pytest.raises(stun.ParseError):
        m.parse_into(b"\x00")
    assert m.attributes == [] and not m.check_fingerprint() and not m.check_integrity(PWD)
    # A non-buffer argument: TypeError, and nothing points into the old input.
    m = stun.Message.parse(bytearray.fromhex(RFC5769[0]["hex"]))
    with pytest.raises(TypeError):
        m.parse_into("not bytes")  # type: ignore[arg-type]
    assert m.get(stun.ATTR_USERNAME) is None and stun.ATTR_USERNAME not in m
    assert m.unknown_comprehension_required() == [] and m.attributes == []
    assert m.marshal_size() == 20


# ------------------------------------------------------------- integrity


def test_build_matches_rfc5769_2_1_bytes() -> None:
    # Our builder with 0x20-padded USERNAME replaced by zero padding and fresh
    # MI/FINGERPRINT agrees with an independent computation.
    m = ice_request()
    data = m.marshal(integrity_key=PWD, fingerprint=True)
    assert len(data) == m.marshal_size(integrity_key=PWD, fingerprint=True)
    mi_at = len(data) - 8 - 24
    covered = data[:2] + struct.pack("!H", mi_at + 24 - 20) + data[4:mi_at]
    import hmac

    assert data[mi_at + 4 : mi_at + 24] == hmac.new(PWD, covered, "sha1").digest()
    crc = zlib.crc32(data[:-8]) ^ 0x5354554E
    assert data[-4:] == struct.pack("!I", crc)


@pytest.mark.parametrize("alg", ["sha1", "sha256"])
def test_integrity_flip_any_bit_fails(alg: str) -> None:
    key = HmacKey(PWD, alg)  # type: ignore[arg-type]
    data = ice_request().marshal(integrity_key=key, fingerprint=True)
    p = stun.Message.parse(data)
    assert p.check_integrity(key) and p.check_fingerprint() and p.verify(key)
    assert p.get(
        stun.ATTR_MESSAGE_INTEGRITY if alg == "sha1" else stun.ATTR_MESSAGE_INTEGRITY_SHA256
    )
    mi_end = len(data) - 8
    for i in range(mi_end * 8):
        bad = bytearray(data)
        bad[i // 8] ^= 1 << (i % 8)
        try:
            q = stun.Message.parse(bad)
        except stun.ParseError:
            continue
        assert not q.check_integrity(key), f"bit {i} flip still verifies"
        assert not q.check_fingerprint()
    # A flipped FINGERPRINT bit leaves integrity intact.
    bad = bytearray(data)
    bad[-1] ^= 1
    q = stun.Message.parse(bad)
    assert q.check_integrity(key) and not q.check_fingerprint() and not q.verify(key)


def test_wrong_key_and_missing_attribute() -> None:
    data = ice_request().marshal(integrity_key=PWD, fingerprint=True)
    p = stun.Message.parse(data)
    assert not p.check_integrity(b"wrong")
    assert not p.check_integrity(HmacKey(PWD, "sha256"))  # no MI-SHA256
    plain = stun.Message.parse(ice_request().marshal())
    assert not plain.check_integrity(PWD) and not plain.check_fingerprint()
    assert plain.verify(PWD) is False
    assert not ice_request().check_integrity(PWD)  # never parsed


def test_marshal_replaces_existing_integrity() -> None:
    data = ice_request().marshal(integrity_key=b"old", fingerprint=True)
    p = stun.Message.parse(data)
    out = p.marshal(integrity_key=PWD, fingerprint=True)
    assert len(out) == len(data)
    q = stun.Message.parse(out)
    assert q.check_integrity(PWD) and q.check_fingerprint() and not q.check_integrity(b"old")


def test_marshal_into() -> None:
    m = ice_request()
    key = HmacKey(PWD, "sha1")
    size = m.marshal_size(integrity_key=key, fingerprint=True)
    buf = bytearray(size + 10)
    assert m.marshal_into(buf, 10, integrity_key=key, fingerprint=True) == size
    assert bytes(buf[10:]) == m.marshal(integrity_key=key, fingerprint=True)
    with pytest.raises(ValueError, match="buffer too small"):
        m.marshal_into(bytearray(size - 1), 0, integrity_key=key, fingerprint=True)
    sha = m.marshal(integrity_key=PWD, integrity_algorithm="sha256")
    assert stun.Message.parse(sha).check_integrity(PWD)


# ------------------------------------------------------ demux and helpers

DEMUX: list[tuple[str, bytes, bool]] = [
    ("STUN binding request", bytes.fromhex(RFC5769[0]["hex"]), True),
    ("STUN header only", header(1, 0), True),
    ("STUN memoryview", memoryview(header(1, 0)), True),  # type: ignore[list-item]
    ("DTLS ClientHello (20)", b"\x16\xfe\xfd" + bytes(17), False),
    ("DTLS first byte 20", bytes([20]) + header(1, 0)[1:], False),
    ("RTP first byte 0x80", b"\x80" + header(1, 0)[1:], False),
    ("RTCP", b"\x81\xc8" + header(1, 0)[2:], False),
    ("ChannelData", b"\x40\x00\x00\x10" + bytes(16), False),
    ("ZRTP-ish first byte 16", bytes([16]) + header(1, 0)[1:], False),
    ("bad cookie", header(1, 0, cookie=1), False),
    ("length mismatch", header(1, 4), False),
    ("length not multiple of 4", header(1, 1) + b"\x00", False),
    ("too short", header(1, 0)[:19], False),
    ("empty", b"", False),
]


@pytest.mark.parametrize(("name", "data", "expected"), DEMUX, ids=[d[0] for d in DEMUX])
def test_is_stun(name: str, data: bytes, expected: bool) -> None:
    assert stun.is_stun(data) is expected
    assert stun.is_stun(bytearray(data)) is expected


def test_peek_transaction_id() -> None:
    assert stun.peek_transaction_id(bytes.fromhex(RFC5769[0]["hex"])) == TID
    with pytest.raises(stun.ParseError, match="too short"):
        stun.peek_transaction_id(b"\x00" * 10)
    with pytest.raises(stun.ParseError, match="magic cookie"):
        stun.peek_transaction_id(header(1, 0, cookie=7))


def test_channel_data() -> None:
    c = stun.ChannelData(0x4001, b"hello")
    assert c.marshal() == b"\x40\x01\x00\x05hello"
    assert c.marshal(pad=True) == b"\x40\x01\x00\x05hello\x00\x00\x00"
    assert c.marshal_size(pad=True) == 12
    for wire in (c.marshal(), c.marshal(pad=True)):
        assert stun.is_channel_data(wire) and not stun.is_stun(wire)
        assert stun.ChannelData.parse(wire) == c
    buf = bytearray(20)
    assert c.marshal_into(buf, 4) == 9
    assert bytes(buf[4:13]) == c.marshal()
    assert stun.ChannelData.parse(b"\x4f\xff\x00\x00").data == b""
    assert not stun.is_channel_data(b"\x50\x00\x00\x00")
    assert not stun.is_channel_data(b"\x40\x00\x00\x05abc")
    with pytest.raises(ValueError, match="0x4000..0x4fff"):
        stun.ChannelData(0x3FFF)


CHANNEL_NEGATIVE = [
    ("too short", b"\x40\x00\x00", "ChannelData header too short: need 4 bytes, have 3"),
    ("channel below range", b"\x3f\xff\x00\x00", "must be 0x4000..0x4fff, got 0x3fff"),
    ("channel above range", b"\x50\x00\x00\x00", "got 0x5000"),
    ("length past end", b"\x40\x00\x00\x08abcd", "length 8 past end: 4 bytes"),
    ("trailing bytes", b"\x40\x00\x00\x00abcd", "leaves 4 trailing bytes"),
]


@pytest.mark.parametrize(
    ("name", "data", "match"), CHANNEL_NEGATIVE, ids=[c[0] for c in CHANNEL_NEGATIVE]
)
def test_channel_data_negative(name: str, data: bytes, match: str) -> None:
    with pytest.raises(stun.ParseError, match=match):
        stun.ChannelData.parse(data)


def test_saslprep() -> None:
    assert stun.saslprep("I\u00adX") == "IX"  # RFC 4013 §3 examples
    assert stun.saslprep("user") == "user"
    assert stun.saslprep("USER") == "USER"
    assert stun.saslprep("\u00aa") == "a"
    assert stun.saslprep("\u2168") == "IX"
    assert stun.saslprep("a\u00a0b") == "a b"
    with pytest.raises(ValueError, match="prohibited"):
        stun.saslprep("\u0007")
    with pytest.raises(ValueError, match="RandALCat"):
        stun.saslprep("\u0627\u0031")
    assert stun.short_term_key("VOkJxbRl1RmTxUk/WvJxBt") == PWD
    with pytest.raises(ValueError, match="password algorithm"):
        stun.long_term_key("u", "r", "p", 7)


def test_verify_batch() -> None:
    key = HmacKey(PWD, "sha1")
    msgs = [
        ice_request(bytes([i]) * 12).marshal(integrity_key=key, fingerprint=True) for i in range(8)
    ]
    msgs[2] = msgs[2][:-1] + bytes([msgs[2][-1] ^ 1])  # bad fingerprint
    msgs[3] = ice_request().marshal(integrity_key=b"other", fingerprint=True)
    msgs[4] = b"\x16" * 40  # DTLS: malformed
    msgs[5] = ice_request().marshal(fingerprint=True)  # no integrity
    msgs[6] = ice_request().marshal(integrity_key=key)  # no fingerprint
    buf = b"".join(msgs)
    offs = array.array("q")
    pos = 0
    for m in msgs:
        offs.append(pos)
        pos += len(m)
    lens = array.array("I", [len(m) for m in msgs])
    status = bytearray(len(msgs))
    assert stun.verify_batch(buf, offs, lens, key, status) == 3
    assert list(status) == [
        stun.VERIFY_OK,
        stun.VERIFY_OK,
        stun.VERIFY_BAD_FINGERPRINT,
        stun.VERIFY_BAD_INTEGRITY,
        stun.VERIFY_MALFORMED,
        stun.VERIFY_NO_INTEGRITY,
        stun.VERIFY_BAD_FINGERPRINT,
        stun.VERIFY_OK,
    ]
    st32 = array.array("i", [9] * len(msgs))
    assert stun.verify_batch(buf, offs, lens, PWD, st32, require_fingerprint=False) == 4
    assert st32[6] == stun.VERIFY_OK
    offs[0] = len(buf)  # out of range
    assert (
        stun.verify_batch(buf, offs, lens, key, status) == 2 and status[0] == stun.VERIFY_MALFORMED
    )
    with pytest.raises(ValueError, match="same length"):
        stun.verify_batch(buf, offs, lens[:3], key, status)
    with pytest.raises(TypeError, match="buffer of integers"):
        stun.verify_batch(buf, array.array("d", [0.0] * 8), lens, key, status)


# ------------------------------------------------------------ differential

hosts4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
hosts6 = st.binary(min_size=16, max_size=16).map(
    lambda b: __import__("ipaddress").IPv6Address(b).compressed
)
addrs = st.tuples(st.one_of(hosts4, hosts6), st.integers(0, 65535))
text = st.text(max_size=40)

# Attributes aioice and we represent the same way.
COMMON = {
    "USERNAME": (stun.ATTR_USERNAME, text),
    "PRIORITY": (stun.ATTR_PRIORITY, st.integers(0, 2**32 - 1)),
    "ICE-CONTROLLING": (stun.ATTR_ICE_CONTROLLING, st.integers(0, 2**64 - 1)),
    "ICE-CONTROLLED": (stun.ATTR_ICE_CONTROLLED, st.integers(0, 2**64 - 1)),
    "USE-CANDIDATE": (stun.ATTR_USE_CANDIDATE, st.none()),
    "XOR-MAPPED-ADDRESS": (stun.ATTR_XOR_MAPPED_ADDRESS, addrs),
    "XOR-PEER-ADDRESS": (stun.ATTR_XOR_PEER_ADDRESS, addrs),
    "XOR-RELAYED-ADDRESS": (stun.ATTR_XOR_RELAYED_ADDRESS, addrs),
    "MAPPED-ADDRESS": (stun.ATTR_MAPPED_ADDRESS, addrs),
    "REALM": (stun.ATTR_REALM, text),
    "NONCE": (stun.ATTR_NONCE, st.binary(max_size=40)),
    "SOFTWARE": (stun.ATTR_SOFTWARE, text),
    "LIFETIME": (stun.ATTR_LIFETIME, st.integers(0, 2**32 - 1)),
    "DATA": (stun.ATTR_DATA, st.binary(max_size=100)),
    "ERROR-CODE": (
        stun.ATTR_ERROR_CODE,
        st.tuples(st.integers(300, 699), text),
    ),
}

common_attrs = st.dictionaries(
    st.sampled_from(sorted(COMMON)),
    st.none(),
    max_size=8,
).flatmap(lambda d: st.fixed_dictionaries({k: COMMON[k][1] for k in d}))
methods = st.sampled_from([stun.BINDING, stun.ALLOCATE, stun.REFRESH, stun.CHANNEL_BIND])
classes = st.sampled_from([0, 1, 2, 3])
aioice_class = {
    0: astun.Class.REQUEST,
    1: astun.Class.INDICATION,
    2: astun.Class.RESPONSE,
    3: astun.Class.ERROR,
}


@settings(max_examples=100)
@given(
    methods,
    classes,
    st.binary(min_size=12, max_size=12),
    common_attrs,
    st.binary(min_size=1, max_size=30),
)
def test_differential_aioice_builds_we_parse(
    method: int, cls: int, tid: bytes, attrs: dict[str, Any], key: bytes
) -> None:
    a = astun.Message(astun.Method(method), aioice_class[cls], tid, dict(attrs))
    a.add_message_integrity(key)
    data = bytes(a)
    m = stun.Message.parse(data)
    assert (m.message_method, m.message_class, m.transaction_id) == (method, cls, tid)
    for name, value in attrs.items():
        assert m.get(COMMON[name][0]) == value
    assert m.check_integrity(key) and m.check_fingerprint()
    assert not m.check_integrity(key + b"!")
    assert m.get(stun.ATTR_FINGERPRINT) == a.attributes["FINGERPRINT"]
    # aioice's canonical bytes come back unchanged through decode + re-encode.
    _ = m.attributes
    assert m.marshal() == data


@settings(max_examples=100)
@given(
    methods,
    classes,
    st.binary(min_size=12, max_size=12),
    common_attrs,
    st.binary(min_size=1, max_size=30),
)
def test_differential_we_build_aioice_parses(
    method: int, cls: int, tid: bytes, attrs: dict[str, Any], key: bytes
) -> None:
    m = stun.Message(method, cls, tid, [(COMMON[n][0], v) for n, v in attrs.items()])
    data = m.marshal(integrity_key=key, fingerprint=True)
    a = astun.parse_message(data)  # raises if aioice finds the fingerprint wrong
    assert a.message_method == method and a.message_class == aioice_class[cls]
    assert a.transaction_id == tid
    for name, value in attrs.items():
        got = a.attributes[name]
        assert got == value or tuple(got) == value
    assert a.check_message_integrity(key)


# ------------------------------------------------------------------- fuzz

SEEDS = [bytes.fromhex(v["hex"]) for v in RFC5769] + [
    bytes.fromhex(v["hex"]) for v in B1["vectors"]
]


def exercise(data: bytes) -> None:
    try:
        m = stun.Message.parse(data)
    except stun.ParseError:
        assert not stun.is_stun(data) or len(data) >= 20
        return
    # RFC 7983: the demux only takes first bytes 0..3 (methods up to 0xff).
    assert stun.is_stun(data) is (data[0] < 4)
    assert isinstance(m.check_integrity(PWD), bool)
    assert isinstance(m.check_integrity(HmacKey(PWD, "sha256")), bool)
    assert isinstance(m.check_fingerprint(), bool)
    assert isinstance(m.verify(PWD), bool)
    m.unknown_comprehension_required()
    raw = m.marshal()
    if m.ignored_attributes == 0:  # ignored attributes (§14.5) are dropped
        assert raw == data
    try:
        attrs = m.attributes
    except stun.ParseError:
        return  # lazy text decoding (bad UTF-8)
    for t, _ in attrs:
        m.get(t)
    # Re-encode decoded values: must parse back to the same attributes.
    assert stun.Message.parse(m.marshal()).attributes == attrs


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_fuzz_random(data: bytes) -> None:
    exercise(data)


@settings(max_examples=300)
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
)
def test_fuzz_mutated_vectors(seed: bytes, edits: list[tuple[int, int]]) -> None:
    data = bytearray(seed)
    for pos, value in edits:
        if pos < len(data):
            data[pos] = value
    exercise(bytes(data))


@given(st.sampled_from(SEEDS), st.integers(0, 200))
def test_fuzz_truncated_vectors(seed: bytes, cut: int) -> None:
    exercise(seed[:cut])


@given(st.binary(max_size=40))
def test_fuzz_channel_data(data: bytes) -> None:
    try:
        c = stun.ChannelData.parse(data)
    except stun.ParseError:
        return
    assert c.marshal() == data[: 4 + len(c.data)]


def test_fuzz_structured_attributes() -> None:
    # Every known attribute type with every small length and random content:
    # parse gives a value or ParseError, accessing it too.
    import random

    rng = random.Random(5)
    for t in list(stun.ATTRIBUTE_NAMES):
        for n in range(0, 40):
            data = msg(attr(t, bytes(rng.randrange(256) for _ in range(n))))
            try:
                exercise(data)
            except stun.ParseError:
                pass


# ----------------------------------------------------------- no allocation


def test_parse_into_does_not_allocate() -> None:
    key = HmacKey(PWD, "sha1")
    data = ice_request().marshal(integrity_key=key, fingerprint=True)
    m = stun.Message.parse(data)
    check_i = m.check_integrity
    check_f = m.check_fingerprint
    parse_into = m.parse_into
    for _ in range(100):
        parse_into(data)
        check_i(key)
        check_f()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10000):
            parse_into(data)
            check_i(key)
            check_f()
            stun.is_stun(data)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 512
    assert m.verify(key)
