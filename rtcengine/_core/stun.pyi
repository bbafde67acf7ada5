"""STUN (RFC 8489) with ICE (RFC 8445), TURN (RFC 8656) and RFC 5780 attributes."""

from typing import Any, Final, Literal, TypeAlias

from typing_extensions import Buffer

from rtcengine._core import buffer as _buffer
from rtcengine._core.hmac import HmacKey

class ParseError(_buffer.ParseError):
    """Malformed STUN or ChannelData message."""

MAGIC_COOKIE: Final[int]
FINGERPRINT_XOR: Final[int]
HEADER_SIZE: Final[int]

REQUEST: Final[int]
INDICATION: Final[int]
SUCCESS_RESPONSE: Final[int]
ERROR_RESPONSE: Final[int]

BINDING: Final[int]
ALLOCATE: Final[int]
REFRESH: Final[int]
SEND: Final[int]
DATA: Final[int]
CREATE_PERMISSION: Final[int]
CHANNEL_BIND: Final[int]
CONNECT: Final[int]
CONNECTION_BIND: Final[int]
CONNECTION_ATTEMPT: Final[int]
GOOG_PING: Final[int]

ATTR_MAPPED_ADDRESS: Final[int]
ATTR_CHANGE_REQUEST: Final[int]
ATTR_USERNAME: Final[int]
ATTR_MESSAGE_INTEGRITY: Final[int]
ATTR_ERROR_CODE: Final[int]
ATTR_UNKNOWN_ATTRIBUTES: Final[int]
ATTR_CHANNEL_NUMBER: Final[int]
ATTR_LIFETIME: Final[int]
ATTR_XOR_PEER_ADDRESS: Final[int]
ATTR_DATA: Final[int]
ATTR_REALM: Final[int]
ATTR_NONCE: Final[int]
ATTR_XOR_RELAYED_ADDRESS: Final[int]
ATTR_REQUESTED_ADDRESS_FAMILY: Final[int]
ATTR_EVEN_PORT: Final[int]
ATTR_REQUESTED_TRANSPORT: Final[int]
ATTR_DONT_FRAGMENT: Final[int]
ATTR_ACCESS_TOKEN: Final[int]
ATTR_MESSAGE_INTEGRITY_SHA256: Final[int]
ATTR_PASSWORD_ALGORITHM: Final[int]
ATTR_USERHASH: Final[int]
ATTR_XOR_MAPPED_ADDRESS: Final[int]
ATTR_RESERVATION_TOKEN: Final[int]
ATTR_PRIORITY: Final[int]
ATTR_USE_CANDIDATE: Final[int]
ATTR_PADDING: Final[int]
ATTR_RESPONSE_PORT: Final[int]
ATTR_CONNECTION_ID: Final[int]
ATTR_ADDITIONAL_ADDRESS_FAMILY: Final[int]
ATTR_ADDRESS_ERROR_CODE: Final[int]
ATTR_PASSWORD_ALGORITHMS: Final[int]
ATTR_ALTERNATE_DOMAIN: Final[int]
ATTR_ICMP: Final[int]
ATTR_SOFTWARE: Final[int]
ATTR_ALTERNATE_SERVER: Final[int]
ATTR_FINGERPRINT: Final[int]
ATTR_ICE_CONTROLLED: Final[int]
ATTR_ICE_CONTROLLING: Final[int]
ATTR_RESPONSE_ORIGIN: Final[int]
ATTR_OTHER_ADDRESS: Final[int]
ATTR_THIRD_PARTY_AUTHORIZATION: Final[int]
ATTR_GOOG_NOMINATION: Final[int]
ATTR_GOOG_NETWORK_INFO: Final[int]
ATTR_GOOG_LAST_ICE_CHECK_RECEIVED: Final[int]
ATTR_GOOG_MISC_INFO: Final[int]
ATTR_GOOG_OBSOLETE_1: Final[int]
ATTR_GOOG_CONNECTION_ID: Final[int]
ATTR_GOOG_DELTA: Final[int]
ATTR_GOOG_DELTA_ACK: Final[int]
ATTR_GOOG_DELTA_SYNC_REQ: Final[int]
ATTR_GOOG_MESSAGE_INTEGRITY_32: Final[int]

FAMILY_IPV4: Final[int]
FAMILY_IPV6: Final[int]
PASSWORD_ALGORITHM_MD5: Final[int]
PASSWORD_ALGORITHM_SHA256: Final[int]
CHANGE_IP: Final[int]
CHANGE_PORT: Final[int]
TRANSPORT_UDP: Final[int]
TRANSPORT_TCP: Final[int]
CHANNEL_MIN: Final[int]
CHANNEL_MAX: Final[int]

