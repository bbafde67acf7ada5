"""Multicast DNS (RFC 6762) messages for ICE candidates hidden behind
``<uuid>.local`` names (draft-ietf-mmusic-mdns-ice-candidates).

Only what ICE needs: a one-question A/AAAA query, an authoritative answer for a
name we registered, and a parser that reads answers (with RFC 1035 §4.1.4 name
compression).  Sans-IO: the multicast socket lives in ``driver.py``.
"""

from __future__ import annotations

import ipaddress
import struct
import uuid
from dataclasses import dataclass
from typing import Final

from rtcengine.exceptions import ParseError as _BaseParseError

# RFC 6762 §3: the mDNS group and port.
MDNS_ADDRESS_V4: Final = "224.0.0.251"
MDNS_ADDRESS_V6: Final = "ff02::fb"
MDNS_PORT: Final = 5353
# RFC 1035 §3.2.2 / RFC 3596 §2.1: record types.
TYPE_A: Final = 1
TYPE_AAAA: Final = 28
TYPE_ANY: Final = 255
# RFC 1035 §3.2.4: class IN.
CLASS_IN: Final = 1
# RFC 6762 §10.2: cache-flush bit in answers; §5.4: unicast-response bit in questions.
CACHE_FLUSH: Final = 0x8000
UNICAST_RESPONSE: Final = 0x8000
# RFC 6762 §10: TTL of address records (120 s).
ADDRESS_TTL: Final = 120
# RFC 1035 §4.1.1: QR bit; RFC 6762 §18.4: AA set in responses.
FLAG_RESPONSE: Final = 0x8000
FLAG_AUTHORITATIVE: Final = 0x0400
# RFC 1035 §2.3.4: label and name size limits.
MAX_LABEL: Final = 63
MAX_NAME: Final = 255


class ParseError(_BaseParseError):
    """A malformed mDNS message."""


@dataclass(frozen=True)
class Question:
    name: str
    qtype: int


@dataclass(frozen=True)
class Answer:
    name: str
    rtype: int
    ttl: int
    address: str | None  # A / AAAA rdata; None for other types


@dataclass(frozen=True)
class Message:
    msg_id: int
    flags: int
    questions: tuple[Question, ...]
    answers: tuple[Answer, ...]

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAG_RESPONSE)


def new_name() -> str:
    """draft-ietf-mmusic-mdns-ice-candidates §3.1.1: a random UUID v4 + ".local"."""
    return f"{uuid.uuid4()}.local"


