"""SDP (RFC 8866) with the attributes WebRTC uses.

:meth:`SessionDescription.parse` turns SDP text into a model and
:meth:`SessionDescription.to_sdp` (also ``str()``) writes it back.  The model
keeps every ``a=`` line in order as an :class:`Attribute` holding the value
text exactly as received plus the value parsed into a small typed object, so
a description round-trips byte for byte and unknown attributes survive.
Typed views (``media.mid``, ``media.codecs``, ``media.candidates`` ...) read
the attribute list; setters and ``add_*`` methods write it.

Attribute RFCs: ICE (RFC 8839, candidates in RFC 8839 §5.1 via
:mod:`rtcengine.ice.candidate`, end-of-candidates RFC 8840 §8.2), DTLS
fingerprint (RFC 8122 §5), setup (RFC 4145 §4, RFC 8842 §5), tls-id
(RFC 8842 §5.2), SCTP (RFC 8841), BUNDLE (RFC 8843), grouping (RFC 5888),
rtcp-mux (RFC 5761, RFC 8858), rtcp-rsize (RFC 5506), rtcp (RFC 3605),
extmap (RFC 8285), rtpmap/fmtp (RFC 8866 §6.6/§6.15), rtcp-fb (RFC 4585 §4.2),
ssrc/ssrc-group (RFC 5576), msid (RFC 8830), rid (RFC 8851), simulcast
(RFC 8853).

Normalisation on output (``parse(text).to_sdp() == text`` otherwise):
lines end in CRLF; blank lines are dropped; the fixed lines (``v= o= s= i=
u= e= p= c= b= t= r= z= k= m=``) are written from their fields, single-space
separated, in RFC 8866 §5 order; lines with an unknown type letter move after
the fixed lines of their section.  ``a=`` lines are written as received.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from rtcengine.exceptions import ParseError as _BaseParseError
from rtcengine.ice.candidate import Candidate
from rtcengine.ice.candidate import ParseError as _CandidateParseError

__all__ = [
    "Attribute",
    "Bandwidth",
    "Candidate",
    "Codec",
    "Connection",
    "Extmap",
    "Fingerprint",
    "Fmtp",
    "Group",
    "GroupDescription",
    "MediaDescription",
    "Msid",
    "MsidSemantic",
    "Origin",
    "ParseError",
    "Rid",
    "Rtcp",
    "RtcpFeedback",
    "Rtpmap",
    "Sctpmap",
    "SdpParseError",
    "SessionDescription",
    "Simulcast",
    "SimulcastId",
    "SsrcAttribute",
    "SsrcGroup",
    "Timing",
]


class ParseError(_BaseParseError):
    """Malformed SDP.  ``line_number`` (1-based, 0 when not tied to a line),
    ``line`` (the text of that line) and ``reason`` say what was wrong."""

    def __init__(self, reason: str, line_number: int = 0, line: str = "") -> None:
        self.reason = reason
        self.line_number = line_number
        self.line = line
        if line_number:
            super().__init__(f"SDP line {line_number}: {reason}: {line!r}")
        else:
            super().__init__(reason)


SdpParseError = ParseError

# RFC 8866 §5.1: the only protocol version.
SDP_VERSION: Final = 0
# RFC 8866 §5.14 (with RFC 8124 for UDP/DTLS/SCTP): direction attributes.
DIRECTIONS: Final = ("sendrecv", "sendonly", "recvonly", "inactive")
# RFC 4145 §4 / RFC 8842 §5.1: values of a=setup.
SETUP_VALUES: Final = ("actpass", "active", "passive", "holdconn")
# RFC 8122 §5 (IANA "Hash Function Textual Names"): digest sizes in bytes.
FINGERPRINT_SIZES: Final[dict[str, int]] = {
    "md2": 16,  # RFC 8122 §5 (legacy)
    "md5": 16,  # RFC 8122 §5 (legacy)
    "sha-1": 20,  # RFC 8122 §5
    "sha-224": 28,  # RFC 8122 §5
    "sha-256": 32,  # RFC 8122 §5
    "sha-384": 48,  # RFC 8122 §5
    "sha-512": 64,  # RFC 8122 §5
}
# RFC 8841 §4.1 / RFC 8829 §5.1.2: protos of an SCTP-over-DTLS m= section
# (DTLS/SCTP is the pre-RFC 8841 form still seen from old peers).
SCTP_PROTOS: Final = ("UDP/DTLS/SCTP", "TCP/DTLS/SCTP", "DTLS/SCTP")
# RFC 8841 §4.2: the fmt of a data-channel m= section.
DATACHANNEL_FMT: Final = "webrtc-datachannel"
# RFC 8285 §5/§7: one-byte ids 1-14, two-byte ids 1-255, 4096-4351 for negotiation.
EXTMAP_ID_RANGES: Final = ((1, 255), (4096, 4351))
# RFC 3551 §6 tables 4 and 5: static RTP payload types (name, clock rate, channels).
STATIC_PAYLOAD_TYPES: Final[dict[int, tuple[str, int, int | None]]] = {
    0: ("PCMU", 8000, 1),
    3: ("GSM", 8000, 1),
    4: ("G723", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    13: ("CN", 8000, 1),
    18: ("G729", 8000, 1),
    26: ("JPEG", 90000, None),
    31: ("H261", 90000, None),
    34: ("H263", 90000, None),
}

# RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/".
_ICE_CHARS: Final = frozenset(string.ascii_letters + string.digits + "+/")
# RFC 8842 §5.2: tls-id = 20*255(ALPHA / DIGIT / "+" / "/" / "-" / "_").
_TLS_ID_CHARS: Final = frozenset(string.ascii_letters + string.digits + "+/-_")
_HEX: Final = frozenset(string.hexdigits)
# RFC 8866 §9: token-char (attribute names, semantics, bwtype ...).
_TOKEN_CHARS: Final = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`{|}~")
_WS: Final = frozenset(" \t")


class _Bad(Exception):
    """A value that cannot be understood; the parser adds the line."""


# ----------------------------------------------------------------- helpers


def _int(text: str, what: str, low: int, high: int) -> int:
    if not text.isdigit() or not text.isascii() or len(text) > 20:
        raise _Bad(f"{what} must be a decimal number, got {text!r}")
    value = int(text)
    if not low <= value <= high:
        raise _Bad(f"{what} must be {low}..{high}, got {value}")
    return value


def _token(text: str, what: str) -> str:
    if not text or not _TOKEN_CHARS.issuperset(text):
        raise _Bad(f"{what} must be a token, got {text!r}")
    return text


def _word(text: str, what: str) -> str:
    """A non-empty value without whitespace (identification-tag, ids)."""
    if not text or not text.isprintable() or any(c in _WS for c in text):
        raise _Bad(f"{what} must be one non-empty word, got {text!r}")
    return text


def _ice_chars(text: str, what: str) -> str:
    if not text or not _ICE_CHARS.issuperset(text):
        raise _Bad(f"{what} must be 1 or more ice-chars (A-Z a-z 0-9 + /), got {text!r}")
    return text


# ------------------------------------------------------- fixed-line values


@dataclass
class Origin:
    """RFC 8866 §5.2 ``o=<username> <sess-id> <sess-version> <nettype> <addrtype>
    <unicast-address>``."""

    username: str = "-"
    session_id: int = 0
    session_version: int = 0
    nettype: str = "IN"
    addrtype: str = "IP4"
    address: str = "127.0.0.1"

    @classmethod
    def parse(cls, text: str) -> Origin:
        parts = text.split()
        if len(parts) != 6:
            raise _Bad(f"o= needs 6 fields, got {len(parts)}")
        # RFC 8866 §5.2: sess-id and sess-version are 1*DIGIT (Chromium: < 2^63).
        sid = _int(parts[1], "sess-id", 0, 2**64 - 1)
        ver = _int(parts[2], "sess-version", 0, 2**64 - 1)
        return cls(parts[0], sid, ver, parts[3], parts[4], parts[5])

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass
class Connection:
    """RFC 8866 §5.7 ``c=<nettype> <addrtype> <connection-address>``."""

    nettype: str = "IN"
    addrtype: str = "IP4"
    address: str = "0.0.0.0"

    @classmethod
    def parse(cls, text: str) -> Connection:
        parts = text.split()
        if len(parts) != 3:
            raise _Bad(f"c= needs 3 fields, got {len(parts)}")
        return cls(parts[0], parts[1], parts[2])

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"


@dataclass
class Bandwidth:
    """RFC 8866 §5.8 ``b=<bwtype>:<bandwidth>`` (kbit/s for AS/CT; TIAS in
    bit/s, RFC 3890)."""

    type: str
    value: int

    @classmethod
    def parse(cls, text: str) -> Bandwidth:
        bwtype, sep, value = text.partition(":")
        if not sep:
            raise _Bad("b= needs <bwtype>:<bandwidth>")
        return cls(_token(bwtype.strip(), "bwtype"), _int(value.strip(), "bandwidth", 0, 2**64))

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass
class Timing:
    """RFC 8866 §5.9 ``t=<start-time> <stop-time>`` with its ``r=`` lines
    (§5.10, kept as text)."""

    start: int = 0
    stop: int = 0
    repeats: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> Timing:
        parts = text.split()
        if len(parts) != 2:
            raise _Bad(f"t= needs 2 fields, got {len(parts)}")
        return cls(_int(parts[0], "start-time", 0, 2**64), _int(parts[1], "stop-time", 0, 2**64))

    def __str__(self) -> str:
        return f"{self.start} {self.stop}"


# ------------------------------------------------------- attribute values


@dataclass(frozen=True, slots=True)
class Group:
    """RFC 5888 §5 ``a=group:<semantics> *(SP <identification-tag>)``
    (BUNDLE: RFC 8843 §7.1; LS: RFC 5888 §7)."""

    semantics: str
    mids: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Group:
        parts = text.split()
        if not parts:
            raise _Bad("group needs semantics")
        return cls(_token(parts[0], "group semantics"), tuple(parts[1:]))

    def __str__(self) -> str:
        return " ".join((self.semantics, *self.mids))

    # aiortc's GroupDescription names.
    @property
    def semantic(self) -> str:
        return self.semantics

    @property
    def items(self) -> list[str]:
        return list(self.mids)


GroupDescription = Group


@dataclass(frozen=True, slots=True)
class MsidSemantic:
    """``a=msid-semantic:WMS *(SP id)`` (draft-ietf-mmusic-msid-05, still sent
    by browsers; RFC 8830 dropped it)."""

    semantic: str
    ids: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> MsidSemantic:
        parts = text.split()
        if not parts:
            raise _Bad("msid-semantic needs a semantic")
        return cls(parts[0], tuple(parts[1:]))

    def __str__(self) -> str:
        return " ".join((self.semantic, *self.ids))

    @property
    def items(self) -> list[str]:
        return list(self.ids)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """RFC 8122 §5 ``a=fingerprint:<hash-func> <fingerprint>``; the value is
    upper-case hex pairs separated by colons (lower case accepted)."""

    algorithm: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Fingerprint:
        parts = text.split()
        if len(parts) != 2:
            raise _Bad(f"fingerprint needs <hash-func> <fingerprint>, got {len(parts)} fields")
        algorithm, value = parts[0].lower(), parts[1]
        _token(algorithm, "fingerprint hash-func")
        pairs = value.split(":")
        for pair in pairs:
            if len(pair) != 2 or not _HEX.issuperset(pair):
                raise _Bad(f"fingerprint must be hex pairs separated by ':', got {value!r}")
        want = FINGERPRINT_SIZES.get(algorithm)
        if want is not None and len(pairs) != want:
            raise _Bad(f"{algorithm} fingerprint must be {want} bytes, got {len(pairs)}")
        return cls(parts[0], value)

    @classmethod
    def from_digest(cls, algorithm: str, digest: bytes) -> Fingerprint:
        return cls(algorithm, ":".join(f"{b:02X}" for b in digest))

    @property
    def digest(self) -> bytes:
        return bytes.fromhex(self.value.replace(":", ""))

    def __str__(self) -> str:
        return f"{self.algorithm} {self.value}"


@dataclass(frozen=True, slots=True)
class Rtcp:
    """RFC 3605 §2.1 ``a=rtcp:<port> [<nettype> <addrtype> <connection-address>]``."""

    port: int
    nettype: str | None = None
    addrtype: str | None = None
    address: str | None = None

    @classmethod
    def parse(cls, text: str) -> Rtcp:
        parts = text.split()
        if len(parts) not in (1, 4):
            raise _Bad(
                f"rtcp needs <port> [<nettype> <addrtype> <address>], got {len(parts)} fields"
            )
        port = _int(parts[0], "rtcp port", 0, 65535)
        if len(parts) == 1:
            return cls(port)
        return cls(port, parts[1], parts[2], parts[3])

    def __str__(self) -> str:
        if self.address is None:
            return str(self.port)
        return f"{self.port} {self.nettype} {self.addrtype} {self.address}"


@dataclass(frozen=True, slots=True)
class Sctpmap:
    """``a=sctpmap:<number> <app> [<streams>]`` (draft-ietf-mmusic-sctp-sdp-05
    §5, the form before RFC 8841)."""

    number: int
    app: str
    streams: int | None = None

    @classmethod
    def parse(cls, text: str) -> Sctpmap:
        parts = text.split()
        if len(parts) not in (2, 3):
            raise _Bad(f"sctpmap needs <number> <app> [<streams>], got {len(parts)} fields")
        number = _int(parts[0], "sctpmap number", 0, 65535)
        streams = _int(parts[2], "sctpmap streams", 0, 65535) if len(parts) == 3 else None
        return cls(number, parts[1], streams)

    def __str__(self) -> str:
        if self.streams is None:
            return f"{self.number} {self.app}"
        return f"{self.number} {self.app} {self.streams}"


@dataclass(frozen=True, slots=True)
class Extmap:
    """RFC 8285 §8 ``a=extmap:<id>[/<direction>] <uri> [<attributes>]``."""

    id: int
    uri: str
    direction: str | None = None
    attributes: str | None = None

    @classmethod
    def parse(cls, text: str) -> Extmap:
        parts = text.split(None, 2)
        if len(parts) < 2:
            raise _Bad("extmap needs <id>[/<direction>] <uri>")
        ident, slash, direction = parts[0].partition("/")
        value = _int(ident, "extmap id", 0, 65535)
        if not any(low <= value <= high for low, high in EXTMAP_ID_RANGES):
            raise _Bad(f"extmap id must be 1..255 or 4096..4351 (RFC 8285), got {value}")
        if slash and direction not in DIRECTIONS:
            raise _Bad(f"extmap direction must be one of {'/'.join(DIRECTIONS)}, got {direction!r}")
        return cls(
            value, parts[1], direction if slash else None, parts[2] if len(parts) > 2 else None
        )

    def __str__(self) -> str:
        head = str(self.id) if self.direction is None else f"{self.id}/{self.direction}"
        if self.attributes is None:
            return f"{head} {self.uri}"
        return f"{head} {self.uri} {self.attributes}"


@dataclass(frozen=True, slots=True)
class Rtpmap:
    """RFC 8866 §6.6 ``a=rtpmap:<pt> <encoding name>/<clock rate>[/<channels>]``."""

    payload_type: int
    name: str
    clock_rate: int
    channels: int | None = None

    @classmethod
    def parse(cls, text: str) -> Rtpmap:
        pt, _, desc = text.strip().partition(" ")
        bits = desc.strip().split("/")
        if len(bits) not in (2, 3) or not bits[0]:
            raise _Bad(f"rtpmap needs <pt> <name>/<clock rate>[/<channels>], got {text!r}")
        payload_type = _int(pt, "rtpmap payload type", 0, 127)
        clock = _int(bits[1], "rtpmap clock rate", 1, 2**32)
        channels = _int(bits[2], "rtpmap channels", 1, 255) if len(bits) == 3 else None
        return cls(payload_type, bits[0], clock, channels)

    def __str__(self) -> str:
        if self.channels is None:
            return f"{self.payload_type} {self.name}/{self.clock_rate}"
        return f"{self.payload_type} {self.name}/{self.clock_rate}/{self.channels}"


def parse_fmtp_parameters(text: str) -> dict[str, str | None]:
    """RFC 8866 §6.15 format parameters as WebRTC writes them: ``k=v;k2=v2``;
    a bare item (``0-15``, ``111/111``) maps to None."""
    out: dict[str, str | None] = {}
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        key, eq, value = item.partition("=")
        out[key.strip()] = value.strip() if eq else None
    return out


def format_fmtp_parameters(params: dict[str, str | None]) -> str:
    return ";".join(k if v is None else f"{k}={v}" for k, v in params.items())


@dataclass(frozen=True, slots=True)
class Fmtp:
    """RFC 8866 §6.15 ``a=fmtp:<format> <format specific parameters>``."""

    format: str
    parameters: dict[str, str | None]

    @classmethod
    def parse(cls, text: str) -> Fmtp:
        fmt, _, params = text.strip().partition(" ")
        if not fmt:
            raise _Bad("fmtp needs <format> <parameters>")
        return cls(fmt, parse_fmtp_parameters(params))

    @property
    def payload_type(self) -> int | None:
        return int(self.format) if self.format.isdigit() and len(self.format) <= 3 else None

    def __str__(self) -> str:
        return f"{self.format} {format_fmtp_parameters(self.parameters)}"


@dataclass(frozen=True, slots=True)
class RtcpFeedback:
    """RFC 4585 §4.2 ``a=rtcp-fb:<pt>|* <type> [<parameter>]``
    (``payload_type`` None for ``*``); aiortc's RTCRtcpFeedback names."""

    type: str
    parameter: str | None = None
    payload_type: int | None = None

    @classmethod
    def parse(cls, text: str) -> RtcpFeedback:
        parts = text.split(None, 2)
        if len(parts) < 2:
            raise _Bad("rtcp-fb needs <pt> <type> [<parameter>]")
        pt = None if parts[0] == "*" else _int(parts[0], "rtcp-fb payload type", 0, 127)
        return cls(parts[1], parts[2] if len(parts) > 2 else None, pt)

    def __str__(self) -> str:
        pt = "*" if self.payload_type is None else str(self.payload_type)
        if self.parameter is None:
            return f"{pt} {self.type}"
        return f"{pt} {self.type} {self.parameter}"


