"""Sans-IO DTLS 1.2 over libssl (RFC 6347) with DTLS-SRTP keying (RFC 5764)."""

from collections.abc import Iterable
from typing import Literal, Protocol

from typing_extensions import Buffer

from rtcengine._core.srtp import SrtpSession

class _Fingerprint(Protocol):
    @property
    def algorithm(self) -> str: ...
    @property
    def value(self) -> str: ...

SRTP_PROFILES: dict[int, tuple[str, int, int]]
"""RFC 5764 §4.1.2 / RFC 7714 §14.2 profile id -> (name, master key length, master salt length)."""
DEFAULT_SRTP_PROFILES: tuple[int, ...]
"""What is offered by default: AEAD_AES_256_GCM, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80."""

VIRTUAL_TIME_RETRANSMISSION: bool
"""True when handle_timeout retransmits on virtual time alone (OpenSSL 1.1.1-3.1)."""

def ssl_context(
    certificate_der: bytes, private_key_der: bytes, srtp_profiles: Iterable[int] | None = ...
) -> object: ...
def parse_fingerprint_value(value: str) -> bytes:
    """``"AB:CD:..."`` to bytes (ValueError if malformed)."""

class DtlsEndpoint:
    """One DTLS association, sans-IO: datagrams and virtual time in, datagrams,
    application data and the next deadline out."""

    @property
    def role(self) -> Literal["client", "server"]: ...
    @property
    def state(self) -> Literal["new", "connecting", "connected", "closed", "failed"]: ...
    @property
    def failure_reason(self) -> str | None:
        """One of "fingerprint-failure", "alert received: ...", "alert sent: ...", "timeout: ..."; or None."""
    @property
    def cipher_suite(self) -> str | None:
        """IANA name, e.g. "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"."""
    @property
    def protocol_version(self) -> str | None: ...
    @property
    def srtp_profile(self) -> int | None: ...
    @property
    def srtp_profile_name(self) -> str | None: ...
    @property
    def remote_certificate_der(self) -> bytes | None: ...
    @property
    def datagrams_received(self) -> int: ...
    @property
    def datagrams_dropped(self) -> int:
        """Malformed datagrams, and anything received after failure or close."""
    @property
    def datagrams_sent(self) -> int: ...
    @property
    def retransmissions(self) -> int: ...
    def __init__(
        self,
        certificate_der: bytes,
        private_key_der: bytes,
        role: Literal["client", "server"],
        remote_fingerprints: Iterable[tuple[str, str] | _Fingerprint],
        srtp_profiles: Iterable[int] | None = ...,
        *,
        mtu: int = 1200,
        initial_rto: float = 0.1,
    ) -> None: ...
    def start(self, now: float) -> None: ...
    def handle_datagram(self, data: Buffer, now: float) -> None: ...
    def next_timeout(self) -> float | None: ...
    def handle_timeout(self, now: float) -> None: ...
    def send(self, data: Buffer) -> None: ...
    def send_record(self, data: Buffer) -> bytes | None:
        """Encrypt one record and return its datagram (nothing queued)."""
    def receive(self, datagram: Buffer, now: float) -> bytes | None:
        """handle_datagram, then the next application data."""
    def recv(self) -> bytes | None: ...
    def recv_all(self) -> list[bytes]: ...
    def poll_datagram(self) -> bytes | None: ...
    def poll_datagrams(self) -> list[bytes]: ...
    def close(self) -> None: ...
    def export_srtp_keys(self) -> tuple[int, bytes, bytes, bytes, bytes]:
        """``(profile_id, local_key, local_salt, remote_key, remote_salt)``."""
    def create_srtp_sessions(
        self, *, replay_window: int = 1024, allow_repeat_tx: bool = False, max_streams: int = 1024
    ) -> tuple[SrtpSession, SrtpSession]:
        """``(outbound, inbound)`` SRTP sessions keyed from this association."""
