"""W3C webrtc-stats objects for ``RTCPeerConnection.getStats()``.

``getStats()`` returns an :class:`RTCStatsReport`: a dict from stats id to
stats object, as aiortc's.  Each object is a dataclass with the webrtc-stats
field names (``report[id].bytesSent``), plus ``type``, ``id`` and
``timestamp``; ``timestamp`` is webrtc-stats' DOMHighResTimeStamp
(milliseconds since the Unix epoch; aiortc used a datetime).  Types:
``peer-connection`` (§7.? RTCPeerConnectionStats), ``transport``
(RTCTransportStats), ``candidate-pair`` (RTCIceCandidatePairStats),
``local-candidate`` / ``remote-candidate`` (RTCIceCandidateStats),
``certificate`` (RTCCertificateStats), ``data-channel``
(RTCDataChannelStats); an ``sctp-transport`` object carries the SCTP
association's counters (round-trip time, congestion window).
"""

from __future__ import annotations

import base64
import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rtcengine.ice.candidate import Candidate
from rtcengine.ice.candidate import ParseError as CandidateParseError
from rtcengine.rtccertificate import certificate_fingerprint

if TYPE_CHECKING:
    from rtcengine.rtcpeerconnection import RTCPeerConnection

__all__ = [
    "RTCCertificateStats",
    "RTCDataChannelStats",
    "RTCIceCandidatePairStats",
    "RTCIceCandidateStats",
    "RTCPeerConnectionStats",
    "RTCSctpTransportStats",
    "RTCStats",
    "RTCStatsReport",
    "RTCTransportStats",
    "collect",
]


@dataclass
class RTCStats:
    """webrtc-stats §5.1 RTCStats: ``timestamp`` (ms since the epoch), ``type``, ``id``."""

    timestamp: float
    type: str
    id: str

    def __getitem__(self, name: str) -> Any:
        """Dictionary-style access (``stats["bytesSent"]``), as in JavaScript."""
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)

    def to_dict(self) -> dict[str, Any]:
        """The members that have a value (JSON-ready), as ``JSON.stringify`` gives."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass
class RTCPeerConnectionStats(RTCStats):
    """webrtc-stats RTCPeerConnectionStats."""

    dataChannelsOpened: int = 0
    dataChannelsClosed: int = 0


@dataclass
class RTCTransportStats(RTCStats):
    """webrtc-stats RTCTransportStats (the DTLS transport and its ICE transport)."""

    packetsSent: int | None = None
    packetsReceived: int | None = None
    bytesSent: int | None = None
    bytesReceived: int | None = None
    iceRole: str | None = None
    iceLocalUsernameFragment: str | None = None
    iceState: str | None = None
    dtlsState: str | None = None
    dtlsRole: str | None = None
    dtlsCipher: str | None = None
    srtpCipher: str | None = None
    tlsVersion: str | None = None
    selectedCandidatePairId: str | None = None
    localCertificateId: str | None = None
    remoteCertificateId: str | None = None
    selectedCandidatePairChanges: int | None = None


@dataclass
class RTCIceCandidatePairStats(RTCStats):
    """webrtc-stats RTCIceCandidatePairStats."""

    transportId: str | None = None
    localCandidateId: str | None = None
    remoteCandidateId: str | None = None
    state: str | None = None
    nominated: bool | None = None
    priority: int | None = None
    packetsSent: int | None = None
    packetsReceived: int | None = None
    bytesSent: int | None = None
    bytesReceived: int | None = None
    lastPacketSentTimestamp: float | None = None
    lastPacketReceivedTimestamp: float | None = None
    totalRoundTripTime: float | None = None
    currentRoundTripTime: float | None = None
    requestsReceived: int | None = None
    requestsSent: int | None = None
    responsesReceived: int | None = None
    responsesSent: int | None = None
    consentRequestsSent: int | None = None


@dataclass
class RTCIceCandidateStats(RTCStats):
    """webrtc-stats RTCIceCandidateStats (``local-candidate`` / ``remote-candidate``)."""

    transportId: str | None = None
    address: str | None = None
    port: int | None = None
    protocol: str | None = None
    candidateType: str | None = None
    priority: int | None = None
    foundation: str | None = None
    relatedAddress: str | None = None
    relatedPort: int | None = None
    usernameFragment: str | None = None
    tcpType: str | None = None


@dataclass
class RTCCertificateStats(RTCStats):
    """webrtc-stats RTCCertificateStats."""

    fingerprint: str = ""
    fingerprintAlgorithm: str = ""
    base64Certificate: str = ""
    issuerCertificateId: str | None = None


@dataclass
class RTCDataChannelStats(RTCStats):
    """webrtc-stats RTCDataChannelStats."""

    label: str | None = None
    protocol: str | None = None
    dataChannelIdentifier: int | None = None
    state: str | None = None
    messagesSent: int | None = None
    bytesSent: int | None = None
    messagesReceived: int | None = None
    bytesReceived: int | None = None


@dataclass
class RTCSctpTransportStats(RTCStats):
    """webrtc-stats RTCSctpTransportStats (a provisional type; Chromium reports it)."""

    transportId: str | None = None
    state: str | None = None
    smoothedRoundTripTime: float | None = None
    congestionWindow: int | None = None
    receiverWindow: int | None = None
    mtu: int | None = None
    unackData: int | None = None


class RTCStatsReport(dict[str, Any]):
    """webrtc-pc §8.3 RTCStatsReport: stats objects by id (a dict, as aiortc's)."""

    def add(self, stats: RTCStats) -> None:
        self[stats.id] = stats


def _fields(cls: type[RTCStats], values: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)} - {"timestamp", "type", "id"}
    return {k: v for k, v in values.items() if k in names}