@dataclass(frozen=True, slots=True)
class SsrcAttribute:
    """RFC 5576 §4.1 ``a=ssrc:<ssrc-id> <attribute>[:<value>]``."""

    ssrc: int
    attribute: str
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> SsrcAttribute:
        ssrc, _, rest = text.strip().partition(" ")
        ssrc_id = _int(ssrc, "ssrc-id", 0, 2**32 - 1)
        name, colon, value = rest.strip().partition(":")
        if not name:
            raise _Bad("ssrc needs <ssrc-id> <attribute>[:<value>]")
        return cls(ssrc_id, name, value if colon else None)

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.ssrc} {self.attribute}"
        return f"{self.ssrc} {self.attribute}:{self.value}"


@dataclass(frozen=True, slots=True)
class SsrcGroup:
    """RFC 5576 §4.2 ``a=ssrc-group:<semantics> *(SP <ssrc-id>)`` (FID: RFC 5576
    §4.2 / RFC 4588 rtx; FEC-FR: RFC 5956; SIM)."""

    semantics: str
    ssrcs: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str) -> SsrcGroup:
        parts = text.split()
        if not parts:
            raise _Bad("ssrc-group needs semantics")
        return cls(
            _token(parts[0], "ssrc-group semantics"),
            tuple(_int(p, "ssrc-id", 0, 2**32 - 1) for p in parts[1:]),
        )

    def __str__(self) -> str:
        return " ".join((self.semantics, *map(str, self.ssrcs)))


