"""W3C webrtc-stats objects for RTCPeerConnection.getStats() (placeholder
until the transports are wired in)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtcengine.rtcpeerconnection import RTCPeerConnection


class RTCStatsReport(dict[str, Any]):
    """webrtc-pc §8.3 RTCStatsReport: stats objects by id (a dict, as aiortc)."""


def collect(pc: RTCPeerConnection) -> RTCStatsReport:
    return RTCStatsReport()
