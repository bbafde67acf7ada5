"""Candidate grammar (RFC 8839 §5.1 / webrtc-pc §4.8.1.1), priorities (RFC 8445
§5.1.2, vectors from tests/data/vectors/ice/priorities.json), foundations and
ICE server URLs (RFC 7064 / RFC 7065)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcengine.exceptions import ParseError as BaseParseError
from rtcengine.ice.candidate import (
    Candidate,
    ParseError,
    candidate_foundation,
    candidate_priority,
    pair_priority,
)
from rtcengine.ice.config import ParseError as ConfigParseError
from rtcengine.ice.config import parse_ice_url
from tests import vectors

PRIORITIES = vectors.load("ice/priorities.json")


@pytest.mark.parametrize(
    "case",
    PRIORITIES["candidate_priority_examples"],
    ids=lambda c: f"{c['type']}-{c['local_preference']}-{c['component_id']}",
)
def test_candidate_priority_vectors(case: dict[str, int | str]) -> None:
    assert isinstance(case["component_id"], int) and isinstance(case["type"], str)
    assert isinstance(case["local_preference"], int)
    assert (
        candidate_priority(case["component_id"], case["type"], case["local_preference"])
        == case["priority"]
    )


def _pair_cases() -> list[dict[str, int]]:
    for key, value in PRIORITIES.items():
        if "pair" in key and isinstance(value, list):
            return value
    return []


@pytest.mark.parametrize("case", _pair_cases())
def test_pair_priority_vectors(case: dict[str, int]) -> None:
    g = next(v for k, v in case.items() if "controlling" in k and isinstance(v, int))
    d = next(v for k, v in case.items() if "controlled" in k and isinstance(v, int))
    expected = next(v for k, v in case.items() if "pair_priority" in k and isinstance(v, int))
    assert pair_priority(g, d) == expected


def test_pair_priority_formula() -> None:
    # RFC 8445 §6.1.2.3: symmetric up to the G>D bit.
    assert pair_priority(10, 5) == (5 << 32) + 20 + 1
    assert pair_priority(5, 10) == (5 << 32) + 20


def test_priority_bad_arguments() -> None:
    with pytest.raises(ValueError, match="component"):
        candidate_priority(0, "host")
    with pytest.raises(ValueError, match="local preference"):
        candidate_priority(1, "host", 70000)


def test_foundation_rules() -> None:
    # RFC 8445 §5.1.1.3: same type, base, server and transport share a foundation.
    a = candidate_foundation("host", "udp", "10.0.0.1")
    assert a == candidate_foundation("host", "UDP", "10.0.0.1")
    assert a != candidate_foundation("host", "udp", "10.0.0.2")
    assert a != candidate_foundation("srflx", "udp", "10.0.0.1")
    assert candidate_foundation("srflx", "udp", "10.0.0.1", "1.1.1.1") != candidate_foundation(
        "srflx", "udp", "10.0.0.1", "2.2.2.2"
    )
    assert re.fullmatch(r"[A-Za-z0-9+/]{1,32}", a)


def _sdp_candidate_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted(vectors.path("sdp").glob("*.sdp")):
        for line in path.read_text().splitlines():
            if line.startswith("a=candidate:"):
                lines.append(line)
    return lines


@pytest.mark.parametrize("line", _sdp_candidate_lines())
def test_browser_lines_round_trip(line: str) -> None:
    c = Candidate.from_sdp(line)
    assert "a=candidate:" + c.to_sdp() == line
    assert Candidate.from_sdp(c.candidate) == c


VALID = {
    "chrome host with extensions": (
        "candidate:842163049 1 udp 1677729535 1.2.3.4 56143 typ srflx raddr 0.0.0.0 rport 0 "
        "generation 0 ufrag EsAw network-id 1 network-cost 10"
    ),
    "firefox mdns host": "candidate:0 1 UDP 2122252543 2f0c0d2b-cd8a-4b24-a1b3-7f1a3d35a4d9.local 50347 typ host",
    "ipv6 host": "candidate:1 1 udp 2122262783 2001:db8::1 9 typ host",
    "tcp passive": "candidate:3 1 tcp 1518280447 10.0.0.1 9 typ host tcptype passive",
    "relay": "candidate:5 1 udp 41885439 203.0.113.5 3478 typ relay raddr 198.51.100.1 rport 5000",
    "unknown extension kept": "candidate:1 1 udp 1 1.2.3.4 9 typ host foo bar",
}


@pytest.mark.parametrize("line", VALID.values(), ids=VALID.keys())
def test_valid(line: str) -> None:
    c = Candidate.from_sdp(line)
    assert c.candidate.replace("UDP", "udp") == line.replace("UDP", "udp")


def test_fields() -> None:
    c = Candidate.from_sdp(VALID["chrome host with extensions"])
    assert (c.foundation, c.component, c.protocol, c.priority) == (
        "842163049",
        1,
        "udp",
        1677729535,
    )
    assert (c.ip, c.address, c.port, c.type) == ("1.2.3.4", "1.2.3.4", 56143, "srflx")
    assert (c.relatedAddress, c.relatedPort) == ("0.0.0.0", 0)
    assert (c.generation, c.usernameFragment, c.networkId, c.networkCost) == (0, "EsAw", 1, 10)
    assert c.tcpType is None
    t = Candidate.from_sdp(VALID["tcp passive"])
    assert t.tcpType == "passive"
    m = Candidate.from_sdp(VALID["firefox mdns host"])
    assert m.is_mdns and m.protocol == "udp"
    assert Candidate.from_sdp(VALID["ipv6 host"]).ip == "2001:db8::1"


INVALID = {
    "too few fields": ("candidate:1 1 udp 1 1.2.3.4 9 typ", "at least 8 fields"),
    "empty": ("", "at least 8 fields"),
    "foundation too long": ("candidate:" + "a" * 33 + " 1 udp 1 1.2.3.4 9 typ host", "foundation"),
    "foundation bad char": ("candidate:a-b 1 udp 1 1.2.3.4 9 typ host", "foundation"),
    "component zero": ("candidate:1 0 udp 1 1.2.3.4 9 typ host", "component must be 1..256"),
    "component 257": ("candidate:1 257 udp 1 1.2.3.4 9 typ host", "component must be 1..256"),
    "component not a number": ("candidate:1 x udp 1 1.2.3.4 9 typ host", "component"),
    "priority zero": ("candidate:1 1 udp 0 1.2.3.4 9 typ host", "priority must be 1.."),
    "priority too big": ("candidate:1 1 udp 2147483648 1.2.3.4 9 typ host", "priority"),
    "priority negative": ("candidate:1 1 udp -5 1.2.3.4 9 typ host", "priority"),
    "port too big": ("candidate:1 1 udp 1 1.2.3.4 65536 typ host", "port must be 0..65535"),
    "bad ipv4": ("candidate:1 1 udp 1 1.2.3.400 9 typ host", "connection-address"),
    "bad ipv6": ("candidate:1 1 udp 1 2001:::1 9 typ host", "IPv6"),
    "no typ": ("candidate:1 1 udp 1 1.2.3.4 9 type host", "'typ'"),
    "extension without value": ("candidate:1 1 udp 1 1.2.3.4 9 typ host generation", "no value"),
    "raddr after extension": (
        "candidate:1 1 udp 1 1.2.3.4 9 typ srflx generation 0 raddr 1.1.1.1",
        "must follow",
    ),
    "bad rport": ("candidate:1 1 udp 1 1.2.3.4 9 typ srflx raddr 1.1.1.1 rport x", "rport"),
    "bad tcptype": ("candidate:1 1 tcp 1 1.2.3.4 9 typ host tcptype sideways", "tcptype"),
    "bad generation": ("candidate:1 1 udp 1 1.2.3.4 9 typ host generation x", "generation"),
    "bad transport": ("candidate:1 1 u(p 1 1.2.3.4 9 typ host", "transport"),
}


@pytest.mark.parametrize("line,message", INVALID.values(), ids=INVALID.keys())
def test_invalid(line: str, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        Candidate.from_sdp(line)


def test_parse_error_is_rtcengine_parse_error() -> None:
    assert issubclass(ParseError, BaseParseError)
    assert issubclass(ParseError, ValueError)


@given(st.text(max_size=120))
def test_fuzz_text(text: str) -> None:
    try:
        c = Candidate.from_sdp(text)
    except ParseError:
        return
    assert Candidate.from_sdp(c.to_sdp()) == c


@settings(max_examples=100)
@given(
    st.integers(1, 256),
    st.integers(1, 2**31 - 1),
    st.ip_addresses(),
    st.integers(0, 65535),
    st.sampled_from(["host", "srflx", "prflx", "relay"]),
)
def test_round_trip_property(comp: int, prio: int, ip: object, port: int, typ: str) -> None:
    c = Candidate(comp, "abc", str(ip), port, prio, "udp", typ)
    assert Candidate.from_sdp(c.candidate) == c


def test_copy_and_aliases() -> None:
    c = Candidate.from_sdp(VALID["relay"])
    d = c.copy()
    d.address = "9.9.9.9"
    assert c.ip == "203.0.113.5" and d.ip == "9.9.9.9" and d.addr == ("9.9.9.9", 3478)
    d.tcpType = "active"
    assert d.to_sdp().endswith("tcptype active")


URLS = {
    "stun:stun.l.google.com:19302": ("stun", "stun.l.google.com", 19302, "udp"),
    "stun:1.2.3.4": ("stun", "1.2.3.4", 3478, "udp"),
    "stuns:example.org": ("stuns", "example.org", 5349, "tls"),
    "turn:[2001:db8::1]:3479?transport=tcp": ("turn", "2001:db8::1", 3479, "tcp"),
    "turn:example.org?transport=udp": ("turn", "example.org", 3478, "udp"),
    "turns:example.org:443?transport=tcp": ("turns", "example.org", 443, "tls"),
}


@pytest.mark.parametrize("url", URLS)
def test_ice_urls(url: str) -> None:
    u = parse_ice_url(url, "user", "pw")
    assert (u.scheme, u.host, u.port, u.transport) == URLS[url]
    assert u.username == "user" and u.is_turn == url.startswith("turn")


@pytest.mark.parametrize(
    "url",
    [
        "http://x",
        "stun://host",
        "stun:host?transport=udp",
        "turn:host?transport=sctp",
        "turns:host?transport=udp",
        "turn:",
        "stun:host:0",
        "stun:host:99999",
        "turn:[::1",
    ],
)
def test_bad_ice_urls(url: str) -> None:
    with pytest.raises(ConfigParseError):
        parse_ice_url(url)
