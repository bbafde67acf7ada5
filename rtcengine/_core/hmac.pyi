"""Keyed HMAC contexts (RFC 2104) over OpenSSL digests."""

from typing import Literal

from typing_extensions import Buffer

class HmacKey:
    """HMAC with a fixed key, reused for every message without allocating."""

    @property
    def digest_size(self) -> int: ...
    @property
    def algorithm(self) -> str: ...
    def __init__(
        self, key: Buffer, algorithm: Literal["sha1", "sha256", "sha384", "sha512", "md5"] = "sha1"
    ) -> None: ...
    def digest(self, data: Buffer) -> bytes: ...
    def verify(self, data: Buffer, mac: Buffer) -> bool: ...

def _live_objects() -> dict[str, int] | None:
    """Live instances per class in a debug build (RTCENGINE_DEBUG=1); None
    in a normal build.  See rtcengine._core.debug."""
