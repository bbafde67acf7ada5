"""RTCP wire codec (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1, REMB, transport-wide CC)."""

from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import ClassVar, Self, TypeAlias

from typing_extensions import Buffer

from rtcengine._core import buffer

class ParseError(buffer.ParseError): ...

RTCP_SR: int
RTCP_RR: int
RTCP_SDES: int
RTCP_BYE: int
RTCP_APP: int
RTCP_RTPFB: int
RTCP_PSFB: int
RTPFB_NACK: int
RTPFB_TWCC: int
PSFB_PLI: int
PSFB_SLI: int
PSFB_RPSI: int
PSFB_FIR: int
PSFB_AFB: int
SDES_END: int
SDES_CNAME: int
SDES_NAME: int
SDES_EMAIL: int
SDES_PHONE: int
SDES_LOC: int
SDES_TOOL: int
SDES_NOTE: int
SDES_PRIV: int
TWCC_NOT_RECEIVED: int
TWCC_SMALL_DELTA: int
TWCC_LARGE_DELTA: int
TWCC_RESERVED: int

class RtcpKind(IntEnum):
    KIND_UNKNOWN = 0
    KIND_SR = 1
    KIND_RR = 2
    KIND_SDES = 3
    KIND_BYE = 4
    KIND_APP = 5
    KIND_RTPFB = 6
    KIND_NACK = 7
    KIND_TWCC = 8
    KIND_PSFB = 9
    KIND_PLI = 10
    KIND_FIR = 11
    KIND_REMB = 12

class RtcpStatus(IntEnum):
    RTCP_OK = 0
    RTCP_TOO_SHORT = 1
    RTCP_BAD_VERSION = 2
    RTCP_LENGTH_PAST_END = 3
    RTCP_PADDING_NOT_LAST = 4
    RTCP_BAD_PADDING = 5
    RTCP_BODY_TOO_SHORT = 6
    RTCP_SDES_NO_END = 7
    RTCP_SDES_ITEM_PAST_END = 8
    RTCP_BYE_REASON_PAST_END = 9
    RTCP_FCI_NOT_ALIGNED = 10
    RTCP_TWCC_CHUNKS_PAST_END = 11
    RTCP_TWCC_DELTAS_PAST_END = 12
    RTCP_BAD_RANGE = 13
    RTCP_OUT_FULL = 14

class ReportBlock:
    ssrc: int
    fraction_lost: int
    packets_lost: int
    highest_sequence: int
    jitter: int
    lsr: int
    dlsr: int
    def __init__(
        self,
        ssrc: int = 0,
        fraction_lost: int = 0,
        packets_lost: int = 0,
        highest_sequence: int = 0,
        jitter: int = 0,
        lsr: int = 0,
        dlsr: int = 0,
    ) -> None: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

RtcpReceiverInfo = ReportBlock

class SenderInfo:
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    def __init__(
        self,
        ntp_timestamp: int = 0,
        rtp_timestamp: int = 0,
        packet_count: int = 0,
        octet_count: int = 0,
    ) -> None: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

RtcpSenderInfo = SenderInfo

class SdesChunk:
    ssrc: int
    items: list[tuple[int, bytes]]
    def __init__(self, ssrc: int = 0, items: Iterable[tuple[int, bytes]] | None = None) -> None: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

RtcpSourceInfo = SdesChunk

class RtcpPacketBase:
    padding: int
    def marshal_size(self) -> int: ...
    def marshal_into(self, buf: Buffer, offset: int = 0) -> int: ...
    def marshal(self) -> bytes: ...
    def serialize(self) -> bytes: ...
    def __bytes__(self) -> bytes: ...
    @classmethod
    def parse(cls, data: Buffer) -> Self: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

class RtcpSrPacket(RtcpPacketBase):
    ssrc: int
    sender_info: SenderInfo
    reports: list[ReportBlock]
    extension: bytes
    @property
    def packet_type(self) -> int: ...
    @property
    def count(self) -> int: ...
    def __init__(
        self,
        ssrc: int = 0,
        sender_info: SenderInfo | None = None,
        reports: Iterable[ReportBlock] | None = None,
        extension: bytes = b"",
        padding: int = 0,
    ) -> None: ...

class RtcpRrPacket(RtcpPacketBase):
    ssrc: int
    reports: list[ReportBlock]
    extension: bytes
    @property
    def packet_type(self) -> int: ...
    @property
    def count(self) -> int: ...
    def __init__(
        self,
        ssrc: int = 0,
        reports: Iterable[ReportBlock] | None = None,
        extension: bytes = b"",
        padding: int = 0,
    ) -> None: ...

class RtcpSdesPacket(RtcpPacketBase):
    chunks: list[SdesChunk]
    @property
    def packet_type(self) -> int: ...
    @property
    def count(self) -> int: ...
    def __init__(self, chunks: Iterable[SdesChunk] | None = None, padding: int = 0) -> None: ...

class RtcpByePacket(RtcpPacketBase):
    sources: list[int]
    reason: bytes | None
    @property
    def packet_type(self) -> int: ...
    @property
    def count(self) -> int: ...
    def __init__(
        self, sources: Iterable[int] | None = None, reason: bytes | None = None, padding: int = 0
    ) -> None: ...

