"""RTCPeerConnection's transports: the ORTC ICE, DTLS and SCTP objects
behind :class:`rtcengine.rtcpeerconnection.TransportSet` (max-bundle: one
of each per peer connection)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rtcengine.rtcpeerconnection import RTCPeerConnection, TransportSet


def create_transport_set(pc: RTCPeerConnection, ufrag: str, pwd: str) -> TransportSet:
    raise NotImplementedError(
        "RTCPeerConnection's ORTC transports (rtcicetransport, rtcdtlstransport, "
        "rtcsctptransport) are not wired in yet"
    )
