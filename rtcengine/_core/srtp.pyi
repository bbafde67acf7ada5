"""SRTP and SRTCP (RFC 3711, RFC 7714, RFC 6188, RFC 5764) over OpenSSL."""

import enum
from typing import Literal, TypedDict

from typing_extensions import Buffer

from rtcengine._core.buffer import ParseError as _BaseParseError

class SrtpProfile(enum.IntEnum):
    """DTLS-SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2)."""

    AES_CM_128_HMAC_SHA1_80 = 0x0001
    AES_CM_128_HMAC_SHA1_32 = 0x0002
    AEAD_AES_128_GCM = 0x0007
    AEAD_AES_256_GCM = 0x0008

SRTP_AES128_CM_HMAC_SHA1_80: Literal[SrtpProfile.AES_CM_128_HMAC_SHA1_80]
SRTP_AES128_CM_HMAC_SHA1_32: Literal[SrtpProfile.AES_CM_128_HMAC_SHA1_32]
SRTP_AEAD_AES_128_GCM: Literal[SrtpProfile.AEAD_AES_128_GCM]
SRTP_AEAD_AES_256_GCM: Literal[SrtpProfile.AEAD_AES_256_GCM]

SRTP_MAX_TRAILER: int
"""Room a batch slot needs after an RTP packet for protect (16)."""
SRTCP_MAX_TRAILER: int
"""Room a batch slot needs after an RTCP packet for protect_rtcp (20)."""

class SrtpStatus(enum.IntEnum):
    """Per-packet result of the batch calls (and ``SrtpError.status``)."""

    OK = 0
    AUTH_FAIL = 1
    REPLAY_OLD = 2
    REPLAY_DUP = 3
    BAD_PACKET = 4
    NO_ROOM = 5
    STREAM_LIMIT = 6
    CRYPTO_ERROR = 7
    INDEX_EXHAUSTED = 8

class SrtpError(Exception):
    """An SRTP/SRTCP packet was refused; ``status`` says why."""

    status: SrtpStatus

class SrtpAuthError(SrtpError):
    """The authentication tag did not verify."""

class SrtpReplayError(SrtpError):
    """A replayed (REPLAY_DUP) or too old (REPLAY_OLD) packet index."""

class SrtpParseError(SrtpError, _BaseParseError):
    """Not an RTP/RTCP packet SRTP can process."""

class SrtpStreamLimitError(SrtpError):
    """A packet of a new SSRC when ``max_streams`` streams exist."""

ParseError = SrtpParseError

def key_length(profile: int) -> int: ...
def salt_length(profile: int) -> int: ...
def tag_length(profile: int, rtcp: bool = False) -> int: ...
def keying_material_length(profile: int) -> int: ...
def split_keying_material(profile: int, material: Buffer) -> tuple[bytes, bytes, bytes, bytes]:
    """``(client_key, client_salt, server_key, server_salt)`` (RFC 5764 §4.2)."""

class SessionKeys(TypedDict):
    """What :func:`derive_session_keys` returns (typing only)."""

    srtp_key: bytes
    srtp_salt: bytes
    srtp_auth_key: bytes
    srtcp_key: bytes
    srtcp_salt: bytes
    srtcp_auth_key: bytes

def derive_session_keys(profile: int, key: Buffer, salt: Buffer) -> SessionKeys:
    """RFC 3711 §4.3 session keys (test hook)."""

def aes_cm_keystream(key: Buffer, iv: Buffer, n: int) -> bytes:
    """AES-CM keystream from a 16-byte initial counter (test hook)."""

class SrtpStreamStats(TypedDict):
    """One SSRC in one direction, in :attr:`SrtpSession.stats` (typing only)."""

    ssrc: int
    direction: Literal["tx", "rx"]
    roc: int
    rtp_packets: int
    rtp_bytes: int
    rtcp_packets: int
    rtcp_bytes: int
    srtcp_index: int

class SrtpStats(TypedDict):
    """:attr:`SrtpSession.stats` (typing only)."""

    rtp_protected: int
    rtp_unprotected: int
    rtcp_protected: int
    rtcp_unprotected: int
    auth_fail: int
    replay_old: int
    replay_dup: int
    bad_packet: int
    no_room: int
    stream_limit: int
    crypto_error: int
    index_exhausted: int
    streams: list[SrtpStreamStats]

class SrtpSession:
    """One direction's SRTP/SRTCP master key and salt."""

    @property
    def profile(self) -> int: ...
    @property
    def replay_window(self) -> int: ...
    @property
    def max_streams(self) -> int: ...
    allow_repeat_tx: bool
    def __init__(
        self,
        profile: int,
        key: Buffer,
        salt: Buffer,
        *,
        replay_window: int = 1024,
        allow_repeat_tx: bool = False,
        max_streams: int = 1024,
    ) -> None: ...
    @classmethod
    def _from_session_keys(
        cls,
        profile: int,
        srtp_key: Buffer,
        srtp_salt: Buffer,
        srtcp_key: Buffer | None = None,
        srtcp_salt: Buffer | None = None,
        srtp_auth_key: Buffer = b"",
        srtcp_auth_key: Buffer = b"",
        *,
        encrypt_rtp: bool = True,
        encrypt_rtcp: bool = True,
        replay_window: int = 1024,
        allow_repeat_tx: bool = False,
    ) -> SrtpSession: ...
    def protect(self, rtp: Buffer) -> bytes: ...
    def unprotect(self, srtp: Buffer) -> bytes: ...
    def protect_rtcp(self, rtcp: Buffer) -> bytes: ...
    def unprotect_rtcp(self, srtcp: Buffer) -> bytes: ...
    def protect_batch(
        self, buf: Buffer, offsets: Buffer, lengths: Buffer, out_lengths: Buffer, out_status: Buffer
    ) -> int:
        """Protect many RTP packets in place; each slot needs 16 bytes of tail room."""
    def unprotect_batch(
        self, buf: Buffer, offsets: Buffer, lengths: Buffer, out_lengths: Buffer, out_status: Buffer
    ) -> int: ...
    def protect_rtcp_batch(
        self, buf: Buffer, offsets: Buffer, lengths: Buffer, out_lengths: Buffer, out_status: Buffer
    ) -> int: ...
    def unprotect_rtcp_batch(
        self, buf: Buffer, offsets: Buffer, lengths: Buffer, out_lengths: Buffer, out_status: Buffer
    ) -> int: ...
    @property
    def rtp_overhead(self) -> int: ...
    @property
    def rtcp_overhead(self) -> int: ...
    def remove_stream(self, ssrc: int) -> bool: ...
    def _set_srtcp_index(self, ssrc: int, index: int) -> None: ...
    @property
    def stats(self) -> SrtpStats: ...

class _EvpGcmCeiling:
    """Raw EVP AES-128-GCM throughput, as ``openssl speed`` measures it."""

    def __init__(self, nbytes: int = 1024) -> None: ...
    def run(self, iterations: int) -> None: ...

def _live_objects() -> dict[str, int] | None:
    """Live instances per class in a debug build (RTCENGINE_DEBUG=1); None
    in a normal build.  See rtcengine._core.debug."""
