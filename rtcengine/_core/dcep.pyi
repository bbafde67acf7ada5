"""WebRTC Data Channel Establishment Protocol (RFC 8832) messages in C."""

from typing_extensions import Buffer

from rtcengine._core import buffer as _buffer

class ParseError(_buffer.ParseError): ...

DATA_CHANNEL_ACK: int
DATA_CHANNEL_OPEN: int
DATA_CHANNEL_RELIABLE: int
DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT: int
DATA_CHANNEL_PARTIAL_RELIABLE_TIMED: int
DATA_CHANNEL_RELIABLE_UNORDERED: int
DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED: int
DATA_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED: int
CHANNEL_TYPE_UNORDERED: int
CHANNEL_TYPE_NAMES: dict[int, str]

PRIORITY_BELOW_NORMAL: int
PRIORITY_NORMAL: int
PRIORITY_HIGH: int
PRIORITY_EXTRA_HIGH: int

PPID_DCEP: int
PPID_STRING: int
PPID_BINARY_PARTIAL: int
PPID_BINARY: int
PPID_STRING_PARTIAL: int
PPID_STRING_EMPTY: int
PPID_BINARY_EMPTY: int
WEBRTC_DCEP: int
WEBRTC_STRING: int
WEBRTC_BINARY: int
WEBRTC_STRING_EMPTY: int
WEBRTC_BINARY_EMPTY: int

class DataChannelOpen:
    channel_type: int
    priority: int
    reliability_parameter: int
    label: str
    protocol: str
    def __init__(
        self,
        channel_type: int = 0,
        priority: int = 0,
        reliability_parameter: int = 0,
        label: str = "",
        protocol: str = "",
    ) -> None: ...
    @property
    def message_type(self) -> int: ...
    @property
    def ordered(self) -> bool: ...
    @property
    def channel_type_name(self) -> str: ...
    @property
    def max_retransmits(self) -> int | None: ...
    @property
    def max_packet_lifetime(self) -> int | None: ...
    def marshal_size(self) -> int: ...
    def marshal_into(self, buf: Buffer, offset: int = 0) -> int: ...
    def marshal(self) -> bytes: ...
    def __bytes__(self) -> bytes: ...
    @staticmethod
    def parse(data: Buffer) -> DataChannelOpen: ...

class DataChannelAck:
    @property
    def message_type(self) -> int: ...
    def marshal_size(self) -> int: ...
    def marshal_into(self, buf: Buffer, offset: int = 0) -> int: ...
    def marshal(self) -> bytes: ...
    def __bytes__(self) -> bytes: ...
    @staticmethod
    def parse(data: Buffer) -> DataChannelAck: ...

def parse_message(data: Buffer) -> DataChannelOpen | DataChannelAck: ...