@dataclass(frozen=True, slots=True)
class Msid:
    """RFC 8830 §2 ``a=msid:<stream id> [<track id>]`` (``-``: no stream)."""

    stream_id: str
    track_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> Msid:
        parts = text.split()
        if len(parts) not in (1, 2):
            raise _Bad(f"msid needs <stream id> [<track id>], got {len(parts)} fields")
        return cls(parts[0], parts[1] if len(parts) == 2 else None)

    def __str__(self) -> str:
        return self.stream_id if self.track_id is None else f"{self.stream_id} {self.track_id}"


@dataclass(frozen=True, slots=True)
class Rid:
    """RFC 8851 §10 ``a=rid:<rid-id> send|recv [<restrictions>]``; restrictions
    (``pt=96,97;max-width=1280``) kept in order as (name, value)."""

    id: str
    direction: str
    params: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Rid:
        parts = text.split(None, 2)
        if len(parts) < 2:
            raise _Bad("rid needs <rid-id> send|recv")
        rid_id = parts[0]
        # RFC 8851 §10: rid-id = 1*(alpha-numeric / "-" / "_").
        if not all(c.isascii() and (c.isalnum() or c in "-_") for c in rid_id):
            raise _Bad(f"rid-id must be alphanumerics, '-' or '_', got {rid_id!r}")
        if parts[1] not in ("send", "recv"):
            raise _Bad(f"rid direction must be send or recv, got {parts[1]!r}")
        params: list[tuple[str, str | None]] = []
        if len(parts) == 3:
            for item in parts[2].split(";"):
                key, eq, value = item.strip().partition("=")
                if key:
                    params.append((key, value if eq else None))
        return cls(rid_id, parts[1], tuple(params))

    @property
    def payload_types(self) -> list[int]:
        for key, value in self.params:
            if key == "pt" and value:
                return [int(p) for p in value.split(",") if p.isdigit()]
        return []

    def __str__(self) -> str:
        if not self.params:
            return f"{self.id} {self.direction}"
        rest = ";".join(k if v is None else f"{k}={v}" for k, v in self.params)
        return f"{self.id} {self.direction} {rest}"


@dataclass(frozen=True, slots=True)
class SimulcastId:
    """RFC 8853 §5.1 sc-id: a rid, ``paused`` when written with ``~``."""

    rid: str
    paused: bool = False

    def __str__(self) -> str:
        return f"~{self.rid}" if self.paused else self.rid