class RtcpAppPacket(RtcpPacketBase):
    subtype: int
    ssrc: int
    name: bytes
    data: bytes
    @property
    def packet_type(self) -> int: ...
    @property
    def count(self) -> int: ...
    def __init__(
        self,
        subtype: int = 0,
        ssrc: int = 0,
        name: bytes = b"\0\0\0\0",
        data: bytes = b"",
        padding: int = 0,
    ) -> None: ...

class RtcpUnknownPacket(RtcpPacketBase):
    packet_type: int
    count: int
    payload: bytes
    def __init__(
        self, packet_type: int = 0, count: int = 0, payload: bytes = b"", padding: int = 0
    ) -> None: ...

class FeedbackPacket(RtcpPacketBase):
    ssrc: int
    media_ssrc: int
    sender_ssrc: int

class RtcpRtpfbPacket(FeedbackPacket):
    fmt: int
    fci: bytes
    @property
    def packet_type(self) -> int: ...
    def __init__(
        self,
        fmt: int = 0,
        ssrc: int = 0,
        media_ssrc: int = 0,
        fci: bytes = b"",
        padding: int = 0,
    ) -> None: ...

class RtcpPsfbPacket(FeedbackPacket):
    fmt: int
    fci: bytes
    @property
    def packet_type(self) -> int: ...
    def __init__(
        self,
        fmt: int = 0,
        ssrc: int = 0,
        media_ssrc: int = 0,
        fci: bytes = b"",
        padding: int = 0,
    ) -> None: ...

class RtcpNackPacket(FeedbackPacket):
    pairs: list[tuple[int, int]]
    lost: list[int]
    @property
    def fmt(self) -> int: ...
    @property
    def packet_type(self) -> int: ...
    @property
    def fci(self) -> bytes: ...
    def __init__(
        self,
        ssrc: int = 0,
        media_ssrc: int = 0,
        lost: Sequence[int] | None = None,
        pairs: Iterable[tuple[int, int]] | None = None,
        padding: int = 0,
    ) -> None: ...
    @staticmethod
    def from_lost(lost: Sequence[int], ssrc: int = 0, media_ssrc: int = 0) -> RtcpNackPacket: ...

class RtcpPliPacket(FeedbackPacket):
    @property
    def fmt(self) -> int: ...
    @property
    def packet_type(self) -> int: ...
    def __init__(self, ssrc: int = 0, media_ssrc: int = 0, padding: int = 0) -> None: ...

class RtcpFirPacket(FeedbackPacket):
    entries: list[tuple[int, int]]
    @property
    def fmt(self) -> int: ...
    @property
    def packet_type(self) -> int: ...
    def __init__(
        self,
        ssrc: int = 0,
        entries: Iterable[tuple[int, int]] | None = None,
        media_ssrc: int = 0,
        padding: int = 0,
    ) -> None: ...

class RtcpRembPacket(FeedbackPacket):
    exponent: int
    mantissa: int
    bitrate: int
    ssrcs: list[int]
    @property
    def fmt(self) -> int: ...
    @property
    def packet_type(self) -> int: ...
    def __init__(
        self,
        ssrc: int = 0,
        bitrate: int = 0,
        ssrcs: Iterable[int] | None = None,
        media_ssrc: int = 0,
        padding: int = 0,
    ) -> None: ...

class RtcpTwccPacket(FeedbackPacket):
    @property
    def base_sequence_number(self) -> int: ...
    @property
    def packet_status_count(self) -> int: ...
    reference_time: int
    fb_pkt_count: int
    @property
    def fmt(self) -> int: ...
    @property
    def packet_type(self) -> int: ...
    @property
    def reference_time_us(self) -> int: ...
    @property
    def chunks(self) -> list[int]: ...
    @property
    def statuses(self) -> list[int]: ...
    @property
    def packets(self) -> list[tuple[int, int, int | None]]: ...
    @property
    def recv_deltas(self) -> list[int]: ...
    @property
    def arrivals(self) -> list[tuple[int, int | None]]: ...
    def __init__(self, ssrc: int = 0, media_ssrc: int = 0, fb_pkt_count: int = 0) -> None: ...
    @staticmethod
    def from_arrivals(
        packets: Iterable[tuple[int, int | None]],
        ssrc: int = 0,
        media_ssrc: int = 0,
        fb_pkt_count: int = 0,
        reference_time: int | None = None,
    ) -> RtcpTwccPacket: ...

AnyRtcpPacket: TypeAlias = (
    RtcpSrPacket
    | RtcpRrPacket
    | RtcpSdesPacket
    | RtcpByePacket
    | RtcpAppPacket
    | RtcpUnknownPacket
    | RtcpRtpfbPacket
    | RtcpPsfbPacket
    | RtcpNackPacket
    | RtcpTwccPacket
    | RtcpPliPacket
    | RtcpFirPacket
    | RtcpRembPacket
)

def parse_compound(data: Buffer) -> list[AnyRtcpPacket]: ...
def compound_size(packets: Iterable[RtcpPacketBase]) -> int: ...
def marshal_compound(packets: Iterable[RtcpPacketBase]) -> bytes: ...
def marshal_compound_into(packets: Iterable[RtcpPacketBase], buf: Buffer, offset: int = 0) -> int: ...
def walk_compound(data: Buffer, out: Buffer) -> int: ...
def walk_batch(data: Buffer, offsets: Buffer, lengths: Buffer, counts: Buffer, out: Buffer) -> int: ...

class RtcpPacket:
    @staticmethod
    def parse(data: Buffer) -> list[AnyRtcpPacket]: ...
