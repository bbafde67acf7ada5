"""RTCSessionDescription (webrtc-pc §4.8.1) with aiortc's Python shape.

``RTCSessionDescription(sdp=..., type=...)`` is a dataclass as in aiortc;
``type`` is an ``RTCSdpType`` (webrtc-pc §4.8.1.1): offer, pranswer, answer
or rollback.  A bad type raises :class:`InvalidSdpTypeError`, which is both a
``TypeError`` (what webrtc-pc's WebIDL enum conversion throws) and a
``ValueError`` (what aiortc raises), so code written for either catches it.
The SDP text is not parsed here: setLocalDescription/setRemoteDescription
parse it and report syntax errors with the line (see :mod:`rtcengine.jsep`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, TypedDict

__all__ = [
    "SDP_TYPES",
    "InvalidSdpTypeError",
    "RTCSdpType",
    "RTCSessionDescription",
    "RTCSessionDescriptionInit",
]


class RTCSdpType(StrEnum):
    """webrtc-pc §4.8.1.1 RTCSdpType."""

    offer = "offer"  # webrtc-pc §4.8.1.1: an offer (RFC 8829 §5.2)
    pranswer = "pranswer"  # webrtc-pc §4.8.1.1: a provisional answer (RFC 8829 §4.1.10.1)
    answer = "answer"  # webrtc-pc §4.8.1.1: a final answer (RFC 8829 §5.3)
    rollback = "rollback"  # webrtc-pc §4.8.1.1: cancel the current negotiation (RFC 8829 §4.1.10.2)


# webrtc-pc §4.8.1.1: the RTCSdpType enum values.
SDP_TYPES: Final = frozenset(t.value for t in RTCSdpType)


class InvalidSdpTypeError(TypeError, ValueError):
    """``type`` is not an RTCSdpType value (TypeError in webrtc-pc, ValueError in aiortc)."""


class RTCSessionDescriptionInit(TypedDict, total=False):
    """webrtc-pc §4.8.1.2 RTCSessionDescriptionInit (``type`` required)."""

    type: str
    sdp: str


@dataclass
class RTCSessionDescription:
    """One end of a connection and how it is configured (webrtc-pc §4.8.1)."""

    sdp: str
    type: str

    def __post_init__(self) -> None:
        if isinstance(self.type, RTCSdpType):
            self.type = self.type.value
        if not isinstance(self.type, str) or self.type not in SDP_TYPES:
            raise InvalidSdpTypeError(
                f"'type' must be in ['offer', 'pranswer', 'answer', 'rollback'] (got {self.type!r})"
            )
        if self.sdp is None:
            # webrtc-pc §4.8.1.2: sdp defaults to "" (rollback carries none).
            self.sdp = ""
        if not isinstance(self.sdp, str):
            raise TypeError(f"'sdp' must be a str, got {type(self.sdp).__name__}")

    @classmethod
    def from_init(cls, init: RTCSessionDescriptionInit | dict[str, Any]) -> RTCSessionDescription:
        """Build from an RTCSessionDescriptionInit dictionary (``sdp`` optional)."""
        if "type" not in init:
            raise TypeError("RTCSessionDescriptionInit needs a 'type'")
        return cls(sdp=init.get("sdp", ""), type=init["type"])

    def toJSON(self) -> RTCSessionDescriptionInit:
        """webrtc-pc §4.8.1: ``{"type": ..., "sdp": ...}``."""
        return {"type": self.type, "sdp": self.sdp}