def _simulcast_list(text: str) -> tuple[tuple[SimulcastId, ...], ...]:
    streams: list[tuple[SimulcastId, ...]] = []
    for alt_list in text.split(";"):
        alts: list[SimulcastId] = []
        for sc_id in alt_list.split(","):
            paused = sc_id.startswith("~")
            rid = sc_id[1:] if paused else sc_id
            if not rid or not all(c.isascii() and (c.isalnum() or c in "-_") for c in rid):
                raise _Bad(f"simulcast rid must be alphanumerics, '-' or '_', got {sc_id!r}")
            alts.append(SimulcastId(rid, paused))
        streams.append(tuple(alts))
    return tuple(streams)


@dataclass(frozen=True, slots=True)
class Simulcast:
    """RFC 8853 §5.1 ``a=simulcast:send <list> [recv <list>]`` (or recv first).
    Each list is streams separated by ``;``, each stream its alternatives
    separated by ``,``."""

    send: tuple[tuple[SimulcastId, ...], ...] = ()
    recv: tuple[tuple[SimulcastId, ...], ...] = ()
    recv_first: bool = False

    @classmethod
    def parse(cls, text: str) -> Simulcast:
        parts = text.split()
        if len(parts) not in (2, 4):
            raise _Bad("simulcast needs send|recv <list> [recv|send <list>]")
        lists: dict[str, tuple[tuple[SimulcastId, ...], ...]] = {}
        for i in range(0, len(parts), 2):
            if parts[i] not in ("send", "recv") or parts[i] in lists:
                raise _Bad(
                    f"simulcast direction must be send or recv (once each), got {parts[i]!r}"
                )
            lists[parts[i]] = _simulcast_list(parts[i + 1])
        return cls(lists.get("send", ()), lists.get("recv", ()), parts[0] == "recv")

    def __str__(self) -> str:
        def fmt(streams: tuple[tuple[SimulcastId, ...], ...]) -> str:
            return ";".join(",".join(map(str, alts)) for alts in streams)

        out = []
        if self.send:
            out.append(f"send {fmt(self.send)}")
        if self.recv:
            out.append(f"recv {fmt(self.recv)}")
        if self.recv_first:
            out.reverse()
        return " ".join(out)


@dataclass
class Codec:
    """One RTP payload type of a media section, gathered from its rtpmap,
    fmtp and rtcp-fb lines (a view: edit it with ``MediaDescription.add_codec``)."""

    payload_type: int
    name: str | None
    clock_rate: int | None
    channels: int | None = None
    parameters: dict[str, str | None] = field(default_factory=dict)
    rtcp_feedback: list[RtcpFeedback] = field(default_factory=list)

    @property
    def apt(self) -> int | None:
        """RFC 4588 §8.6: the payload type an rtx format repairs."""
        value = self.parameters.get("apt")
        return int(value) if value is not None and value.isdigit() else None

    def rtpmap(self) -> Rtpmap | None:
        if self.name is None or self.clock_rate is None:
            return None
        return Rtpmap(self.payload_type, self.name, self.clock_rate, self.channels)


# --------------------------------------------------------------- attributes

_AttrParser = Callable[[str], object]


def _setup(value: str) -> str:
    if value not in SETUP_VALUES:
        raise _Bad(f"setup must be one of {'/'.join(SETUP_VALUES)}, got {value!r}")
    return value


def _tls_id(value: str) -> str:
    if not value or not _TLS_ID_CHARS.issuperset(value):
        raise _Bad(f"tls-id must be ALPHA / DIGIT / + / - / _ / '/', got {value!r}")
    return value


def _candidate(value: str) -> Candidate:
    try:
        return Candidate.from_sdp(value)
    except _CandidateParseError as exc:
        raise _Bad(str(exc)) from None


# Attributes whose value is parsed into a typed object (by name).
_VALUE_PARSERS: Final[dict[str, _AttrParser]] = {
    "group": Group.parse,  # RFC 5888 §5
    "msid-semantic": MsidSemantic.parse,  # draft-ietf-mmusic-msid-05
    "fingerprint": Fingerprint.parse,  # RFC 8122 §5
    "rtcp": Rtcp.parse,  # RFC 3605 §2.1
    "sctpmap": Sctpmap.parse,  # draft-ietf-mmusic-sctp-sdp-05 §5
    "extmap": Extmap.parse,  # RFC 8285 §8
    "rtpmap": Rtpmap.parse,  # RFC 8866 §6.6
    "fmtp": Fmtp.parse,  # RFC 8866 §6.15
    "rtcp-fb": RtcpFeedback.parse,  # RFC 4585 §4.2
    "ssrc": SsrcAttribute.parse,  # RFC 5576 §4.1
    "ssrc-group": SsrcGroup.parse,  # RFC 5576 §4.2
    "msid": Msid.parse,  # RFC 8830 §2
    "rid": Rid.parse,  # RFC 8851 §10
    "simulcast": Simulcast.parse,  # RFC 8853 §5.1
    "mid": lambda v: _word(v.strip(), "mid"),  # RFC 5888 §4
    "ice-ufrag": lambda v: _ice_chars(v.strip(), "ice-ufrag"),  # RFC 8839 §5.4
    "ice-pwd": lambda v: _ice_chars(v.strip(), "ice-pwd"),  # RFC 8839 §5.4
    "ice-options": lambda v: tuple(_token(t, "ice-option") for t in v.split()),  # RFC 8839 §5.6
    "setup": lambda v: _setup(v.strip()),  # RFC 4145 §4, RFC 8842 §5.1
    "tls-id": lambda v: _tls_id(v.strip()),  # RFC 8842 §5.2
    "sctp-port": lambda v: _int(v.strip(), "sctp-port", 0, 65535),  # RFC 8841 §5.2
    "max-message-size": lambda v: _int(v.strip(), "max-message-size", 0, 2**64),  # RFC 8841 §6
    "candidate": _candidate,  # RFC 8839 §5.1
    "ptime": lambda v: v.strip(),  # RFC 8866 §6.4 (kept as text: may be fractional)
    "maxptime": lambda v: v.strip(),  # RFC 8866 §6.5
}
# Value-less attributes (flags).
FLAGS: Final = frozenset(
    {
        "sendrecv",  # RFC 8866 §6.7.1
        "sendonly",  # RFC 8866 §6.7.2
        "recvonly",  # RFC 8866 §6.7.3
        "inactive",  # RFC 8866 §6.7.4
        "rtcp-mux",  # RFC 5761 §5.1.1
        "rtcp-mux-only",  # RFC 8858 §3
        "rtcp-rsize",  # RFC 5506 §5
        "bundle-only",  # RFC 8843 §6
        "end-of-candidates",  # RFC 8840 §8.2
        "ice-lite",  # RFC 8839 §5.3
        "ice-mismatch",  # RFC 8839 §5.5
        "extmap-allow-mixed",  # RFC 8285 §6
    }
)
# Attributes that may appear at most once in a section.
_SINGLE: Final = frozenset(
    {"mid", "ice-ufrag", "ice-pwd", "setup", "tls-id", "sctp-port", "max-message-size", "rtcp"}
)
# Attributes that only mean something in a media section (at session level
# they are kept but not parsed or checked against the m= line).
_MEDIA_ONLY: Final = frozenset(
    {"rtpmap", "fmtp", "rtcp-fb", "ssrc", "ssrc-group", "rid", "simulcast", "msid", "sctpmap"}
)


