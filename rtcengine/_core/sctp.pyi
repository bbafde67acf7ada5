"""SCTP packets and chunks (RFC 9260, 3758, 6525, 7053, 8260) in C."""

from typing import ClassVar, Self, TypeAlias

from typing_extensions import Buffer

from rtcengine._core import buffer as _buffer

class ParseError(_buffer.ParseError): ...

CHUNK_DATA: int
CHUNK_INIT: int
CHUNK_INIT_ACK: int
CHUNK_SACK: int
CHUNK_HEARTBEAT: int
CHUNK_HEARTBEAT_ACK: int
CHUNK_ABORT: int
CHUNK_SHUTDOWN: int
CHUNK_SHUTDOWN_ACK: int
CHUNK_ERROR: int
CHUNK_COOKIE_ECHO: int
CHUNK_COOKIE_ACK: int
CHUNK_ECNE: int
CHUNK_CWR: int
CHUNK_SHUTDOWN_COMPLETE: int
CHUNK_AUTH: int
CHUNK_I_DATA: int
CHUNK_ASCONF_ACK: int
CHUNK_RE_CONFIG: int
CHUNK_PAD: int
CHUNK_FORWARD_TSN: int
CHUNK_ASCONF: int
CHUNK_I_FORWARD_TSN: int
CHUNK_NAMES: dict[int, str]

DATA_FLAG_END: int
DATA_FLAG_BEGINNING: int
DATA_FLAG_UNORDERED: int
DATA_FLAG_IMMEDIATE: int
FLAG_TAG_REFLECTED: int

PARAM_HEARTBEAT_INFO: int
PARAM_IPV4_ADDRESS: int
PARAM_IPV6_ADDRESS: int
PARAM_STATE_COOKIE: int
PARAM_UNRECOGNIZED_PARAMETER: int
PARAM_COOKIE_PRESERVATIVE: int
PARAM_HOST_NAME_ADDRESS: int
PARAM_SUPPORTED_ADDRESS_TYPES: int
PARAM_OUTGOING_SSN_RESET: int
PARAM_INCOMING_SSN_RESET: int
PARAM_SSN_TSN_RESET: int
PARAM_RECONFIG_RESPONSE: int
PARAM_ADD_OUTGOING_STREAMS: int
PARAM_ADD_INCOMING_STREAMS: int
PARAM_ECN_CAPABLE: int
PARAM_RANDOM: int
PARAM_CHUNK_LIST: int
PARAM_HMAC_ALGO: int
PARAM_PADDING: int
PARAM_SUPPORTED_EXTENSIONS: int
PARAM_FORWARD_TSN_SUPPORTED: int
PARAM_ADAPTATION_LAYER: int

CAUSE_INVALID_STREAM_IDENTIFIER: int
CAUSE_MISSING_MANDATORY_PARAMETER: int
CAUSE_STALE_COOKIE: int
CAUSE_OUT_OF_RESOURCE: int
CAUSE_UNRESOLVABLE_ADDRESS: int
CAUSE_UNRECOGNIZED_CHUNK_TYPE: int
CAUSE_INVALID_MANDATORY_PARAMETER: int
CAUSE_UNRECOGNIZED_PARAMETERS: int
CAUSE_NO_USER_DATA: int
CAUSE_COOKIE_WHILE_SHUTTING_DOWN: int
CAUSE_RESTART_WITH_NEW_ADDRESSES: int
CAUSE_USER_INITIATED_ABORT: int
CAUSE_PROTOCOL_VIOLATION: int
CAUSE_UNSUPPORTED_HMAC_IDENTIFIER: int
CAUSE_NAMES: dict[int, str]

RECONFIG_SUCCESS_NOTHING_TO_DO: int
RECONFIG_SUCCESS_PERFORMED: int
RECONFIG_DENIED: int
RECONFIG_ERROR_WRONG_SSN: int
RECONFIG_ERROR_REQUEST_IN_PROGRESS: int
RECONFIG_ERROR_BAD_SEQUENCE_NUMBER: int
RECONFIG_IN_PROGRESS: int

ACTION_STOP: int
ACTION_STOP_REPORT: int
ACTION_SKIP: int
ACTION_SKIP_REPORT: int

def chunk_action(chunk_type: int) -> int: ...
def param_action(param_type: int) -> int: ...
def cause_name(code: int) -> str: ...

