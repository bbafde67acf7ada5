"""ICE configuration: ``RTCIceServer``-like server entries, their URLs
(RFC 7064 ``stun:``/``stuns:``, RFC 7065 ``turn:``/``turns:``) and the agent
and driver knobs.  Issue 6's ``RTCConfiguration`` maps onto these."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import unquote

from rtcengine.ice.candidate import ParseError

# RFC 8489 §9 / RFC 7064 §3.1: default STUN/TURN port over UDP and TCP.
DEFAULT_STUN_PORT: Final = 3478
# RFC 8489 §9 / RFC 7064 §3.1: default port for STUN/TURN over TLS.
DEFAULT_STUNS_PORT: Final = 5349

TransportPolicy = Literal["all", "relay"]


@dataclass
class IceServer:
    """``RTCIceServer`` (webrtc-pc §4.2.4): one server, possibly several URLs."""

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None

    def url_list(self) -> list[str]:
        return [self.urls] if isinstance(self.urls, str) else list(self.urls)


@dataclass(frozen=True)
class IceServerUrl:
    """One parsed ``stun:``/``stuns:``/``turn:``/``turns:`` URL."""

    scheme: Literal["stun", "stuns", "turn", "turns"]
    host: str
    port: int
    # RFC 7065 §3.1: ?transport=udp|tcp (TURN only); stuns/turns run over TLS.
    transport: Literal["udp", "tcp", "tls"]
    username: str | None = None
    credential: str | None = None

    @property
    def is_turn(self) -> bool:
        return self.scheme in ("turn", "turns")


def parse_ice_url(
    url: str, username: str | None = None, credential: str | None = None
) -> IceServerUrl:
    """Parse an RFC 7064 / RFC 7065 URI: ``stun:host[:port]``,
    ``turn:host[:port][?transport=udp|tcp]``, ``stuns:``/``turns:``."""
    scheme, sep, rest = url.partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in ("stun", "stuns", "turn", "turns"):
        raise ParseError(
            f"ICE server URL must start with stun:, stuns:, turn: or turns:, got {url!r}"
        )
    hostport, _, query = rest.partition("?")
    if hostport.startswith("//"):
        raise ParseError(f"ICE server URL must not have an authority '//': {url!r}")
    transport: Literal["udp", "tcp", "tls"] = "tls" if scheme.endswith("s") else "udp"
    if query:
        if scheme.startswith("stun"):
            # RFC 7064 §3.1: stun URIs take no query.
            raise ParseError(f"stun URL takes no query: {url!r}")
        key, _, value = query.partition("=")
        if key != "transport" or value.lower() not in ("udp", "tcp"):
            raise ParseError(f"TURN URL query must be transport=udp|tcp, got {query!r}")
        if value.lower() == "udp" and scheme == "turns":
            raise ParseError(f"turns: cannot use transport=udp: {url!r}")
        if scheme == "turn":
            transport = "udp" if value.lower() == "udp" else "tcp"
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ParseError(f"ICE server URL has an unclosed '[': {url!r}")
        host = hostport[1:end]
        port_text = hostport[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ParseError(f"ICE server URL has a bad IPv6 literal: {url!r}") from None
        if port_text and not port_text.startswith(":"):
            raise ParseError(f"ICE server URL has junk after ']': {url!r}")
        port_text = port_text[1:]
    else:
        host, _, port_text = hostport.partition(":")
    host = unquote(host)
    if not host:
        raise ParseError(f"ICE server URL has no host: {url!r}")
    default = DEFAULT_STUNS_PORT if scheme.endswith("s") else DEFAULT_STUN_PORT
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
            raise ParseError(f"ICE server URL port must be 1..65535, got {port_text!r}")
        port = int(port_text)
    else:
        port = default
    return IceServerUrl(scheme, host, port, transport, username, credential)  # type: ignore[arg-type]


@dataclass
class IceConfig:
    """Knobs of the ICE agent and its driver (webrtc-pc ``RTCConfiguration``
    names where one exists)."""

    iceServers: list[IceServer] = field(default_factory=list)
    # webrtc-pc §4.2.1: "all" or "relay" (only relay candidates are used).
    iceTransportPolicy: TransportPolicy = "all"
    # Host gathering: address families and an optional filter on
    # (interface name, ip) to pick interfaces.
    use_ipv4: bool = True
    use_ipv6: bool = True
    include_loopback: bool = False
    # IPv6 link-local addresses (fe80::/10) are skipped unless asked for.
    include_link_local: bool = False
    interface_filter: Callable[[str, str], bool] | None = None
    # Bind host sockets to this port range (inclusive), 0 = any.
    port_range: tuple[int, int] = (0, 0)
    # RFC 8445 §2.5: a lite agent (servers with a public address).
    ice_lite: bool = False
    # RFC 8445 §8.1.1 regular nomination; True for aggressive nomination
    # (RFC 5245 §8.1.1.2, kept by RFC 8445 for backward compatibility).
    aggressive_nomination: bool = False
    # draft-ietf-mmusic-mdns-ice-candidates §3.1: hide host addresses behind
    # random "<uuid>.local" names in signalled candidates.
    mdns_hide_host: bool = False
    # Resolve remote ".local" candidates (draft-ietf-mmusic-mdns-ice-candidates §3.2).
    mdns_resolve: bool = True
    # RFC 6544 ICE-TCP: gather host TCP candidates (passive: a listening
    # socket; active: port 9) and pair remote active/passive TCP candidates.
    ice_tcp: bool = False
    # Gather host UDP candidates (False with ice_tcp: TCP-only host candidates).
    use_udp: bool = True