class Attribute:
    """One ``a=`` line: ``name``, ``value`` (the text after the first ``:``,
    None for a flag) and ``parsed`` (the typed value, or None for an unknown
    attribute).  Equality compares name and value text."""

    __slots__ = ("name", "parsed", "value")

    def __init__(self, name: str, value: str | None = None, parsed: object = None) -> None:
        self.name = name
        self.value = value
        self.parsed = parsed

    @classmethod
    def of(cls, name: str, value: object = None) -> Attribute:
        """Build (and check) an attribute from a typed value or text."""
        if value is None:
            return cls(name, None, True if name in FLAGS else None)
        text = value if isinstance(value, str) else _value_text(value)
        try:
            return cls(name, text, _parse_value(name, text, False))
        except _Bad as exc:
            raise ParseError(f"a={name}: {exc}") from None

    def line(self) -> str:
        if self.value is None:
            return f"a={self.name}"
        return f"a={self.name}:{self.value}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Attribute):
            return NotImplemented
        return self.name == other.name and self.value == other.value

    def __hash__(self) -> int:
        return hash((self.name, self.value))

    def __repr__(self) -> str:
        return f"Attribute({self.name!r}, {self.value!r})"


def _value_text(value: object) -> str:
    if isinstance(value, Candidate):
        return value.to_sdp()
    if isinstance(value, (tuple, list)):
        return " ".join(map(str, value))
    return str(value)


def _parse_value(name: str, value: str, session_level: bool) -> object:
    """The typed value of ``a=name:value`` (raises _Bad)."""
    parser = _VALUE_PARSERS.get(name)
    if parser is None or (session_level and name in _MEDIA_ONLY):
        return None
    return parser(value)


class _AttributeList:
    """The ``a=`` lines of a session or media section, with typed lookups."""

    attributes: list[Attribute]

    def _values(self, name: str) -> Iterator[Any]:
        for attr in self.attributes:
            if attr.name == name:
                yield attr.parsed

    def get(self, name: str) -> Attribute | None:
        """The first attribute called ``name``."""
        for attr in self.attributes:
            if attr.name == name:
                return attr
        return None

    def get_all(self, name: str) -> list[Attribute]:
        return [a for a in self.attributes if a.name == name]

    def has(self, name: str) -> bool:
        return any(a.name == name for a in self.attributes)

    def add(self, name: str, value: object = None) -> Attribute:
        """Append ``a=name[:value]`` (value: text or a typed value)."""
        attr = Attribute.of(name, value)
        self.attributes.append(attr)
        return attr

    def set(self, name: str, value: object = None) -> None:
        """Replace the first ``a=name`` in place (dropping any others), or
        append it; ``value`` None with a non-flag name removes it."""
        if value is None and name not in FLAGS:
            self.remove(name)
            return
        new = Attribute.of(name, value)
        self._replace(lambda a: a.name == name, new)

    def _replace(self, match: Callable[[Attribute], bool], new: Attribute | None) -> None:
        out: list[Attribute] = []
        placed = new is None
        for attr in self.attributes:
            if match(attr):
                if not placed:
                    out.append(new)  # type: ignore[arg-type]
                    placed = True
            else:
                out.append(attr)
        if not placed:
            out.append(new)  # type: ignore[arg-type]
        self.attributes[:] = out

    def remove(self, name: str) -> None:
        self.attributes[:] = [a for a in self.attributes if a.name != name]

    def set_flag(self, name: str, on: bool) -> None:
        if on:
            if not self.has(name):
                self.attributes.append(Attribute(name, None, True))
        else:
            self.remove(name)

    def _single(self, name: str) -> Any:
        for attr in self.attributes:
            if attr.name == name:
                return attr.parsed
        return None

    # ---- attributes valid at session and media level

    @property
    def ice_ufrag(self) -> str | None:
        """RFC 8839 §5.4 (this level only; see jsep for inheritance)."""
        value: str | None = self._single("ice-ufrag")
        return value

    @ice_ufrag.setter
    def ice_ufrag(self, value: str | None) -> None:
        self.set("ice-ufrag", value)

    @property
    def ice_pwd(self) -> str | None:
        """RFC 8839 §5.4 (this level only)."""
        value: str | None = self._single("ice-pwd")
        return value

    @ice_pwd.setter
    def ice_pwd(self, value: str | None) -> None:
        self.set("ice-pwd", value)

    @property
    def ice_options(self) -> list[str]:
        """RFC 8839 §5.6 (``trickle``: RFC 8840 §4.1.1; ``ice2``: RFC 8445 §10)."""
        return [opt for opts in self._values("ice-options") for opt in opts]

    @ice_options.setter
    def ice_options(self, value: Iterable[str]) -> None:
        opts = list(value)
        self.set("ice-options", " ".join(opts) if opts else None)

    @property
    def ice_lite(self) -> bool:
        """RFC 8839 §5.3."""
        return self.has("ice-lite")

    @ice_lite.setter
    def ice_lite(self, on: bool) -> None:
        self.set_flag("ice-lite", on)

    @property
    def fingerprints(self) -> list[Fingerprint]:
        """RFC 8122 §5: one or more certificate fingerprints."""
        return list(self._values("fingerprint"))

    @fingerprints.setter
    def fingerprints(self, value: Iterable[Fingerprint]) -> None:
        new = [Attribute.of("fingerprint", fp) for fp in value]
        old = [i for i, a in enumerate(self.attributes) if a.name == "fingerprint"]
        at = old[0] if old else len(self.attributes)
        self.remove("fingerprint")
        self.attributes[at:at] = new

    @property
    def setup(self) -> str | None:
        """RFC 4145 §4 / RFC 8842 §5: actpass, active, passive or holdconn."""
        value: str | None = self._single("setup")
        return value

    @setup.setter
    def setup(self, value: str | None) -> None:
        self.set("setup", value)

    @property
    def tls_id(self) -> str | None:
        """RFC 8842 §5.2."""
        value: str | None = self._single("tls-id")
        return value

    @property
    def extmap_allow_mixed(self) -> bool:
        """RFC 8285 §6."""
        return self.has("extmap-allow-mixed")

    @extmap_allow_mixed.setter
    def extmap_allow_mixed(self, on: bool) -> None:
        self.set_flag("extmap-allow-mixed", on)

    @property
    def end_of_candidates(self) -> bool:
        """RFC 8840 §8.2."""
        return self.has("end-of-candidates")

    @end_of_candidates.setter
    def end_of_candidates(self, on: bool) -> None:
        self.set_flag("end-of-candidates", on)

    @property
    def direction(self) -> str | None:
        """RFC 8866 §6.7: sendrecv, sendonly, recvonly or inactive (None when
        absent: sendrecv is the default)."""
        for attr in self.attributes:
            if attr.name in DIRECTIONS:
                return attr.name
        return None

    @direction.setter
    def direction(self, value: str | None) -> None:
        if value is not None and value not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {value!r}")
        new = None if value is None else Attribute(value, None, True)
        self._replace(lambda a: a.name in DIRECTIONS, new)

    def unknown_attributes(self) -> list[tuple[str, str | None]]:
        """(name, value) of the attributes this module does not interpret."""
        return [
            (a.name, a.value)
            for a in self.attributes
            if a.parsed is None and a.name not in ("imageattr",)
        ]


# ------------------------------------------------------------- media section