VERIFY_OK: Final[int]
VERIFY_MALFORMED: Final[int]
VERIFY_NO_INTEGRITY: Final[int]
VERIFY_BAD_INTEGRITY: Final[int]
VERIFY_BAD_FINGERPRINT: Final[int]

ATTRIBUTE_NAMES: dict[int, str]
ATTRIBUTE_TYPES: dict[str, int]
METHOD_NAMES: dict[int, str]
CLASS_NAMES: dict[int, str]

# An attribute value: see the module docstring for the type of each attribute.
_AttrValue: TypeAlias = Any
_Key: TypeAlias = HmacKey | bytes | str
_IntegrityAlgorithm: TypeAlias = Literal["sha1", "sha256"]

def message_type(method: int, message_class: int) -> int: ...

class Message:
    """A STUN message: method, class, transaction id and ordered attributes."""

    message_method: int
    message_class: int
    transaction_id: bytes
    def __init__(
        self,
        message_method: int = ...,
        message_class: int = ...,
        transaction_id: Buffer | None = None,
        attributes: list[tuple[int | str, _AttrValue]] | dict[int | str, _AttrValue] | None = None,
    ) -> None: ...
    @staticmethod
    def parse(data: Buffer) -> Message: ...
    def parse_into(self, data: Buffer) -> None: ...
    @property
    def message_type(self) -> int: ...
    @property
    def attributes(self) -> list[tuple[int, _AttrValue]]: ...
    @property
    def ignored_attributes(self) -> int: ...
    @property
    def error_code(self) -> int | None: ...
    def get(self, t: int | str, default: _AttrValue = None) -> _AttrValue: ...
    def get_all(self, t: int | str) -> list[_AttrValue]: ...
    def __contains__(self, t: object) -> bool: ...
    def add(self, t: int, value: _AttrValue = None) -> None: ...
    def remove(self, t: int) -> int: ...
    def unknown_comprehension_required(self) -> list[int]: ...
    def check_integrity(self, key: _Key, algorithm: _IntegrityAlgorithm | None = None) -> bool: ...
    def check_fingerprint(self) -> bool: ...
    def verify(self, key: _Key, require_fingerprint: bool = True) -> bool: ...
    def marshal_size(
        self,
        integrity_key: _Key | None = None,
        fingerprint: bool = False,
        integrity_algorithm: _IntegrityAlgorithm = "sha1",
    ) -> int: ...
    def marshal_into(
        self,
        buf: Buffer,
        offset: int = 0,
        integrity_key: _Key | None = None,
        fingerprint: bool = False,
        integrity_algorithm: _IntegrityAlgorithm = "sha1",
    ) -> int: ...
    def marshal(
        self,
        integrity_key: _Key | None = None,
        fingerprint: bool = False,
        integrity_algorithm: _IntegrityAlgorithm = "sha1",
    ) -> bytes: ...
    def __bytes__(self) -> bytes: ...
    def __eq__(self, other: object) -> bool: ...

def parse_message(data: Buffer) -> Message: ...
def is_stun(data: Buffer) -> bool: ...
def is_channel_data(data: Buffer) -> bool: ...
def peek_transaction_id(data: Buffer) -> bytes: ...
def verify_batch(
    buf: Buffer,
    offsets: Buffer,
    lengths: Buffer,
    key: _Key,
    out_status: Buffer,
    require_fingerprint: bool = True,
) -> int: ...

class ChannelData:
    """TURN ChannelData message (RFC 8656 §12.4)."""

    channel_number: int
    data: bytes
    def __init__(self, channel_number: int, data: Buffer = b"") -> None: ...
    @staticmethod
    def parse(data: Buffer) -> ChannelData: ...
    def marshal_size(self, pad: bool = False) -> int: ...
    def marshal_into(self, buf: Buffer, offset: int = 0, pad: bool = False) -> int: ...
    def marshal(self, pad: bool = False) -> bytes: ...
    def __eq__(self, other: object) -> bool: ...

def saslprep(text: str, allow_unassigned: bool = True) -> str: ...
def short_term_key(password: str | Buffer) -> bytes: ...
def long_term_key(
    username: str | Buffer,
    realm: str | Buffer,
    password: str | Buffer,
    algorithm: int | Literal["md5", "sha256"] = ...,
) -> bytes: ...
def userhash(username: str | Buffer, realm: str | Buffer) -> bytes: ...