class Chunk:
    flags: int
    _fields: ClassVar[tuple[str, ...]]
    @property
    def type(self) -> int: ...
    def marshal_size(self) -> int: ...
    def marshal_into(self, buf: Buffer, offset: int = 0) -> int: ...
    def marshal(self) -> bytes: ...
    def serialize(self) -> bytes: ...
    def __bytes__(self) -> bytes: ...
    @staticmethod
    def parse(data: Buffer) -> Chunk: ...

class DataChunk(Chunk):
    tsn: int
    stream_id: int
    stream_seq: int
    protocol: int
    user_data: bytes
    def __init__(
        self,
        flags: int = 3,
        tsn: int = 0,
        stream_id: int = 0,
        stream_seq: int = 0,
        protocol: int = 0,
        user_data: Buffer = b"",
    ) -> None: ...
    @property
    def unordered(self) -> bool: ...
    @property
    def beginning(self) -> bool: ...
    @property
    def ending(self) -> bool: ...
    @property
    def immediate(self) -> bool: ...
    @staticmethod
    def parse(data: Buffer) -> DataChunk: ...

class IDataChunk(Chunk):
    tsn: int
    stream_id: int
    mid: int
    fsn: int
    protocol: int
    user_data: bytes
    def __init__(
        self,
        flags: int = 3,
        tsn: int = 0,
        stream_id: int = 0,
        mid: int = 0,
        fsn: int = 0,
        protocol: int = 0,
        user_data: Buffer = b"",
    ) -> None: ...
    @property
    def unordered(self) -> bool: ...
    @property
    def beginning(self) -> bool: ...
    @property
    def ending(self) -> bool: ...
    @property
    def immediate(self) -> bool: ...
    @staticmethod
    def parse(data: Buffer) -> IDataChunk: ...

class BaseInitChunk(Chunk):
    initiate_tag: int
    advertised_rwnd: int
    outbound_streams: int
    inbound_streams: int
    initial_tsn: int
    params: list[tuple[int, bytes]]
    def __init__(
        self,
        flags: int = 0,
        initiate_tag: int = 0,
        advertised_rwnd: int = 0,
        outbound_streams: int = 0,
        inbound_streams: int = 0,
        initial_tsn: int = 0,
        params: list[tuple[int, bytes]] | None = None,
    ) -> None: ...
    def get_param(self, param_type: int) -> bytes | None: ...
    @property
    def state_cookie(self) -> bytes | None: ...
    @state_cookie.setter
    def state_cookie(self, value: Buffer | None) -> None: ...
    @property
    def supported_extensions(self) -> list[int] | None: ...
    @supported_extensions.setter
    def supported_extensions(self, value: list[int] | None) -> None: ...
    @property
    def forward_tsn_supported(self) -> bool: ...
    @forward_tsn_supported.setter
    def forward_tsn_supported(self, value: bool) -> None: ...
    @property
    def ecn_capable(self) -> bool: ...
    @ecn_capable.setter
    def ecn_capable(self, value: bool) -> None: ...
    def unrecognized_params(
        self, known: tuple[int, ...] = ...
    ) -> list[tuple[int, bytes, int]]: ...

class InitChunk(BaseInitChunk):
    @staticmethod
    def parse(data: Buffer) -> InitChunk: ...

class InitAckChunk(BaseInitChunk):
    @staticmethod
    def parse(data: Buffer) -> InitAckChunk: ...

class SackChunk(Chunk):
    cumulative_tsn: int
    advertised_rwnd: int
    gaps: list[tuple[int, int]]
    duplicates: list[int]
    def __init__(
        self,
        flags: int = 0,
        cumulative_tsn: int = 0,
        advertised_rwnd: int = 0,
        gaps: list[tuple[int, int]] | None = None,
        duplicates: list[int] | None = None,
    ) -> None: ...
    @staticmethod
    def parse(data: Buffer) -> SackChunk: ...

class _TlvChunk(Chunk):
    params: list[tuple[int, bytes]]
    def __init__(self, flags: int = 0, params: list[tuple[int, bytes]] | None = None) -> None: ...

class HeartbeatChunk(_TlvChunk):
    @property
    def info(self) -> bytes | None: ...
    @staticmethod
    def parse(data: Buffer) -> HeartbeatChunk: ...