class MediaDescription(_AttributeList):
    """An ``m=`` section (RFC 8866 §5.14): ``m=<kind> <port>[/<count>] <proto>
    <fmt> ...`` and the lines after it."""

    def __init__(
        self,
        kind: str,
        port: int,
        proto: str,
        fmt: Iterable[str | int],
        *,
        port_count: int | None = None,
    ) -> None:
        self.kind = kind
        self.port = port
        self.port_count = port_count
        self.proto = proto
        self.fmt: list[str] = [str(f) for f in fmt]
        self.info: str | None = None  # RFC 8866 §5.4 i=
        self.connections: list[Connection] = []  # RFC 8866 §5.7 c=
        self.bandwidths: list[Bandwidth] = []  # RFC 8866 §5.8 b=
        self.key: str | None = None  # RFC 8866 §5.12 k= (obsolete, kept)
        self.extra_lines: list[tuple[str, str]] = []  # unknown type letters
        self.attributes: list[Attribute] = []

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MediaDescription):
            return NotImplemented
        return self.lines() == other.lines()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MediaDescription({self.kind!r}, {self.port}, {self.proto!r}, mid={self.mid!r})"

    # ---- m= line

    @property
    def profile(self) -> str:
        """aiortc's name for :attr:`proto`."""
        return self.proto

    def is_rtp(self) -> bool:
        """RTP m= section (RFC 8866 §5.14: proto names containing RTP)."""
        return "RTP" in self.proto.split("/")

    def is_sctp(self) -> bool:
        """SCTP-over-DTLS m= section (RFC 8841 §4.1)."""
        return self.proto in SCTP_PROTOS

    def is_datachannel(self) -> bool:
        """RFC 8841 §4.2 / RFC 8831 §5: an application section carrying data
        channels (``webrtc-datachannel``, or the legacy sctpmap form)."""
        if self.kind != "application" or not self.is_sctp():
            return False
        if DATACHANNEL_FMT in self.fmt:
            return True
        return any(m.app == DATACHANNEL_FMT for m in self.sctpmap)

    @property
    def rejected(self) -> bool:
        """RFC 3264 §6 / RFC 8843 §6: port 0 without bundle-only."""
        return self.port == 0 and not self.bundle_only

    # ---- c=

    @property
    def host(self) -> str | None:
        """aiortc's name: the address of the first c= line."""
        return self.connections[0].address if self.connections else None

    @property
    def connection(self) -> Connection | None:
        return self.connections[0] if self.connections else None

    @connection.setter
    def connection(self, value: Connection | None) -> None:
        self.connections = [] if value is None else [value]

    # ---- identity

    @property
    def mid(self) -> str | None:
        """RFC 5888 §4 / RFC 8843 §7.1 media identification."""
        value: str | None = self._single("mid")
        return value

    @mid.setter
    def mid(self, value: str | None) -> None:
        self.set("mid", value)

    @property
    def msids(self) -> list[Msid]:
        """RFC 8830 §2."""
        return list(self._values("msid"))

    @property
    def msid(self) -> str | None:
        """aiortc's name: the first a=msid value as text."""
        attr = self.get("msid")
        return None if attr is None else attr.value

    # ---- ICE

    @property
    def candidates(self) -> list[Candidate]:
        """RFC 8839 §5.1, as :class:`rtcengine.ice.Candidate` (with sdpMid set)."""
        out: list[Candidate] = []
        mid = self.mid
        for cand in self._values("candidate"):
            c = cand.copy()
            c.sdpMid = mid
            out.append(c)
        return out

    ice_candidates = candidates  # aiortc's name

    @property
    def ice_candidates_complete(self) -> bool:
        """aiortc's name for :attr:`end_of_candidates`."""
        return self.end_of_candidates

    def add_candidate(self, candidate: Candidate) -> None:
        """Append an a=candidate line (before a=end-of-candidates if present)."""
        attr = Attribute("candidate", candidate.to_sdp(), candidate.copy())
        for i, a in enumerate(self.attributes):
            if a.name == "end-of-candidates":
                self.attributes.insert(i, attr)
                return
        self.attributes.append(attr)

    # ---- RTCP

    @property
    def rtcp_mux(self) -> bool:
        """RFC 5761 §5.1.1."""
        return self.has("rtcp-mux")

    @rtcp_mux.setter
    def rtcp_mux(self, on: bool) -> None:
        self.set_flag("rtcp-mux", on)

    @property
    def rtcp_mux_only(self) -> bool:
        """RFC 8858 §3."""
        return self.has("rtcp-mux-only")

    @property
    def rtcp_rsize(self) -> bool:
        """RFC 5506 §5."""
        return self.has("rtcp-rsize")

    @property
    def rtcp(self) -> Rtcp | None:
        """RFC 3605 §2.1."""
        value: Rtcp | None = self._single("rtcp")
        return value

    @property
    def rtcp_port(self) -> int | None:
        rtcp = self.rtcp
        return None if rtcp is None else rtcp.port

    @property
    def rtcp_host(self) -> str | None:
        rtcp = self.rtcp
        return None if rtcp is None else rtcp.address

    # ---- BUNDLE

    @property
    def bundle_only(self) -> bool:
        """RFC 8843 §6."""
        return self.has("bundle-only")

    @bundle_only.setter
    def bundle_only(self, on: bool) -> None:
        self.set_flag("bundle-only", on)

    # ---- SCTP

    @property
    def sctp_port(self) -> int | None:
        """RFC 8841 §5.2 (the legacy sctpmap number when there is no a=sctp-port)."""
        value: int | None = self._single("sctp-port")
        if value is None and self.proto == "DTLS/SCTP":
            maps = self.sctpmap
            if maps:
                return maps[0].number
        return value

    @sctp_port.setter
    def sctp_port(self, value: int | None) -> None:
        self.set("sctp-port", None if value is None else str(value))

    @property
    def max_message_size(self) -> int | None:
        """RFC 8841 §6 (0: no limit; absent: 64 KiB per RFC 8841 §6.1)."""
        value: int | None = self._single("max-message-size")
        return value

    @max_message_size.setter
    def max_message_size(self, value: int | None) -> None:
        self.set("max-message-size", None if value is None else str(value))

    @property
    def sctpmap(self) -> list[Sctpmap]:
        """Legacy ``a=sctpmap`` lines."""
        return list(self._values("sctpmap"))

    # ---- RTP

    @property
    def extmaps(self) -> list[Extmap]:
        """RFC 8285 §8."""
        return list(self._values("extmap"))

    @property
    def rtpmaps(self) -> list[Rtpmap]:
        return list(self._values("rtpmap"))

    @property
    def rtcp_feedback(self) -> list[RtcpFeedback]:
        return list(self._values("rtcp-fb"))

    @property
    def codecs(self) -> list[Codec]:
        """The payload types of the m= line in order, each with its rtpmap
        (or the RFC 3551 static mapping), fmtp parameters and rtcp-fb
        (payload-type specific, then ``*``)."""
        if not self.is_rtp():
            return []
        by_pt: dict[int, Codec] = {}
        for f in self.fmt:
            if f.isdigit():
                pt = int(f)
                static = STATIC_PAYLOAD_TYPES.get(pt)
                if static is None:
                    by_pt[pt] = Codec(pt, None, None)
                else:
                    by_pt[pt] = Codec(pt, static[0], static[1], static[2])
        wildcard: list[RtcpFeedback] = []
        seen_rtpmap: set[int] = set()
        seen_fmtp: set[int] = set()
        for attr in self.attributes:
            parsed = attr.parsed
            if attr.name == "rtpmap" and isinstance(parsed, Rtpmap):
                codec = by_pt.get(parsed.payload_type)
                if codec is not None and parsed.payload_type not in seen_rtpmap:
                    seen_rtpmap.add(parsed.payload_type)
                    codec.name = parsed.name
                    codec.clock_rate = parsed.clock_rate
                    codec.channels = parsed.channels
            elif attr.name == "fmtp" and isinstance(parsed, Fmtp):
                pt_f = parsed.payload_type
                codec = None if pt_f is None else by_pt.get(pt_f)
                if codec is not None and codec.payload_type not in seen_fmtp:
                    seen_fmtp.add(codec.payload_type)
                    codec.parameters = dict(parsed.parameters)
            elif attr.name == "rtcp-fb" and isinstance(parsed, RtcpFeedback):
                if parsed.payload_type is None:
                    wildcard.append(parsed)
                else:
                    codec = by_pt.get(parsed.payload_type)
                    if codec is not None:
                        codec.rtcp_feedback.append(parsed)
        if wildcard:
            for codec in by_pt.values():
                codec.rtcp_feedback.extend(wildcard)
        return list(by_pt.values())

    def codec(self, payload_type: int) -> Codec | None:
        for codec in self.codecs:
            if codec.payload_type == payload_type:
                return codec
        return None

    def add_codec(self, codec: Codec) -> None:
        """Append a payload type (to the m= line if missing) with its rtpmap,
        rtcp-fb and fmtp lines, in Chromium's order."""
        pt = str(codec.payload_type)
        if pt not in self.fmt:
            self.fmt.append(pt)
        rtpmap = codec.rtpmap()
        if rtpmap is not None:
            self.attributes.append(Attribute("rtpmap", str(rtpmap), rtpmap))
        for fb in codec.rtcp_feedback:
            fb = RtcpFeedback(fb.type, fb.parameter, codec.payload_type)
            self.attributes.append(Attribute("rtcp-fb", str(fb), fb))
        if codec.parameters:
            fmtp = Fmtp(pt, dict(codec.parameters))
            self.attributes.append(Attribute("fmtp", str(fmtp), fmtp))

    @property
    def rtx_apt(self) -> dict[int, int]:
        """RFC 4588 §8.6: rtx payload type -> the payload type it repairs."""
        return {
            c.payload_type: apt
            for c in self.codecs
            if c.name is not None and c.name.lower() == "rtx" and (apt := c.apt) is not None
        }

    @property
    def ssrcs(self) -> list[SsrcAttribute]:
        """RFC 5576 §4.1: every a=ssrc line."""
        return list(self._values("ssrc"))

    def ssrc_ids(self) -> list[int]:
        """Distinct SSRCs of the a=ssrc lines, in order of appearance."""
        return list(dict.fromkeys(s.ssrc for s in self.ssrcs))

    @property
    def ssrc_groups(self) -> list[SsrcGroup]:
        """RFC 5576 §4.2."""
        return list(self._values("ssrc-group"))

    ssrc_group = ssrc_groups  # aiortc's name

    @property
    def rids(self) -> list[Rid]:
        """RFC 8851 §10."""
        return list(self._values("rid"))

    @property
    def simulcast(self) -> Simulcast | None:
        """RFC 8853 §5.1."""
        value: Simulcast | None = self._single("simulcast")
        return value

    # ---- output

    def lines(self) -> list[str]:
        """The section's lines, without line endings."""
        port = str(self.port) if self.port_count is None else f"{self.port}/{self.port_count}"
        out = [f"m={self.kind} {port} {' '.join([self.proto, *self.fmt])}"]
        if self.info is not None:
            out.append(f"i={self.info}")
        out.extend(f"c={c}" for c in self.connections)
        out.extend(f"b={b}" for b in self.bandwidths)
        if self.key is not None:
            out.append(f"k={self.key}")
        out.extend(f"{t}={v}" for t, v in self.extra_lines)
        out.extend(a.line() for a in self.attributes)
        return out

    def __str__(self) -> str:
        return "".join(line + "\r\n" for line in self.lines())