def _candidate_id(prefix: str, c: Candidate) -> str:
    return f"{prefix}{c.foundation}-{c.ip}-{c.port}"


def _candidate_stats(
    kind: str, prefix: str, c: Candidate, transport_id: str, now: float
) -> RTCIceCandidateStats:
    return RTCIceCandidateStats(
        timestamp=now, type=kind, id=_candidate_id(prefix, c), transportId=transport_id,
        address=c.ip, port=c.port, protocol=c.protocol, candidateType=c.type,
        priority=c.priority, foundation=c.foundation, relatedAddress=c.relatedAddress,
        relatedPort=c.relatedPort, usernameFragment=c.usernameFragment, tcpType=c.tcpType,
    )


def _certificate_stats(der: bytes, now: float) -> RTCCertificateStats:
    fp = certificate_fingerprint(der)
    return RTCCertificateStats(
        timestamp=now, type="certificate", id=f"CF{fp.value}", fingerprint=fp.value,
        fingerprintAlgorithm=fp.algorithm, base64Certificate=base64.b64encode(der).decode(),
    )


def _parse(sdp: object) -> Candidate | None:
    try:
        return Candidate.from_sdp(str(sdp))
    except CandidateParseError:
        return None


def collect(pc: RTCPeerConnection) -> RTCStatsReport:
    """Build the report from the peer connection's transports and channels."""
    now = time.time() * 1000.0
    report = RTCStatsReport()
    opened, closed = pc._channel_counts()
    report.add(RTCPeerConnectionStats(
        timestamp=now, type="peer-connection", id="P",
        dataChannelsOpened=opened, dataChannelsClosed=closed,
    ))
    local_certs = [c.certificate_der for c in pc._certificates]
    local_cert_id = None
    for der in local_certs:
        stats = _certificate_stats(der, now)
        local_cert_id = local_cert_id or stats.id
        report.add(stats)
    t = pc._transports
    dtls = getattr(t, "dtls_transport", None) if t is not None else None
    if dtls is None:
        return report
    values: dict[str, Any] = dtls._get_stats()
    transport_id = str(values["id"])
    transport = RTCTransportStats(timestamp=now, type="transport", id=transport_id,
                                  **_fields(RTCTransportStats, values))
    transport.localCertificateId = local_cert_id
    for der in dtls.getRemoteCertificates():
        remote_cert = _certificate_stats(der, now)
        report.add(remote_cert)
        transport.remoteCertificateId = remote_cert.id
    report.add(transport)
    ice = dtls.transport
    ice_stats: dict[str, Any] = ice._get_stats()
    selected = transport.selectedCandidatePairId
    for pair in ice_stats.get("pairs") or []:
        local = _parse(pair.get("localCandidate"))
        remote = _parse(pair.get("remoteCandidate"))
        if local is None or remote is None:
            continue
        pair_id = f"CP{local.foundation}_{remote.foundation}"
        if pair_id in report and pair_id != selected:
            continue
        local_stats = _candidate_stats("local-candidate", "IL", local, transport_id, now)
        remote_stats = _candidate_stats("remote-candidate", "IR", remote, transport_id, now)
        report.add(local_stats)
        report.add(remote_stats)
        report.add(RTCIceCandidatePairStats(
            timestamp=now, type="candidate-pair", id=pair_id, transportId=transport_id,
            localCandidateId=local_stats.id, remoteCandidateId=remote_stats.id,
            **_fields(RTCIceCandidatePairStats, pair),
        ))
    # Local candidates that are in no pair yet are reported too.
    for c in ice.getLocalCandidates():
        cid = _candidate_id("IL", c)
        if cid not in report:
            report.add(_candidate_stats("local-candidate", "IL", c, transport_id, now))
    sctp = getattr(t, "sctp", None)
    if sctp is not None:
        for item in sctp._get_stats():
            if item.get("type") == "data-channel":
                report.add(RTCDataChannelStats(
                    timestamp=now, type="data-channel", id=str(item["id"]),
                    **_fields(RTCDataChannelStats, item)))
            elif item.get("type") == "sctp-transport":
                report.add(RTCSctpTransportStats(
                    timestamp=now, type="sctp-transport", id=str(item["id"]),
                    **_fields(RTCSctpTransportStats, item)))
    return report
