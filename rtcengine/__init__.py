"""rtcengine: a WebRTC engine for Python with a compiled Cython core."""

from __future__ import annotations

__version__ = "0.1.0"

# No pure-Python fallback (DESIGN.md rule 6): the compiled core is the engine.
try:
    from rtcengine._core import buffer as _buffer  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "rtcengine's compiled core (rtcengine._core) is not built. Install the "
        "package with `pip install .` (or a wheel), or build in place for "
        "development with `python setup.py build_ext --inplace`. It needs a C "
        "compiler, Cython >= 3 and the OpenSSL headers (Debian: libssl-dev "
        f"pkg-config). Original error: {exc}"
    ) from exc

from rtcengine.exceptions import (
    InvalidAccessError,
    InvalidModificationError,
    InvalidStateError,
    InvalidSyntaxError,
    OperationError,
    ParseError,
)
from rtcengine.rtccertificate import RTCCertificate, RTCDtlsFingerprint
from rtcengine.rtcconfiguration import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCRtcpMuxPolicy,
)
from rtcengine.rtcdatachannel import RTCDataChannel, RTCDataChannelParameters
from rtcengine.rtcdtlstransport import RTCDtlsParameters, RTCDtlsTransport
from rtcengine.rtcicetransport import (
    RTCIceCandidate,
    RTCIceCandidatePair,
    RTCIceGatherer,
    RTCIceParameters,
    RTCIceTransport,
)
from rtcengine.rtcpeerconnection import RTCPeerConnection, RTCPeerConnectionIceEvent
from rtcengine.rtcsctptransport import RTCSctpCapabilities, RTCSctpTransport
from rtcengine.rtcsessiondescription import RTCSdpType, RTCSessionDescription
from rtcengine.stats import RTCStatsReport, RTCTransportStats

__all__ = [
    "InvalidAccessError",
    "InvalidModificationError",
    "InvalidStateError",
    "InvalidSyntaxError",
    "OperationError",
    "ParseError",
    "RTCBundlePolicy",
    "RTCCertificate",
    "RTCConfiguration",
    "RTCDataChannel",
    "RTCDataChannelParameters",
    "RTCDtlsFingerprint",
    "RTCDtlsParameters",
    "RTCDtlsTransport",
    "RTCIceCandidate",
    "RTCIceCandidatePair",
    "RTCIceGatherer",
    "RTCIceParameters",
    "RTCIceServer",
    "RTCIceTransport",
    "RTCIceTransportPolicy",
    "RTCPeerConnection",
    "RTCPeerConnectionIceEvent",
    "RTCRtcpMuxPolicy",
    "RTCSctpCapabilities",
    "RTCSctpTransport",
    "RTCSdpType",
    "RTCSessionDescription",
    "RTCStatsReport",
    "RTCTransportStats",
    "__version__",
]