# ------------------------------------------------------------------ session


class SessionDescription(_AttributeList):
    """A whole SDP (RFC 8866 §5): the session part and its media sections."""

    def __init__(self) -> None:
        self.version = SDP_VERSION
        self.origin = Origin()
        self.name = "-"  # RFC 8866 §5.3 s=
        self.info: str | None = None  # §5.4 i=
        self.uri: str | None = None  # §5.5 u=
        self.emails: list[str] = []  # §5.6 e=
        self.phones: list[str] = []  # §5.6 p=
        self.connection: Connection | None = None  # §5.7 c=
        self.bandwidths: list[Bandwidth] = []  # §5.8 b=
        self.timing: list[Timing] = [Timing()]  # §5.9 t= (with §5.10 r=)
        self.zone: str | None = None  # §5.11 z=
        self.key: str | None = None  # §5.12 k=
        self.extra_lines: list[tuple[str, str]] = []  # unknown type letters
        self.attributes: list[Attribute] = []
        self.media: list[MediaDescription] = []
        self.type: str | None = None  # aiortc keeps the description type here

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SessionDescription):
            return NotImplemented
        return self.to_sdp() == other.to_sdp()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SessionDescription(origin={str(self.origin)!r}, media={self.media!r})"

    # ---- session-level views

    @property
    def host(self) -> str | None:
        """aiortc's name: the session c= address."""
        return None if self.connection is None else self.connection.address

    @property
    def time(self) -> str:
        """aiortc's name: the first t= value."""
        return str(self.timing[0]) if self.timing else ""

    @property
    def groups(self) -> list[Group]:
        """RFC 5888 §5 a=group lines."""
        return list(self._values("group"))

    group = groups  # aiortc's name

    @property
    def bundle_groups(self) -> list[Group]:
        """RFC 8843 §7.1: the BUNDLE groups."""
        return [g for g in self.groups if g.semantics == "BUNDLE"]

    @property
    def msid_semantic(self) -> list[MsidSemantic]:
        return list(self._values("msid-semantic"))

    def media_by_mid(self, mid: str) -> MediaDescription | None:
        for media in self.media:
            if media.mid == mid:
                return media
        return None

    def webrtc_track_id(self, media: MediaDescription) -> str | None:
        """aiortc's helper: the track id of a=msid when its stream is announced
        by a=msid-semantic:WMS."""
        for msid in media.msids:
            if msid.track_id is None:
                continue
            for sem in self.msid_semantic:
                if sem.semantic == "WMS" and (msid.stream_id in sem.ids or "*" in sem.ids):
                    return msid.track_id
        return None

    # ---- text

    @classmethod
    def parse(cls, text: str) -> SessionDescription:
        """Parse SDP text (CRLF or LF line endings).  Raises :class:`ParseError`
        with the line number and text for anything it cannot understand."""
        if not isinstance(text, str):
            raise TypeError(f"SDP must be str, got {type(text).__name__}")
        return _Parser(text).run()

    def lines(self) -> list[str]:
        out = [f"v={self.version}", f"o={self.origin}", f"s={self.name}"]
        if self.info is not None:
            out.append(f"i={self.info}")
        if self.uri is not None:
            out.append(f"u={self.uri}")
        out.extend(f"e={e}" for e in self.emails)
        out.extend(f"p={p}" for p in self.phones)
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out.extend(f"b={b}" for b in self.bandwidths)
        for t in self.timing:
            out.append(f"t={t}")
            out.extend(f"r={r}" for r in t.repeats)
        if self.zone is not None:
            out.append(f"z={self.zone}")
        if self.key is not None:
            out.append(f"k={self.key}")
        out.extend(f"{t}={v}" for t, v in self.extra_lines)
        out.extend(a.line() for a in self.attributes)
        for media in self.media:
            out.extend(media.lines())
        return out

    def to_sdp(self) -> str:
        """The SDP text, CRLF line endings (RFC 8866 §5)."""
        return "".join(line + "\r\n" for line in self.lines())

    def __str__(self) -> str:
        return self.to_sdp()