def _encode_name(name: str) -> bytes:
    out = bytearray()
    for label in name.rstrip(".").split("."):
        raw = label.encode("utf-8")
        if not raw or len(raw) > MAX_LABEL:
            raise ValueError(f"bad DNS label {label!r} in {name!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    if len(out) > MAX_NAME:
        raise ValueError(f"DNS name too long: {name!r}")
    return bytes(out)


def build_query(name: str, qtypes: tuple[int, ...] = (TYPE_A, TYPE_AAAA), msg_id: int = 0) -> bytes:
    """RFC 6762 §5: a query (ID 0, no flags) with one question per type."""
    body = b"".join(_encode_name(name) + struct.pack("!HH", t, CLASS_IN) for t in qtypes)
    return struct.pack("!HHHHHH", msg_id, 0, len(qtypes), 0, 0, 0) + body


def build_response(name: str, address: str, msg_id: int = 0) -> bytes:
    """RFC 6762 §6: an authoritative answer with the address record
    (cache-flush set, RFC 6762 §10.2)."""
    ip = ipaddress.ip_address(address)
    rtype = TYPE_A if ip.version == 4 else TYPE_AAAA
    rdata = ip.packed
    answer = _encode_name(name) + struct.pack(
        "!HHIH", rtype, CLASS_IN | CACHE_FLUSH, ADDRESS_TTL, len(rdata)
    )
    flags = FLAG_RESPONSE | FLAG_AUTHORITATIVE
    return struct.pack("!HHHHHH", msg_id, flags, 0, 1, 0, 0) + answer + rdata


def _read_name(data: bytes, pos: int) -> tuple[str, int]:
    """RFC 1035 §4.1.4: labels with compression pointers; returns the name
    and the position after it (in the original stream)."""
    labels: list[str] = []
    end = -1
    jumps = 0
    total = 0
    while True:
        if pos >= len(data):
            raise ParseError("mDNS name runs past the end of the message")
        length = data[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise ParseError("mDNS name pointer truncated")
            if end < 0:
                end = pos + 2
            jumps += 1
            if jumps > 32:
                raise ParseError("mDNS name pointer loop")
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            continue
        if length & 0xC0:
            raise ParseError(f"mDNS label type {length >> 6} is not supported")
        pos += 1
        if length == 0:
            break
        if pos + length > len(data):
            raise ParseError("mDNS label runs past the end of the message")
        total += length + 1
        if total > MAX_NAME:
            raise ParseError("mDNS name longer than 255 bytes")
        labels.append(data[pos : pos + length].decode("utf-8", "replace"))
        pos += length
    return ".".join(labels), (end if end >= 0 else pos)


def parse(data: bytes) -> Message:
    """Parse an mDNS message (questions and answers; authority and
    additional records are skipped)."""
    if len(data) < 12:
        raise ParseError(f"mDNS header too short: need 12 bytes, have {len(data)}")
    msg_id, flags, qd, an, _ns, _ar = struct.unpack_from("!HHHHHH", data)
    pos = 12
    questions: list[Question] = []
    for _ in range(qd):
        name, pos = _read_name(data, pos)
        if pos + 4 > len(data):
            raise ParseError("mDNS question truncated")
        qtype, _qclass = struct.unpack_from("!HH", data, pos)
        pos += 4
        questions.append(Question(name.lower(), qtype))
    answers: list[Answer] = []
    for _ in range(an):
        name, pos = _read_name(data, pos)
        if pos + 10 > len(data):
            raise ParseError("mDNS answer truncated")
        rtype, _rclass, ttl, rdlen = struct.unpack_from("!HHIH", data, pos)
        pos += 10
        if pos + rdlen > len(data):
            raise ParseError("mDNS answer data truncated")
        rdata = data[pos : pos + rdlen]
        pos += rdlen
        address: str | None = None
        if rtype == TYPE_A and rdlen == 4:
            address = str(ipaddress.IPv4Address(rdata))
        elif rtype == TYPE_AAAA and rdlen == 16:
            address = str(ipaddress.IPv6Address(rdata))
        answers.append(Answer(name.lower(), rtype, ttl, address))
    return Message(msg_id, flags, tuple(questions), tuple(answers))


class MdnsNames:
    """The names we answer for and the resolutions we wait for (sans-IO)."""

    def __init__(self) -> None:
        self._own: dict[str, str] = {}
        self.resolved: dict[str, str] = {}

    def register(self, address: str) -> str:
        """A fresh ``.local`` name for ``address`` (one per address)."""
        for name, addr in self._own.items():
            if addr == address:
                return name
        name = new_name()
        self._own[name] = address
        return name

    def own(self, name: str) -> str | None:
        return self._own.get(name.lower())

    def handle(self, data: bytes) -> list[bytes]:
        """Feed a received mDNS datagram; return the responses to multicast.
        Answers update :attr:`resolved`; malformed input raises ParseError."""
        msg = parse(data)
        out: list[bytes] = []
        if msg.is_response:
            for a in msg.answers:
                if a.address is not None and a.name.endswith(".local"):
                    self.resolved[a.name] = a.address
            return out
        for q in msg.questions:
            address = self._own.get(q.name)
            if address is None:
                continue
            version = ipaddress.ip_address(address).version
            wanted = {TYPE_ANY, TYPE_A if version == 4 else TYPE_AAAA}
            if q.qtype in wanted:
                out.append(build_response(q.name, address))
        return out