class HeartbeatAckChunk(_TlvChunk):
    @property
    def info(self) -> bytes | None: ...
    @staticmethod
    def parse(data: Buffer) -> HeartbeatAckChunk: ...

class _CauseChunk(_TlvChunk):
    def __init__(
        self,
        flags: int = 0,
        causes: list[tuple[int, bytes]] | None = None,
        params: list[tuple[int, bytes]] | None = None,
    ) -> None: ...
    @property
    def causes(self) -> list[tuple[int, bytes]]: ...
    @causes.setter
    def causes(self, value: list[tuple[int, bytes]]) -> None: ...
    def cause_names(self) -> list[str]: ...

class AbortChunk(_CauseChunk):
    @property
    def tag_reflected(self) -> bool: ...
    @staticmethod
    def parse(data: Buffer) -> AbortChunk: ...

class ErrorChunk(_CauseChunk):
    @staticmethod
    def parse(data: Buffer) -> ErrorChunk: ...

class ShutdownChunk(Chunk):
    cumulative_tsn: int
    def __init__(self, flags: int = 0, cumulative_tsn: int = 0) -> None: ...
    @staticmethod
    def parse(data: Buffer) -> ShutdownChunk: ...

class _EmptyChunk(Chunk):
    def __init__(self, flags: int = 0) -> None: ...

class ShutdownAckChunk(_EmptyChunk):
    @staticmethod
    def parse(data: Buffer) -> ShutdownAckChunk: ...

class CookieAckChunk(_EmptyChunk):
    @staticmethod
    def parse(data: Buffer) -> CookieAckChunk: ...

class ShutdownCompleteChunk(_EmptyChunk):
    @property
    def tag_reflected(self) -> bool: ...
    @staticmethod
    def parse(data: Buffer) -> ShutdownCompleteChunk: ...

class _RawChunk(Chunk): ...

class CookieEchoChunk(_RawChunk):
    cookie: bytes
    body: bytes
    def __init__(self, flags: int = 0, cookie: Buffer = b"") -> None: ...
    @staticmethod
    def parse(data: Buffer) -> CookieEchoChunk: ...

class UnknownChunk(_RawChunk):
    value: bytes
    def __init__(self, type: int, flags: int = 0, value: Buffer = b"") -> None: ...
    @property
    def action(self) -> int: ...

class ForwardTsnChunk(Chunk):
    cumulative_tsn: int
    streams: list[tuple[int, int]]
    def __init__(
        self,
        flags: int = 0,
        cumulative_tsn: int = 0,
        streams: list[tuple[int, int]] | None = None,
    ) -> None: ...
    @staticmethod
    def parse(data: Buffer) -> ForwardTsnChunk: ...

class IForwardTsnChunk(Chunk):
    cumulative_tsn: int
    streams: list[tuple[int, bool, int]]
    def __init__(
        self,
        flags: int = 0,
        cumulative_tsn: int = 0,
        streams: list[tuple[int, bool, int]] | None = None,
    ) -> None: ...
    @staticmethod
    def parse(data: Buffer) -> IForwardTsnChunk: ...


class ReconfigChunk(_TlvChunk):
    @property
    def requests(self) -> list[ReconfigParam]: ...
    @staticmethod
    def parse(data: Buffer) -> ReconfigChunk: ...

class OutgoingSsnResetRequest:
    request_sequence: int
    response_sequence: int
    last_tsn: int
    streams: list[int]
    param_type: ClassVar[int]
    def __init__(
        self,
        request_sequence: int = 0,
        response_sequence: int = 0,
        last_tsn: int = 0,
        streams: list[int] | None = None,
    ) -> None: ...
    def __bytes__(self) -> bytes: ...
    @classmethod
    def parse(cls, data: Buffer) -> Self: ...
    def to_param(self) -> tuple[int, bytes]: ...

class IncomingSsnResetRequest:
    request_sequence: int
    streams: list[int]
    param_type: ClassVar[int]
    def __init__(self, request_sequence: int = 0, streams: list[int] | None = None) -> None: ...
    def __bytes__(self) -> bytes: ...
    @classmethod
    def parse(cls, data: Buffer) -> Self: ...
    def to_param(self) -> tuple[int, bytes]: ...