class _Parser:
    """One pass over the lines; errors name the line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.number = 0
        self.line = ""

    def fail(self, reason: str) -> ParseError:
        return ParseError(reason, self.number, self.line)

    def run(self) -> SessionDescription:
        desc = SessionDescription()
        desc.timing = []
        media: MediaDescription | None = None
        attrs = desc.attributes
        session_level = True
        rtp_fmt: frozenset[str] | None = None  # payload types of an RTP m= line
        mids: set[str] = set()
        seen: set[str] = set()  # single-valued attributes of the current section
        have_direction = False
        parsers = _VALUE_PARSERS
        flags = FLAGS
        single = _SINGLE
        token_chars = _TOKEN_CHARS
        lines = self.text.split("\n")
        # RFC 8866 §5: v=, o=, s= come first, in that order.
        number = self.head(desc, lines)
        for raw in lines[number:]:
            number += 1
            line = raw[:-1] if raw[-1:] == "\r" else raw
            if line[:2] == "a=":
                name, colon, value = line[2:].partition(":")
                try:
                    if not token_chars.issuperset(name) or not name:
                        raise _Bad(f"bad attribute name {name!r}")
                    if name in single:
                        if name in seen:
                            raise _Bad(f"a={name} appears twice in one section")
                        seen.add(name)
                    if not colon:
                        if name in flags:
                            if name in DIRECTIONS:
                                if have_direction:
                                    raise _Bad("more than one direction attribute in one section")
                                have_direction = True
                            attrs.append(Attribute(name, None, True))
                        elif name in parsers:
                            raise _Bad(f"a={name} needs a value")
                        else:
                            attrs.append(Attribute(name, None, None))
                        continue
                    parser = parsers.get(name)
                    if parser is None or (session_level and name in _MEDIA_ONLY):
                        attrs.append(Attribute(name, value, None))
                        continue
                    parsed = parser(value)
                    if name == "rtpmap" and rtp_fmt is not None:
                        pt = parsed.payload_type  # type: ignore[attr-defined]
                        # RFC 8866 §6.6: an rtpmap describes a payload type of the m= line.
                        if str(pt) not in rtp_fmt:
                            raise _Bad(f"rtpmap for payload type {pt} not in the m= line")
                    elif name == "mid" and not session_level:
                        if parsed in mids:
                            raise _Bad(
                                f"duplicate mid {parsed!r} (RFC 5888 §4: unique per session)"
                            )
                        mids.add(parsed)  # type: ignore[arg-type]
                    attrs.append(Attribute(name, value, parsed))
                except _Bad as exc:
                    self.number, self.line = number, line
                    raise self.fail(str(exc)) from None
                continue
            if not line.strip():
                continue
            self.number, self.line = number, line
            if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
                raise self.fail("expected <type>=<value>")
            kind, value = line[0], line[2:]
            try:
                if kind == "m":
                    media = self.media_line(value)
                    desc.media.append(media)
                    attrs = media.attributes
                    session_level = False
                    rtp_fmt = frozenset(media.fmt) if media.is_rtp() else None
                    seen = set()
                    have_direction = False
                elif media is not None:
                    self.media_field(media, kind, value)
                else:
                    self.session_field(desc, kind, value)
            except _Bad as exc:
                raise self.fail(str(exc)) from None
        return desc

    def head(self, desc: SessionDescription, lines: list[str]) -> int:
        """Parse v=, o=, s= (RFC 8866 §5: the first three lines, in order);
        return the number of lines consumed (blank lines included)."""
        number = 0
        for kind in "vos":
            while True:
                if number == len(lines):
                    self.number, self.line = 0, ""
                    if kind == "v":
                        raise ParseError("empty SDP: expected v=0")
                    raise ParseError(f"SDP ends before its {kind}= line")
                raw = lines[number]
                number += 1
                line = raw[:-1] if raw[-1:] == "\r" else raw
                if line.strip():
                    break
            self.number, self.line = number, line
            if line[:2] != kind + "=":
                raise self.fail(f"expected a {kind}= line")
            try:
                self.session_field(desc, kind, line[2:])
            except _Bad as exc:
                raise self.fail(str(exc)) from None
        return number

    def session_field(self, desc: SessionDescription, kind: str, value: str) -> None:
        if kind == "v":
            if value.strip() != "0":
                raise _Bad("SDP version must be 0 (RFC 8866 §5.1)")
        elif kind == "o":
            desc.origin = Origin.parse(value)
        elif kind == "s":
            desc.name = value
        elif kind == "i":
            desc.info = value
        elif kind == "u":
            desc.uri = value
        elif kind == "e":
            desc.emails.append(value)
        elif kind == "p":
            desc.phones.append(value)
        elif kind == "c":
            if desc.connection is not None:
                raise _Bad("more than one session-level c= line")
            desc.connection = Connection.parse(value)
        elif kind == "b":
            desc.bandwidths.append(Bandwidth.parse(value))
        elif kind == "t":
            desc.timing.append(Timing.parse(value))
        elif kind == "r":
            if not desc.timing:
                raise _Bad("r= before any t= line (RFC 8866 §5.10)")
            desc.timing[-1].repeats.append(value)
        elif kind == "z":
            desc.zone = value
        elif kind == "k":
            desc.key = value
        else:
            desc.extra_lines.append((kind, value))

    def media_field(self, media: MediaDescription, kind: str, value: str) -> None:
        if kind == "c":
            media.connections.append(Connection.parse(value))
        elif kind == "b":
            media.bandwidths.append(Bandwidth.parse(value))
        elif kind == "i":
            media.info = value
        elif kind == "k":
            media.key = value
        elif kind in "vostrzuep":
            raise _Bad(f"{kind}= is a session-level line; it cannot follow an m= line")
        else:
            media.extra_lines.append((kind, value))

    def media_line(self, value: str) -> MediaDescription:
        # RFC 8866 §5.14: m=<media> <port>[/<number of ports>] <proto> 1*(SP <fmt>)
        parts = value.split()
        if len(parts) < 4:
            raise _Bad("m= needs <media> <port> <proto> <fmt> ...")
        kind = _token(parts[0], "media type")
        port_text, slash, count_text = parts[1].partition("/")
        port = _int(port_text, "m= port", 0, 65535)
        count = _int(count_text, "m= number of ports", 1, 65535) if slash else None
        proto = parts[2]
        if not all(_TOKEN_CHARS.issuperset(p) and p for p in proto.split("/")):
            raise _Bad(f"m= proto must be tokens separated by '/', got {proto!r}")
        media = MediaDescription(kind, port, proto, parts[3:], port_count=count)
        if media.is_rtp():
            for f in media.fmt:
                # RFC 3550 §5.1 / RFC 8866 §5.14: RTP payload types are 0..127.
                _int(f, "RTP payload type in m=", 0, 127)
        return media
