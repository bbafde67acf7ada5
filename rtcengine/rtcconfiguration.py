"""RTCConfiguration and RTCIceServer (webrtc-pc §4.2) with aiortc's Python shape.

``RTCConfiguration`` and ``RTCIceServer`` are dataclasses as in aiortc; the
policy fields take the enum members (``RTCBundlePolicy.MAX_BUNDLE``, as in
aiortc) or their string values (``"max-bundle"``, as in the spec).
:func:`validate_configuration` runs webrtc-pc §4.4.1.1's "set a
configuration" checks and :func:`ice_config` maps the result onto the ICE
layer (:mod:`rtcengine.ice.config`): every URL of every server is used.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rtcengine.exceptions import InvalidAccessError, InvalidSyntaxError
from rtcengine.ice.candidate import ParseError
from rtcengine.ice.config import IceConfig, IceServer, IceServerUrl, parse_ice_url
from rtcengine.rtccertificate import RTCCertificate

__all__ = [
    "RTCBundlePolicy",
    "RTCConfiguration",
    "RTCIceServer",
    "RTCIceTransportPolicy",
    "RTCRtcpMuxPolicy",
    "ice_config",
    "validate_configuration",
]

# webrtc-pc §4.2.1: iceCandidatePoolSize is an octet.
MAX_ICE_CANDIDATE_POOL_SIZE = 255


class RTCIceTransportPolicy(enum.Enum):
    """webrtc-pc §4.2.5 RTCIceTransportPolicy."""

    RELAY = "relay"  # only relay candidates are used
    ALL = "all"  # every candidate type is used


class RTCBundlePolicy(enum.Enum):
    """webrtc-pc §4.2.6 RTCBundlePolicy.  With data channels only (no media
    yet) every policy negotiates one transport: rtcengine offers max-bundle
    (RFC 8829 §4.1.1)."""

    BALANCED = "balanced"
    MAX_COMPAT = "max-compat"
    MAX_BUNDLE = "max-bundle"


class RTCRtcpMuxPolicy(enum.Enum):
    """webrtc-pc §4.2.7 RTCRtcpMuxPolicy: only "require" remains in the spec."""

    REQUIRE = "require"


@dataclass
class RTCIceServer:
    """webrtc-pc §4.2.4 RTCIceServer: one STUN/TURN server, one or more URLs
    (``stun:``, ``stuns:``, ``turn:``, ``turns:``, RFC 7064/7065, with
    ``?transport=udp|tcp`` for TURN)."""

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None
    credentialType: str = "password"

    def url_list(self) -> list[str]:
        return [self.urls] if isinstance(self.urls, str) else list(self.urls)


@dataclass
class RTCConfiguration:
    """webrtc-pc §4.2.1 RTCConfiguration.

    ``iceServers=None`` means no server (as in the spec's default ``[]``;
    aiortc instead used Google's public STUN server: pass it explicitly if
    you want it).  ``certificates=None`` makes one ECDSA P-256 certificate
    per peer connection."""

    iceServers: list[RTCIceServer] | None = None
    iceTransportPolicy: RTCIceTransportPolicy | str = RTCIceTransportPolicy.ALL
    bundlePolicy: RTCBundlePolicy | str = RTCBundlePolicy.BALANCED
    rtcpMuxPolicy: RTCRtcpMuxPolicy | str = RTCRtcpMuxPolicy.REQUIRE
    certificates: list[RTCCertificate] | None = None
    iceCandidatePoolSize: int = 0
    # Engine knobs outside the spec (kept out of getConfiguration comparisons).
    extra: dict[str, Any] = field(default_factory=dict)


def _enum(cls: type[enum.Enum], value: object, name: str) -> Any:
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in cls)
        # WebIDL enum conversion failure is a TypeError (webrtc-pc §4.2.1).
        raise TypeError(f"{name} must be one of {allowed}, got {value!r}") from None


def _validate_server(server: RTCIceServer) -> list[IceServerUrl]:
    """webrtc-pc §4.4.1.1 "validate an ICE server" (steps for each url)."""
    urls = server.url_list()
    if not urls:
        raise InvalidSyntaxError("an RTCIceServer needs at least one URL in 'urls'")
    out = []
    for url in urls:
        try:
            parsed = parse_ice_url(url, server.username, server.credential)
        except ParseError as exc:
            raise InvalidSyntaxError(f"bad ICE server URL {url!r}: {exc}") from None
        if parsed.is_turn:
            if server.username is None or server.credential is None:
                raise InvalidAccessError(
                    f"TURN server {url!r} needs a username and a credential (webrtc-pc §4.4.1.1)"
                )
            if server.credentialType != "password":
                raise InvalidAccessError(
                    f"TURN server {url!r}: credentialType must be 'password', "
                    f"got {server.credentialType!r}"
                )
        out.append(parsed)
    return out


def validate_configuration(config: RTCConfiguration) -> RTCConfiguration:
    """webrtc-pc §4.4.1.1 "set a configuration", the checks that do not
    depend on a previous configuration: enum values (TypeError), ICE server
    URLs (SyntaxError, here :class:`InvalidSyntaxError`), TURN credentials
    (InvalidAccessError), expired certificates (InvalidAccessError), pool
    size range (TypeError).  Returns a normalised copy (enum members)."""
    if not isinstance(config, RTCConfiguration):
        raise TypeError(f"expected an RTCConfiguration, got {type(config).__name__}")
    servers = list(config.iceServers or [])
    for server in servers:
        if not isinstance(server, RTCIceServer):
            raise TypeError(f"iceServers must hold RTCIceServer, got {type(server).__name__}")
        _validate_server(server)
    certificates = config.certificates
    if certificates is not None:
        for cert in certificates:
            if not isinstance(cert, RTCCertificate):
                raise TypeError(f"certificates must hold RTCCertificate, got {cert!r}")
            cert.check_valid()
    size = config.iceCandidatePoolSize
    if not isinstance(size, int) or not 0 <= size <= MAX_ICE_CANDIDATE_POOL_SIZE:
        raise TypeError(f"iceCandidatePoolSize must be 0..255, got {size!r}")
    return RTCConfiguration(
        iceServers=servers,
        iceTransportPolicy=_enum(RTCIceTransportPolicy, config.iceTransportPolicy,
                                 "iceTransportPolicy"),
        bundlePolicy=_enum(RTCBundlePolicy, config.bundlePolicy, "bundlePolicy"),
        rtcpMuxPolicy=_enum(RTCRtcpMuxPolicy, config.rtcpMuxPolicy, "rtcpMuxPolicy"),
        certificates=None if certificates is None else list(certificates),
        iceCandidatePoolSize=size,
        extra=dict(config.extra),
    )


def ice_servers(servers: Sequence[RTCIceServer] | None) -> list[IceServer]:
    """The ICE layer's server entries, one per RTCIceServer, all URLs kept."""
    return [IceServer(s.url_list(), s.username, s.credential) for s in servers or ()]


def ice_config(config: RTCConfiguration) -> IceConfig:
    """An :class:`~rtcengine.ice.config.IceConfig` for a validated configuration."""
    policy = _enum(RTCIceTransportPolicy, config.iceTransportPolicy, "iceTransportPolicy")
    ice = IceConfig(iceServers=ice_servers(config.iceServers), iceTransportPolicy=policy.value)
    for key, value in config.extra.items():
        if hasattr(ice, key):
            setattr(ice, key, value)
    return ice
