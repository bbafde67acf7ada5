"""SCTP association (RFC 9260, RFC 3758, RFC 6525, RFC 8831), sans-IO."""

from collections.abc import Iterable
from typing import Any

from typing_extensions import Buffer

EVENT_CONNECTED: int
EVENT_DATA: int
EVENT_STREAM_RESET: int
EVENT_RESET_DONE: int
EVENT_BUFFERED_LOW: int
EVENT_CLOSED: int
STATE_NAMES: tuple[str, ...]

class Association:
    local_port: int
    remote_port: int
    is_client: bool
    mtu: int
    max_message_size: int
    remote_max_message_size: int
    local_rwnd: int
    rto_initial: float
    rto_min: float
    rto_max: float
    max_retrans: int
    max_init_retransmits: int
    delayed_sack_time: float
    sack_per_burst: bool
    cookie_lifetime: float
    def __init__(
        self,
        local_port: int = 5000,
        remote_port: int = 5000,
        is_client: bool = True,
        *,
        mtu: int = 1200,
        max_message_size: int = 262144,
        rwnd: int = 4194304,
        now: float = 0.0,
        initial_tsn: int | None = None,
        secret: bytes | None = None,
    ) -> None: ...
    @property
    def state(self) -> str: ...
    @property
    def is_established(self) -> bool: ...
    @property
    def local_tag(self) -> int: ...
    @property
    def peer_tag(self) -> int: ...
    @property
    def forward_tsn_supported(self) -> bool: ...
    @property
    def reconfig_supported(self) -> bool: ...
    @property
    def close_reason(self) -> str | None: ...
    @property
    def stats(self) -> dict[str, Any]: ...
    def poll_event(self) -> tuple[Any, ...] | None: ...
    def poll_events(self) -> list[tuple[Any, ...]]: ...
    def next_deadline(self) -> float | None: ...
    def handle_timeout(self, now: float) -> None: ...
    def connect(self, now: float) -> None: ...
    def send(
        self,
        stream_id: int,
        ppid: int,
        data: Buffer,
        *,
        ordered: bool = True,
        max_retransmits: int | None = None,
        max_packet_lifetime_ms: float | None = None,
        now: float | None = None,
    ) -> None: ...
    def buffered_amount(self, stream_id: int) -> int: ...
    def set_buffered_amount_low_threshold(self, stream_id: int, threshold: int) -> None: ...
    def reset_streams(self, stream_ids: Iterable[int]) -> None: ...
    def shutdown(self, now: float) -> None: ...
    def abort(self, reason: str | None = None) -> None: ...
    def poll_transmit(self, now: float | None = None) -> bytes | None: ...
    def poll_transmits(self, now: float | None = None) -> list[bytes]: ...
    def handle_packet(self, data: Buffer, now: float) -> None: ...

def _live_objects() -> dict[str, int] | None:
    """Live instances per class in a debug build (RTCENGINE_DEBUG=1); None
    in a normal build.  See rtcengine._core.debug."""
