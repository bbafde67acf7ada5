"""RTP packets (RFC 3550), RFC 8285 header extensions, sequence arithmetic."""

from collections.abc import Iterable
from enum import IntEnum
from typing import Final

from typing_extensions import Buffer

from rtcengine._core import buffer

class ParseError(buffer.ParseError):
    """Malformed RTP packet (a ``ValueError``)."""

class RtpStatus(IntEnum):
    RTP_OK = 0
    RTP_TOO_SHORT = 1
    RTP_BAD_VERSION = 2
    RTP_CSRC_PAST_END = 3
    RTP_EXT_HEADER_PAST_END = 4
    RTP_EXT_LENGTH_PAST_END = 5
    RTP_EXT_ELEMENT_PAST_END = 6
    RTP_PADDING_ZERO = 7
    RTP_PADDING_PAST_END = 8
    RTP_BAD_RANGE = 9

class RtpColumn(IntEnum):
    COL_SEQUENCE_NUMBER = 0
    COL_TIMESTAMP = 1
    COL_SSRC = 2
    COL_PAYLOAD_TYPE = 3
    COL_MARKER = 4
    COL_HEADER_LENGTH = 5
    COL_PAYLOAD_OFFSET = 6
    COL_PAYLOAD_LENGTH = 7
    COL_STATUS = 8
    COL_PADDING_SIZE = 9
    COL_EXTENSION_OFFSET = 10
    PARSE_COLUMNS = 11

RTP_OK: Final = RtpStatus.RTP_OK
RTP_TOO_SHORT: Final = RtpStatus.RTP_TOO_SHORT
RTP_BAD_VERSION: Final = RtpStatus.RTP_BAD_VERSION
RTP_CSRC_PAST_END: Final = RtpStatus.RTP_CSRC_PAST_END
RTP_EXT_HEADER_PAST_END: Final = RtpStatus.RTP_EXT_HEADER_PAST_END
RTP_EXT_LENGTH_PAST_END: Final = RtpStatus.RTP_EXT_LENGTH_PAST_END
RTP_EXT_ELEMENT_PAST_END: Final = RtpStatus.RTP_EXT_ELEMENT_PAST_END
RTP_PADDING_ZERO: Final = RtpStatus.RTP_PADDING_ZERO
RTP_PADDING_PAST_END: Final = RtpStatus.RTP_PADDING_PAST_END
RTP_BAD_RANGE: Final = RtpStatus.RTP_BAD_RANGE

COL_SEQUENCE_NUMBER: Final = RtpColumn.COL_SEQUENCE_NUMBER
COL_TIMESTAMP: Final = RtpColumn.COL_TIMESTAMP
COL_SSRC: Final = RtpColumn.COL_SSRC
COL_PAYLOAD_TYPE: Final = RtpColumn.COL_PAYLOAD_TYPE
COL_MARKER: Final = RtpColumn.COL_MARKER
COL_HEADER_LENGTH: Final = RtpColumn.COL_HEADER_LENGTH
COL_PAYLOAD_OFFSET: Final = RtpColumn.COL_PAYLOAD_OFFSET
COL_PAYLOAD_LENGTH: Final = RtpColumn.COL_PAYLOAD_LENGTH
COL_STATUS: Final = RtpColumn.COL_STATUS
COL_PADDING_SIZE: Final = RtpColumn.COL_PADDING_SIZE
COL_EXTENSION_OFFSET: Final = RtpColumn.COL_EXTENSION_OFFSET
PARSE_COLUMNS: Final = RtpColumn.PARSE_COLUMNS

class RtpPacket:
    """An RTP packet (RFC 3550 §5.1), field names as in aiortc's ``RtpPacket``."""

    marker: bool
    sequence_number: int
    timestamp: int
    ssrc: int
    version: int
    payload_type: int
    padding_size: int
    extension_profile: int

    def __init__(
        self,
        payload_type: int = 0,
        marker: bool | int = False,
        sequence_number: int = 0,
        timestamp: int = 0,
        ssrc: int = 0,
        payload: Buffer = b"",
        csrc: Iterable[int] = (),
        padding_size: int = 0,
        extensions: Iterable[tuple[int, Buffer]] | None = None,
        extension_profile: int | None = None,
        extension_data: Buffer | None = None,
        version: int = 2,
    ) -> None: ...
    @staticmethod
    def parse(data: Buffer) -> RtpPacket: ...
    def parse_into(self, data: Buffer) -> None: ...
    @property
    def padding(self) -> bool: ...
    @property
    def extension(self) -> bool: ...
    @property
    def csrc_count(self) -> int: ...
    @property
    def header_length(self) -> int: ...
    @property
    def payload_offset(self) -> int: ...
    @property
    def payload_length(self) -> int: ...
    @property
    def payload(self) -> memoryview: ...
    @payload.setter
    def payload(self, value: Buffer) -> None: ...
    @property
    def csrc(self) -> list[int]: ...
    @csrc.setter
    def csrc(self, value: Iterable[int]) -> None: ...
    @property
    def extension_data(self) -> bytes: ...
    @extension_data.setter
    def extension_data(self, value: Buffer | None) -> None: ...
    @property
    def extensions(self) -> list[tuple[int, bytes]]: ...
    @extensions.setter
    def extensions(self, value: Iterable[tuple[int, Buffer]]) -> None: ...
    def get_extension(self, ext_id: int) -> bytes | None: ...
    def set_extension(self, ext_id: int, value: Buffer) -> None: ...
    def remove_extension(self, ext_id: int) -> bool: ...
    def marshal_size(self) -> int: ...
    def marshal_into(self, buf: Buffer, offset: int = 0) -> int: ...
    def marshal(self) -> bytes: ...
    def serialize(self) -> bytes: ...

def parse_headers(buf: Buffer, offsets: Buffer, lengths: Buffer, out: Buffer) -> int: ...
def seq_lt(a: int, b: int) -> bool: ...
def seq_gt(a: int, b: int) -> bool: ...
def seq_diff(a: int, b: int) -> int: ...
def is_rtcp(data: Buffer) -> bool: ...

class SequenceUnwrapper:
    """Extend 16-bit sequence numbers to 64 bits across wraps."""

    def __init__(self) -> None: ...
    def unwrap(self, seq: int) -> int: ...
    @property
    def highest(self) -> int | None: ...
    def reset(self) -> None: ...