class SsnTsnResetRequest:
    request_sequence: int
    param_type: ClassVar[int]
    def __init__(self, request_sequence: int = 0) -> None: ...
    def __bytes__(self) -> bytes: ...
    @classmethod
    def parse(cls, data: Buffer) -> Self: ...
    def to_param(self) -> tuple[int, bytes]: ...

class ReconfigResponse:
    response_sequence: int
    result: int
    sender_next_tsn: int | None
    receiver_next_tsn: int | None
    param_type: ClassVar[int]
    def __init__(
        self,
        response_sequence: int = 0,
        result: int = 0,
        sender_next_tsn: int | None = None,
        receiver_next_tsn: int | None = None,
    ) -> None: ...
    def __bytes__(self) -> bytes: ...
    @classmethod
    def parse(cls, data: Buffer) -> Self: ...
    def to_param(self) -> tuple[int, bytes]: ...

class AddStreamsRequest:
    request_sequence: int
    new_streams: int
    incoming: bool
    def __init__(
        self, request_sequence: int = 0, new_streams: int = 0, incoming: bool = False
    ) -> None: ...
    @property
    def param_type(self) -> int: ...
    def __bytes__(self) -> bytes: ...
    @classmethod
    def parse(cls, data: Buffer, incoming: bool = False) -> Self: ...
    def to_param(self) -> tuple[int, bytes]: ...

StreamResetOutgoingParam = OutgoingSsnResetRequest
StreamResetResponseParam = ReconfigResponse
StreamAddOutgoingParam = AddStreamsRequest

def parse_reconfig_param(param_type: int, data: Buffer) -> ReconfigParam: ...

class Packet:
    source_port: int
    destination_port: int
    verification_tag: int
    checksum: int
    chunks: list[Chunk]
    def __init__(
        self,
        source_port: int = 0,
        destination_port: int = 0,
        verification_tag: int = 0,
        chunks: list[Chunk] | None = None,
    ) -> None: ...
    @staticmethod
    def parse(data: Buffer, verify_checksum: bool = True) -> Packet: ...
    def parse_into(self, data: Buffer, verify_checksum: bool = True) -> None: ...
    @property
    def chunk_count(self) -> int: ...
    def marshal_size(self) -> int: ...
    def marshal_into(self, buf: Buffer, offset: int = 0) -> int: ...
    def marshal(self) -> bytes: ...
    def serialize(self) -> bytes: ...
    def __bytes__(self) -> bytes: ...

def parse_packet(
    data: Buffer, verify_checksum: bool = True
) -> tuple[int, int, int, list[Chunk]]: ...
def verify_checksum(data: Buffer) -> bool: ...
def walk_chunks(data: Buffer, out: Buffer) -> int: ...

class PacketWriter:
    def __init__(self, mtu: int = 1200, buf: Buffer | None = None, offset: int = 0) -> None: ...
    def begin(self, source_port: int, destination_port: int, verification_tag: int) -> None: ...
    def add_data(
        self,
        tsn: int,
        stream_id: int,
        stream_seq: int,
        protocol: int,
        user_data: Buffer,
        flags: int = 3,
    ) -> bool: ...
    def add_idata(
        self,
        tsn: int,
        stream_id: int,
        mid: int,
        fsn: int,
        protocol: int,
        user_data: Buffer,
        flags: int = 3,
    ) -> bool: ...
    def add_sack(
        self,
        cumulative_tsn: int,
        advertised_rwnd: int,
        gaps: tuple[tuple[int, int], ...] | list[tuple[int, int]] = (),
        duplicates: tuple[int, ...] | list[int] = (),
    ) -> bool: ...
    def add_forward_tsn(
        self,
        cumulative_tsn: int,
        streams: tuple[tuple[int, int], ...] | list[tuple[int, int]] = (),
    ) -> bool: ...
    def add_chunk(self, chunk: Chunk) -> bool: ...
    def add_raw(self, chunk_type: int, flags: int, value: Buffer = b"") -> bool: ...
    def finish(self) -> int: ...
    @property
    def remaining(self) -> int: ...
    @property
    def length(self) -> int: ...
    @property
    def chunk_count(self) -> int: ...
    @property
    def mtu(self) -> int: ...
    def getvalue(self) -> bytes: ...

ReconfigParam: TypeAlias = (
    OutgoingSsnResetRequest
    | IncomingSsnResetRequest
    | SsnTsnResetRequest
    | ReconfigResponse
    | AddStreamsRequest
    | tuple[int, bytes]
)
