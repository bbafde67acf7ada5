"""ICE candidates: the ``candidate-attribute`` grammar (RFC 8839 §5.1, used by
webrtc-pc §4.8.1.1 for ``RTCIceCandidate.candidate``), priorities (RFC 8445
§5.1.2) and foundations (RFC 8445 §5.1.1.3).

:class:`Candidate` keeps aiortc's ``RTCIceCandidate`` field names (``component``,
``foundation``, ``ip``, ``port``, ``priority``, ``protocol``, ``type``,
``relatedAddress``, ``relatedPort``, ``sdpMid``, ``sdpMLineIndex``, ``tcpType``)
so code written for aiortc reads it unchanged; ``address`` is the webrtc-pc name
of ``ip``.  Extensions that follow the mandatory fields (``generation``,
``ufrag``, ``network-id``, ``network-cost`` and unknown ones) are kept in order
and written back by :meth:`Candidate.to_sdp`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Final

from rtcengine.exceptions import ParseError as _BaseParseError


class ParseError(_BaseParseError):
    """A malformed ``candidate-attribute`` line."""


# RFC 8445 §5.1.2.2: recommended type preferences.
TYPE_PREFERENCE: Final[dict[str, int]] = {
    "host": 126,  # RFC 8445 §5.1.2.2
    "prflx": 110,  # RFC 8445 §5.1.2.2
    "srflx": 100,  # RFC 8445 §5.1.2.2
    "relay": 0,  # RFC 8445 §5.1.2.2
}
# RFC 8445 §5.1.2.1: local preference of a single-homed agent.
MAX_LOCAL_PREFERENCE: Final = 65535
# RFC 8445 §5.1.2.1: priority is a positive integer between 1 and 2**31 - 1.
MAX_PRIORITY: Final = 2**31 - 1
# RFC 8445 §5.1.2.1 / RFC 8839 §5.1: component-id is 1..256.
MAX_COMPONENT: Final = 256
# RFC 8839 §5.1: foundation = 1*32 ice-char.
MAX_FOUNDATION_LENGTH: Final = 32
# RFC 8839 §5.1: candidate types (cand-type), plus token extensions.
CANDIDATE_TYPES: Final = ("host", "srflx", "prflx", "relay")
# RFC 6544 §4.5: tcp-type values.
TCP_TYPES: Final = ("active", "passive", "so")

# RFC 8839 §5.1: ice-char = ALPHA / DIGIT / "+" / "/".
_ICE_CHARS = re.compile(r"[A-Za-z0-9+/]{1,32}")
# RFC 8839 §5.1 / RFC 4566 §9: token (transport extension, cand-type extension).
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
# RFC 4566 §9 byte-string: no NUL, CR, LF; here also no space (fields are space-separated).
_EXT_VALUE = re.compile(r"[^\x00\r\n ]+")
# RFC 1035 §2.3.1 / RFC 8839 §5.1: an FQDN connection-address (also mDNS ".local" names).
_FQDN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-_]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9\-_]{1,63})*\.?")


def candidate_priority(
    component: int, candidate_type: str, local_preference: int = MAX_LOCAL_PREFERENCE
) -> int:
    """RFC 8445 §5.1.2.1: 2^24 * type pref + 2^8 * local pref + (256 - component)."""
    if not 1 <= component <= MAX_COMPONENT:
        raise ValueError(f"component must be 1..256, got {component}")
    if not 0 <= local_preference <= MAX_LOCAL_PREFERENCE:
        raise ValueError(f"local preference must be 0..65535, got {local_preference}")
    type_preference = TYPE_PREFERENCE.get(candidate_type, 0)
    return (type_preference << 24) + (local_preference << 8) + (256 - component)


# RFC 6544 §4.2: UDP candidates should be preferred over TCP ones (lower
# latency, no head-of-line blocking); TCP candidates get type preferences
# below their UDP counterparts (the values browsers use: host TCP below
# server-reflexive UDP, peer-reflexive TCP below that).
TCP_TYPE_PREFERENCE: Final[dict[str, int]] = {
    "host": 90,
    "prflx": 80,
    "srflx": 65,
    "relay": 0,
}
# RFC 6544 §4.2: direction-pref (0..7) of host candidates by tcptype: active
# first (it needs no open port on a NAT), then passive, then simultaneous-open.
TCP_DIRECTION_PREFERENCE: Final[dict[str, int]] = {"active": 6, "passive": 4, "so": 2}


def tcp_candidate_priority(
    component: int, candidate_type: str, tcp_type: str, other_preference: int = 8191
) -> int:
    """RFC 6544 §4.2: the priority of a TCP candidate, with local preference
    2^13 * direction-pref + other-pref (other-pref 0..8191 orders interfaces)
    and the TCP type preference."""
    if not 1 <= component <= MAX_COMPONENT:
        raise ValueError(f"component must be 1..256, got {component}")
    if not 0 <= other_preference <= 8191:
        raise ValueError(f"other-pref must be 0..8191, got {other_preference}")
    local_preference = (TCP_DIRECTION_PREFERENCE[tcp_type] << 13) + other_preference
    type_preference = TCP_TYPE_PREFERENCE.get(candidate_type, 0)
    return (type_preference << 24) + (local_preference << 8) + (256 - component)


def candidate_foundation(
    candidate_type: str, protocol: str, base_address: str, server: str | None = None
) -> str:
    """RFC 8445 §5.1.1.3: candidates share a foundation when they have the same
    type, base IP address, STUN/TURN server IP address and transport."""
    key = f"{candidate_type}|{protocol.lower()}|{base_address}|{server or ''}".encode()
    # A short, stable ice-char string: 8 hex digits of a hash of the key.
    return hashlib.blake2s(key, digest_size=4).hexdigest()


def pair_priority(controlling_priority: int, controlled_priority: int) -> int:
    """RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0)."""
    g, d = controlling_priority, controlled_priority
    return (min(g, d) << 32) + 2 * max(g, d) + (1 if g > d else 0)


def _parse_int(field: str, text: str, low: int, high: int, max_digits: int) -> int:
    if not text.isdigit() or not text.isascii() or len(text) > max_digits:
        raise ParseError(f"candidate {field} must be 1-{max_digits} digits, got {text!r}")
    value = int(text)
    if not low <= value <= high:
        raise ParseError(f"candidate {field} must be {low}..{high}, got {value}")
    return value


def _parse_address(field: str, text: str) -> str:
    """RFC 8839 §5.1 connection-address: IPv4, IPv6 or an FQDN (mDNS name)."""
    if ":" in text:
        try:
            return str(ipaddress.IPv6Address(text.split("%", 1)[0]))
        except ValueError:
            raise ParseError(f"candidate {field} is not an IPv6 address: {text!r}") from None
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    if len(text) <= 253 and _FQDN.fullmatch(text) and not text.replace(".", "").isdigit():
        return text
    raise ParseError(f"candidate {field} is not an IP address or FQDN: {text!r}")


class Candidate:
    """An ICE candidate (``RTCIceCandidate`` with aiortc's field names)."""

    __slots__ = (
        "component",
        "extensions",
        "foundation",
        "ip",
        "port",
        "priority",
        "protocol",
        "relatedAddress",
        "relatedPort",
        "sdpMLineIndex",
        "sdpMid",
        "type",
    )

    def __init__(
        self,
        component: int,
        foundation: str,
        ip: str,
        port: int,
        priority: int,
        protocol: str,
        type: str,
        relatedAddress: str | None = None,
        relatedPort: int | None = None,
        sdpMid: str | None = None,
        sdpMLineIndex: int | None = None,
        tcpType: str | None = None,
        extensions: list[tuple[str, str]] | None = None,
    ) -> None:
        self.component = component
        self.foundation = foundation
        self.ip = ip
        self.port = port
        self.priority = priority
        self.protocol = protocol
        self.type = type
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.sdpMid = sdpMid
        self.sdpMLineIndex = sdpMLineIndex
        # Extension attributes in wire order (RFC 8839 §5.1 cand-extension).
        self.extensions: list[tuple[str, str]] = list(extensions or [])
        if tcpType is not None:
            self.tcpType = tcpType

    # ------------------------------------------------------------ fields

    @property
    def address(self) -> str:
        """webrtc-pc name of :attr:`ip`."""
        return self.ip

    @address.setter
    def address(self, value: str) -> None:
        self.ip = value

    def _ext(self, name: str) -> str | None:
        for key, value in self.extensions:
            if key == name:
                return value
        return None

    def _set_ext(self, name: str, value: str | None) -> None:
        kept = [(k, v) for k, v in self.extensions if k != name]
        if value is not None:
            kept.append((name, value))
        self.extensions = kept

    @property
    def tcpType(self) -> str | None:
        """RFC 6544 §4.5 tcptype (active / passive / so)."""
        return self._ext("tcptype")

    @tcpType.setter
    def tcpType(self, value: str | None) -> None:
        self._set_ext("tcptype", value)

    @property
    def generation(self) -> int | None:
        """webrtc.org ``generation`` extension (ICE restart counter)."""
        value = self._ext("generation")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def usernameFragment(self) -> str | None:
        """webrtc-pc ``usernameFragment`` (the ``ufrag`` extension)."""
        return self._ext("ufrag")

    @property
    def networkId(self) -> int | None:
        """webrtc.org ``network-id`` extension."""
        value = self._ext("network-id")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def networkCost(self) -> int | None:
        """webrtc.org ``network-cost`` extension."""
        value = self._ext("network-cost")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def addr(self) -> tuple[str, int]:
        """``(ip, port)``."""
        return (self.ip, self.port)

    @property
    def is_mdns(self) -> bool:
        """True for a host candidate hidden behind an mDNS name (RFC 8839 §5.1 FQDN)."""
        return self.ip.endswith(".local")

    # ------------------------------------------------------------ grammar

    @classmethod
    def from_sdp(cls, line: str) -> Candidate:
        """Parse ``candidate-attribute`` (RFC 8839 §5.1).  Accepts the value as
        it appears in ``RTCIceCandidate.candidate`` (``candidate:...``), an SDP
        line (``a=candidate:...``), or the bare fields."""
        text = line.strip()
        if text.startswith("a="):
            text = text[2:]
        if text.startswith("candidate:"):
            text = text[len("candidate:") :]
        fields = text.split(" ")
        if "" in fields:
            # RFC 8839 §5.1: fields are separated by exactly one SP.
            fields = [f for f in text.split() if f]
        if len(fields) < 8:
            raise ParseError(f"candidate needs at least 8 fields, got {len(fields)}: {line!r}")
        foundation, comp, transport, prio, addr, port, typ, ctype = fields[:8]
        if not _ICE_CHARS.fullmatch(foundation):
            raise ParseError(f"candidate foundation must be 1-32 ice-chars, got {foundation!r}")
        component = _parse_int("component", comp, 1, MAX_COMPONENT, 3)
        if not _TOKEN.fullmatch(transport):
            raise ParseError(f"candidate transport must be a token, got {transport!r}")
        priority = _parse_int("priority", prio, 1, MAX_PRIORITY, 10)
        ip = _parse_address("connection-address", addr)
        port_n = _parse_int("port", port, 0, 65535, 5)
        if typ != "typ":
            raise ParseError(f"candidate expects 'typ' as the 7th field, got {typ!r}")
        if not _TOKEN.fullmatch(ctype):
            raise ParseError(f"candidate type must be a token, got {ctype!r}")
        rest = fields[8:]
        related_address: str | None = None
        related_port: int | None = None
        # RFC 8839 §5.1: [SP rel-addr] [SP rel-port] come first, in that order.
        if len(rest) >= 2 and rest[0] == "raddr":
            related_address = _parse_address("raddr", rest[1])
            rest = rest[2:]
        if len(rest) >= 2 and rest[0] == "rport":
            related_port = _parse_int("rport", rest[1], 0, 65535, 5)
            rest = rest[2:]
        if len(rest) % 2:
            raise ParseError(f"candidate extension {rest[-1]!r} has no value")
        extensions: list[tuple[str, str]] = []
        for i in range(0, len(rest), 2):
            name, value = rest[i], rest[i + 1]
            if not _TOKEN.fullmatch(name):
                raise ParseError(f"candidate extension name must be a token, got {name!r}")
            if not _EXT_VALUE.fullmatch(value):
                raise ParseError(f"candidate extension {name} has a bad value {value!r}")
            if name in ("raddr", "rport"):
                raise ParseError(f"candidate {name} must follow the candidate type")
            if name == "tcptype" and value not in TCP_TYPES:
                raise ParseError(f"candidate tcptype must be active/passive/so, got {value!r}")
            if name in ("generation", "network-id", "network-cost") and not (
                value.isdigit() and value.isascii()
            ):
                raise ParseError(f"candidate {name} must be a number, got {value!r}")
            extensions.append((name, value))
        return cls(
            component=component,
            foundation=foundation,
            ip=ip,
            port=port_n,
            priority=priority,
            protocol=transport.lower(),
            type=ctype,
            relatedAddress=related_address,
            relatedPort=related_port,
            extensions=extensions,
        )

    def to_sdp(self) -> str:
        """The fields of ``candidate-attribute`` (without ``candidate:``), as
        aiortc's ``candidate_to_sdp`` writes them."""
        parts = [
            self.foundation,
            str(self.component),
            self.protocol,
            str(self.priority),
            self.ip,
            str(self.port),
            "typ",
            self.type,
        ]
        if self.relatedAddress is not None:
            parts += ["raddr", self.relatedAddress]
        if self.relatedPort is not None:
            parts += ["rport", str(self.relatedPort)]
        for name, value in self.extensions:
            parts += [name, value]
        return " ".join(parts)

    @property
    def candidate(self) -> str:
        """webrtc-pc ``RTCIceCandidate.candidate``: ``candidate:`` + fields."""
        return "candidate:" + self.to_sdp()

    # ------------------------------------------------------------ helpers

    def copy(self) -> Candidate:
        return Candidate(
            component=self.component,
            foundation=self.foundation,
            ip=self.ip,
            port=self.port,
            priority=self.priority,
            protocol=self.protocol,
            type=self.type,
            relatedAddress=self.relatedAddress,
            relatedPort=self.relatedPort,
            sdpMid=self.sdpMid,
            sdpMLineIndex=self.sdpMLineIndex,
            extensions=list(self.extensions),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Candidate):
            return NotImplemented
        return self.to_sdp() == other.to_sdp()

    def __hash__(self) -> int:
        return hash(self.to_sdp())

    def __repr__(self) -> str:
        return f"Candidate({self.to_sdp()!r})"


def end_of_candidates_line() -> str:
    """RFC 8840 §8.2: the SDP attribute signalling end-of-candidates."""
    return "a=end-of-candidates"
