"""rtcengine.sdp: the SDP model (RFC 8866) against real browser and RFC 8829
SDPs (tests/data/vectors/sdp, expected values from its index.json), named
negative cases, aiortc cross-checks and hypothesis fuzz."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcengine import sdp
from rtcengine.exceptions import ParseError as BaseParseError
from rtcengine.ice.candidate import Candidate
from rtcengine.sdp import (
    Attribute,
    Codec,
    Connection,
    Extmap,
    Fingerprint,
    MediaDescription,
    Origin,
    ParseError,
    RtcpFeedback,
    SessionDescription,
    Simulcast,
    SimulcastId,
)
from tests.vectors import load, path

INDEX = load("sdp/index.json")["sdps"]
IDS = [entry["file"].split("/")[-1] for entry in INDEX]


def read(relpath: str) -> str:
    with open(path(relpath), encoding="ascii", newline="") as f:
        return f.read()


def _candidate_summary(c: Candidate) -> dict[str, Any]:
    out: dict[str, Any] = {
        "foundation": c.foundation,
        "component": c.component,
        "transport": c.protocol,
        "priority": c.priority,
        "address": c.ip,
        "port": c.port,
        "type": c.type,
    }
    if c.relatedAddress is not None:
        out["raddr"] = c.relatedAddress
    if c.relatedPort is not None:
        out["rport"] = str(c.relatedPort)
    # RFC 8445 §5.1.2.1: priority = 2^24 type pref + 2^8 local pref + (256 - component).
    out["priority_decomposed"] = {
        "type_preference": c.priority >> 24,
        "local_preference": (c.priority >> 8) & 0xFFFF,
        "component_term": 256 - (c.priority & 0xFF),
    }
    return out


def _codec_summary(codec: Codec, m: MediaDescription) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rtpmap = codec.rtpmap()
    if rtpmap is not None and any(r.payload_type == codec.payload_type for r in m.rtpmaps):
        out["rtpmap"] = str(rtpmap).split(" ", 1)[1]
    if codec.parameters:
        out["fmtp"] = sdp.format_fmtp_parameters(codec.parameters)
    if codec.rtcp_feedback:
        out["rtcp_fb"] = [
            fb.type if fb.parameter is None else f"{fb.type} {fb.parameter}"
            for fb in codec.rtcp_feedback
        ]
    return out


def media_summary(m: MediaDescription) -> dict[str, Any]:
    """Our model in index.json's summary shape (media-level values only)."""
    out: dict[str, Any] = {
        "kind": m.kind,
        "port": m.port,
        "proto": m.proto,
        "fmt": m.fmt,
        "connection": str(m.connection) if m.connection else None,
        "mid": m.mid,
        "direction": m.direction,
        "rtcp_mux": m.rtcp_mux,
        "rtcp_mux_only": m.rtcp_mux_only,
        "rtcp_rsize": m.rtcp_rsize,
        "bundle_only": m.bundle_only,
        "end_of_candidates": m.end_of_candidates,
        "candidates": [_candidate_summary(c) for c in m.candidates],
        "extmap": [str(e) for e in m.extmaps],
        "rids": [str(r) for r in m.rids],
        "simulcast": [str(m.simulcast)] if m.simulcast else [],
        "ssrc_groups": [str(g) for g in m.ssrc_groups],
        "ssrcs": sorted(m.ssrc_ids()),
        "msid": [str(x) for x in m.msids],
    }
    for key, value in (
        ("ice_ufrag", m.ice_ufrag),
        ("ice_pwd", m.ice_pwd),
        ("setup", m.setup),
        ("tls_id", m.tls_id),
        ("sctp_port", None if m.sctp_port is None else str(m.sctp_port)),
        ("max_message_size", None if m.max_message_size is None else str(m.max_message_size)),
    ):
        if value is not None:
            out[key] = value
    if m.fingerprints:
        out["fingerprint"] = str(m.fingerprints[0])
    if m.sctpmap:
        out["sctpmap"] = [str(x) for x in m.sctpmap]
    if m.is_rtp():
        out["codecs"] = {str(c.payload_type): _codec_summary(c, m) for c in m.codecs}
        out["rtx_apt"] = {str(k): str(v) for k, v in m.rtx_apt.items()}
    return out


# ---------------------------------------------------------------- vectors


@pytest.mark.parametrize("entry", INDEX, ids=IDS)
def test_vector_round_trips_byte_exact(entry: dict[str, Any]) -> None:
    text = read(entry["file"])
    desc = SessionDescription.parse(text)
    assert desc.to_sdp() == text
    assert str(desc) == text
    if "size_octets" in entry:
        assert len(text) == entry["size_octets"]


@pytest.mark.parametrize("entry", INDEX, ids=IDS)
def test_vector_session_fields_match_index(entry: dict[str, Any]) -> None:
    desc = SessionDescription.parse(read(entry["file"]))
    summary = entry["summary"]
    assert str(desc.origin) == summary["origin"]
    assert [str(g) for g in desc.groups] == summary["groups"]
    assert [a.value for a in desc.get_all("ice-options")] == summary["session_ice_options"]
    assert [str(f) for f in desc.fingerprints] == summary["session_fingerprint"]
    assert [a.value for a in desc.get_all("setup")] == summary["session_setup"]
    assert desc.extmap_allow_mixed == summary["extmap_allow_mixed"]
    assert [a.value for a in desc.get_all("msid-semantic")] == summary["msid_semantic"]


@pytest.mark.parametrize("entry", INDEX, ids=IDS)
def test_vector_media_fields_match_index(entry: dict[str, Any]) -> None:
    desc = SessionDescription.parse(read(entry["file"]))
    expected = entry["summary"]["media"]
    assert len(desc.media) == len(expected)
    for m, want in zip(desc.media, expected, strict=True):
        ours = media_summary(m)
        for key, value in want.items():
            assert ours.get(key) == value, (m.mid, key)


@pytest.mark.parametrize("entry", INDEX, ids=IDS)
def test_vector_agrees_with_aiortc(entry: dict[str, Any]) -> None:
    """index.json's cross_check_aiortc and aiortc itself, on the same text."""
    aiortc_sdp = pytest.importorskip("aiortc.sdp")
    text = read(entry["file"])
    desc = SessionDescription.parse(text)
    theirs = aiortc_sdp.SessionDescription.parse(text)
    check = entry["cross_check_aiortc"]
    assert [[g.semantics, list(g.mids)] for g in desc.groups] == check["group"]
    for m, a, c in zip(desc.media, theirs.media, check["media"], strict=True):
        assert (m.kind, m.mid, m.direction) == (c["kind"], c["mid"], c["direction"])
        assert (a.kind, a.rtp.muxId, a.direction) == (m.kind, m.mid, m.direction)
        assert len(m.candidates) == c["candidates"] == len(a.ice_candidates)
        assert m.sctp_port == c["sctp_port"] == a.sctp_port
        # aiortc makes a codec of each rtpmap line.
        assert [c.payloadType for c in a.rtp.codecs] == [r.payload_type for r in m.rtpmaps]


def test_chromium_offer_details() -> None:
    desc = SessionDescription.parse(read("sdp/chromium120_offer_audio_video.sdp"))
    assert desc.origin == Origin("-", 7169721126327183323, 3, "IN", "IP4", "127.0.0.1")
    assert desc.bundle_groups[0].mids == ("0", "1")
    assert desc.msid_semantic[0].semantic == "WMS"
    audio, video = desc.media
    opus = audio.codecs[0]
    assert (opus.payload_type, opus.name, opus.clock_rate, opus.channels) == (111, "opus", 48000, 2)
    assert opus.parameters == {"minptime": "10", "useinbandfec": "1"}
    assert opus.rtcp_feedback == [RtcpFeedback("transport-cc", None, 111)]
    assert audio.rtcp == sdp.Rtcp(9, "IN", "IP4", "0.0.0.0")
    assert audio.ice_options == ["trickle"]
    assert audio.fingerprints[0].algorithm == "sha-256"
    assert len(audio.fingerprints[0].digest) == 32
    assert video.codec(97) == Codec(97, "rtx", 90000, None, {"apt": "96"}, [])
    assert video.rtx_apt[97] == 96
    assert video.ssrc_groups[0].semantics == "FID"
    assert video.ssrc_groups[0].ssrcs == (1862494604, 1112104850)
    assert video.ssrcs[0] == sdp.SsrcAttribute(1862494604, "cname", "yFbnkIWTHwPXy6MO")
    assert video.msids[0] == sdp.Msid("-", "0a874693-9ca3-44a4-8c95-d8f2e26a7179")
    assert desc.webrtc_track_id(video) is None  # "WMS" lists no stream; "-" is none
    assert video.extmaps[0] == Extmap(14, "urn:ietf:params:rtp-hdrext:toffset")
    assert audio.unknown_attributes() == []


def test_firefox_offer_details() -> None:
    desc = SessionDescription.parse(read("sdp/firefox121_offer_audio_video.sdp"))
    assert desc.origin.username == "mozilla...THIS_IS_SDPARTA-99.0"
    assert desc.ice_options == ["trickle"]
    assert desc.fingerprints[0].algorithm == "sha-256"
    assert desc.media[0].fingerprints == []  # inherited from the session (jsep resolves it)
    audio = desc.media[0]
    assert audio.codec(9) == Codec(9, "G722", 8000, 1)
    assert audio.codec(101) is not None and audio.codec(101).parameters == {"0-15": None}  # type: ignore[union-attr]
    assert audio.extmaps[1] == Extmap(2, "urn:ietf:params:rtp-hdrext:csrc-audio-level", "recvonly")
    track = desc.webrtc_track_id(audio)
    assert track == "{ba72adfe-d5b5-42bd-bf15-e8fcdcbb2ee1}"  # WMS *


def test_rfc8829_simulcast_and_datachannel() -> None:
    desc = SessionDescription.parse(read("sdp/rfc8829_7.2_offer_B2_simulcast_datachannel.sdp"))
    audio, data, v1, v2 = desc.media
    assert audio.rtcp_mux_only and audio.end_of_candidates
    assert [c.type for c in audio.candidates] == ["host", "srflx", "relay"]
    assert audio.candidates[1].relatedAddress == "203.0.113.200"
    assert audio.candidates[1].relatedPort == 10200
    assert audio.candidates[0].sdpMid == "a1"
    assert data.is_datachannel() and data.sctp_port == 5000 and data.max_message_size == 65536
    assert data.codecs == [] and data.direction is None
    assert v1.simulcast == Simulcast(
        send=((SimulcastId("1"),), (SimulcastId("2"),), (SimulcastId("3"),))
    )
    assert [r.id for r in v1.rids] == ["1", "2", "3"]
    assert v1.codec(104) == Codec(104, "flexfec", 90000)
    assert v2.simulcast is None
    answer = SessionDescription.parse(read("sdp/rfc8829_7.2_answer_B2.sdp"))
    assert answer.media[2].get("imageattr") == Attribute(
        "imageattr", "100 recv [x=[48:1920],y=[48:1080],q=1.0]"
    )
    assert answer.media[2].unknown_attributes() == []  # imageattr is known, kept raw


def test_lf_line_endings_and_blank_lines_are_accepted() -> None:
    text = read("sdp/rfc8829_7.1_offer_A1.sdp")
    lf = text.replace("\r\n", "\n")
    assert SessionDescription.parse(lf).to_sdp() == text
    assert SessionDescription.parse("\n" + lf + "\n\n").to_sdp() == text


def test_unknown_attributes_and_lines_survive() -> None:
    text = (
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "a=x-session-thing:42\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
        "c=IN IP4 0.0.0.0\r\nb=AS:30\r\n"
        "a=x-custom:a b  c\r\na=flag-only\r\na=mid:0\r\na=x-custom:again\r\n"
    )
    desc = SessionDescription.parse(text)
    assert desc.to_sdp() == text
    assert desc.unknown_attributes() == [("x-session-thing", "42")]
    m = desc.media[0]
    assert m.unknown_attributes() == [
        ("x-custom", "a b  c"),
        ("flag-only", None),
        ("x-custom", "again"),
    ]
    assert m.bandwidths == [sdp.Bandwidth("AS", 30)]


def test_extra_spaces_are_tolerated() -> None:
    text = (
        "v=0\r\no=-  1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0  0\r\n"
        "m=audio  9 UDP/TLS/RTP/SAVPF  111 0\r\n"
        "a=rtpmap:111  opus/48000/2\r\na=fmtp:111 minptime=10; useinbandfec=1\r\n"
        "a=candidate:1 1 udp 2113929471 203.0.113.100 10100 typ  host\r\n"
        "a=mid: 0 \r\n"
    )
    desc = SessionDescription.parse(text)
    m = desc.media[0]
    assert m.fmt == ["111", "0"] and m.mid == "0"
    assert m.codecs[0].parameters == {"minptime": "10", "useinbandfec": "1"}
    assert m.codecs[1].name == "PCMU"  # RFC 3551 static payload type
    assert m.candidates[0].type == "host"
    # a= values are kept as written; the fixed lines are re-spaced.
    out = desc.to_sdp()
    assert "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n" in out
    assert "a=rtpmap:111  opus/48000/2\r\n" in out


# ------------------------------------------------------------ editing API


def test_setters_edit_in_place() -> None:
    desc = SessionDescription.parse(read("sdp/chromium120_offer_audio_video.sdp"))
    audio = desc.media[0]
    index = [a.name for a in audio.attributes].index("sendrecv")
    audio.direction = "inactive"
    assert audio.attributes[index] == Attribute("inactive")
    audio.mid = "zero"
    assert audio.mid == "zero"
    audio.setup = "active"
    assert audio.get("setup") == Attribute("setup", "active")
    audio.rtcp_mux = False
    assert not audio.rtcp_mux
    audio.fingerprints = [Fingerprint.from_digest("sha-256", bytes(range(32)))]
    assert audio.fingerprints[0].value.startswith("00:01:02")
    cand = Candidate.from_sdp("candidate:1 1 udp 2113929471 192.0.2.1 5000 typ host")
    audio.end_of_candidates = True
    audio.add_candidate(cand)
    names = [a.name for a in audio.attributes]
    assert names.index("candidate") < names.index("end-of-candidates")
    again = SessionDescription.parse(desc.to_sdp())
    assert again == desc
    assert again.media[0].candidates == [cand]
    with pytest.raises(ParseError, match="setup must be one of"):
        audio.setup = "bogus"
    with pytest.raises(ValueError, match="direction must be one of"):
        audio.direction = "sideways"


def test_add_codec_writes_rtpmap_rtcpfb_fmtp() -> None:
    m = MediaDescription("video", 9, "UDP/TLS/RTP/SAVPF", [])
    m.add_codec(
        Codec(96, "VP8", 90000, None, {}, [RtcpFeedback("nack"), RtcpFeedback("nack", "pli")])
    )
    m.add_codec(Codec(97, "rtx", 90000, None, {"apt": "96"}))
    assert m.fmt == ["96", "97"]
    assert [a.line() for a in m.attributes] == [
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
    ]
    assert m.rtx_apt == {97: 96}


def test_wildcard_rtcp_fb_applies_to_every_codec() -> None:
    desc = SessionDescription.parse(
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96 98\r\na=rtpmap:96 VP8/90000\r\n"
        "a=rtpmap:98 VP9/90000\r\na=rtcp-fb:* nack\r\na=rtcp-fb:98 ccm fir\r\n"
    )
    v = desc.media[0]
    assert v.codec(96).rtcp_feedback == [RtcpFeedback("nack")]  # type: ignore[union-attr]
    assert v.codec(98).rtcp_feedback == [  # type: ignore[union-attr]
        RtcpFeedback("ccm", "fir", 98),
        RtcpFeedback("nack"),
    ]


def test_simulcast_alternatives_and_paused() -> None:
    sc = Simulcast.parse("recv 1,~2;3 send 4")
    assert sc.recv == ((SimulcastId("1"), SimulcastId("2", True)), (SimulcastId("3"),))
    assert sc.send == ((SimulcastId("4"),),)
    assert str(sc) == "recv 1,~2;3 send 4"


def test_rid_restrictions() -> None:
    rid = sdp.Rid.parse("hi send pt=96,97;max-width=1280;max-height=720")
    assert rid.payload_types == [96, 97]
    assert dict(rid.params)["max-width"] == "1280"
    assert str(rid) == "hi send pt=96,97;max-width=1280;max-height=720"


def test_legacy_sctpmap_section() -> None:
    desc = SessionDescription.parse(
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=application 9 DTLS/SCTP 5000\r\nc=IN IP4 0.0.0.0\r\n"
        "a=sctpmap:5000 webrtc-datachannel 1024\r\na=mid:data\r\n"
    )
    m = desc.media[0]
    assert m.is_datachannel()
    assert m.sctpmap == [sdp.Sctpmap(5000, "webrtc-datachannel", 1024)]
    assert m.sctp_port == 5000


# --------------------------------------------------------- negative cases

HEAD = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
AUDIO = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
BAD_CASES = [
    # (name, text, line number, message regex)
    ("empty", "", 0, "empty SDP"),
    ("missing v=", "o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", 1, "expected a v= line"),
    ("bad version", "v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", 1, "version must be 0"),
    ("missing o=", "v=0\r\ns=-\r\nt=0 0\r\n", 2, "expected a o= line"),
    ("ends after o=", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", 0, "ends before its s= line"),
    ("short o=", "v=0\r\no=- 1 IN IP4 0.0.0.0\r\ns=-\r\n", 2, "o= needs 6 fields"),
    ("bad sess-id", "v=0\r\no=- x 1 IN IP4 0.0.0.0\r\ns=-\r\n", 2, "sess-id must be"),
    ("not type=value", HEAD + "garbage\r\n", 5, "expected <type>=<value>"),
    ("upper-case type", HEAD + "A=foo\r\n", 5, "expected <type>=<value>"),
    ("bad t=", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0\r\n", 4, "t= needs 2 fields"),
    ("bad c=", HEAD + "c=IN IP4\r\n", 5, "c= needs 3 fields"),
    ("bad b=", HEAD + "b=AS\r\n", 5, "b= needs"),
    ("short m=", HEAD + "m=audio 9 UDP/TLS/RTP/SAVPF\r\n", 5, "m= needs"),
    ("bad m= port", HEAD + "m=audio 9x UDP/TLS/RTP/SAVPF 111\r\n", 5, "m= port must be"),
    (
        "m= port too big",
        HEAD + "m=audio 70000 UDP/TLS/RTP/SAVPF 111\r\n",
        5,
        "m= port must be 0..65535",
    ),
    (
        "RTP fmt not a number",
        HEAD + "m=audio 9 UDP/TLS/RTP/SAVPF opus\r\n",
        5,
        "payload type in m=",
    ),
    ("RTP fmt above 127", HEAD + "m=audio 9 UDP/TLS/RTP/SAVPF 128\r\n", 5, "payload type in m="),
    ("o= in media", HEAD + AUDIO + "o=- 1 1 IN IP4 0.0.0.0\r\n", 6, "session-level line"),
    ("duplicate mid", HEAD + AUDIO + "a=mid:0\r\n" + AUDIO + "a=mid:0\r\n", 8, "duplicate mid '0'"),
    ("mid twice in a section", HEAD + AUDIO + "a=mid:0\r\na=mid:1\r\n", 7, "a=mid appears twice"),
    ("empty mid", HEAD + AUDIO + "a=mid:\r\n", 6, "mid must be one non-empty word"),
    ("two directions", HEAD + AUDIO + "a=sendrecv\r\na=recvonly\r\n", 7, "more than one direction"),
    ("bad attribute name", HEAD + "a=:x\r\n", 5, "bad attribute name"),
    ("mid without value", HEAD + AUDIO + "a=mid\r\n", 6, "a=mid needs a value"),
    ("fingerprint bad hex", HEAD + "a=fingerprint:sha-256 ZZ:00\r\n", 5, "hex pairs"),
    ("fingerprint odd digit", HEAD + "a=fingerprint:sha-256 A:00\r\n", 5, "hex pairs"),
    (
        "fingerprint wrong length",
        HEAD + "a=fingerprint:sha-256 " + ":".join(["AB"] * 31) + "\r\n",
        5,
        "sha-256 fingerprint must be 32 bytes, got 31",
    ),
    ("fingerprint one field", HEAD + "a=fingerprint:sha-256\r\n", 5, "fingerprint needs"),
    ("bad setup", HEAD + "a=setup:client\r\n", 5, "setup must be one of"),
    ("bad ice-ufrag", HEAD + "a=ice-ufrag:ab:cd\r\n", 5, "ice-ufrag must be"),
    ("bad ice-pwd", HEAD + "a=ice-pwd:\r\n", 5, "ice-pwd must be"),
    ("bad candidate", HEAD + AUDIO + "a=candidate:1 1 udp x 1.2.3.4 5 typ host\r\n", 6, "priority"),
    ("short candidate", HEAD + AUDIO + "a=candidate:1 1 udp\r\n", 6, "at least 8 fields"),
    (
        "rtpmap PT not in fmt",
        HEAD + AUDIO + "a=rtpmap:96 opus/48000/2\r\n",
        6,
        "rtpmap for payload type 96 not in the m= line",
    ),
    ("rtpmap no clock", HEAD + AUDIO + "a=rtpmap:111 opus\r\n", 6, "rtpmap needs"),
    ("rtpmap bad clock", HEAD + AUDIO + "a=rtpmap:111 opus/fast\r\n", 6, "clock rate"),
    ("rtcp-fb no type", HEAD + AUDIO + "a=rtcp-fb:111\r\n", 6, "rtcp-fb needs"),
    (
        "bad sctp-port",
        HEAD + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:x\r\n",
        6,
        "sctp-port must be",
    ),
    (
        "bad max-message-size",
        HEAD + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=max-message-size:-1\r\n",
        6,
        "max-message-size must be",
    ),
    ("extmap id 0", HEAD + AUDIO + "a=extmap:0 urn:x\r\n", 6, "extmap id must be"),
    ("extmap bad direction", HEAD + AUDIO + "a=extmap:1/both urn:x\r\n", 6, "extmap direction"),
    ("bad ssrc", HEAD + AUDIO + "a=ssrc:4294967296 cname:x\r\n", 6, "ssrc-id must be"),
    ("bad ssrc-group", HEAD + AUDIO + "a=ssrc-group:FID 1 x\r\n", 6, "ssrc-id must be"),
    ("bad rid direction", HEAD + AUDIO + "a=rid:1 both\r\n", 6, "rid direction"),
    ("bad simulcast", HEAD + AUDIO + "a=simulcast:up 1;2\r\n", 6, "simulcast direction"),
    ("bad rtcp port", HEAD + AUDIO + "a=rtcp:x\r\n", 6, "rtcp port"),
    (
        "r= before t=",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nr=7d 1h 0 25h\r\n",
        4,
        "r= before any t=",
    ),
]


@pytest.mark.parametrize(
    ("text", "line_number", "message"),
    [case[1:] for case in BAD_CASES],
    ids=[case[0] for case in BAD_CASES],
)
def test_malformed_sdp_is_rejected_with_the_line(text: str, line_number: int, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        SessionDescription.parse(text)
    err = info.value
    assert isinstance(err, BaseParseError) and isinstance(err, ValueError)
    assert err.line_number == line_number
    if line_number:
        lines = text.split("\r\n")
        assert err.line == lines[line_number - 1]
        assert f"SDP line {line_number}:" in str(err)
        assert repr(err.line) in str(err)


def test_sdp_parse_error_names() -> None:
    assert sdp.SdpParseError is ParseError
    assert issubclass(ParseError, BaseParseError)
    with pytest.raises(TypeError):
        SessionDescription.parse(b"v=0")  # type: ignore[arg-type]


# ------------------------------------------------------------------- fuzz

VECTOR_TEXTS = [read(entry["file"]) for entry in INDEX]
VECTOR_LINES = sorted({line for text in VECTOR_TEXTS for line in text.split("\r\n") if line})


def _parse_or_parse_error(text: str) -> SessionDescription | None:
    try:
        desc = SessionDescription.parse(text)
    except ParseError:
        return None
    # Whatever parses writes out and parses back to the same model.
    again = SessionDescription.parse(desc.to_sdp())
    assert again == desc
    return desc


@given(st.text(alphabet=string.printable))
def test_fuzz_printable_text(text: str) -> None:
    _parse_or_parse_error(text)


@given(st.text(alphabet=string.printable, max_size=200))
def test_fuzz_after_a_valid_head(text: str) -> None:
    _parse_or_parse_error(HEAD + text)


@given(
    st.sampled_from(VECTOR_TEXTS),
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=400),
            st.sampled_from(["drop", "dup", "swap", "mutate", "insert"]),
            st.text(alphabet=string.printable, max_size=12),
            st.integers(min_value=0, max_value=200),
        ),
        max_size=4,
    ),
)
def test_fuzz_mutated_vector_lines(text: str, edits: list[tuple[int, str, str, int]]) -> None:
    lines = text.split("\r\n")
    for index, op, junk, pos in edits:
        i = index % len(lines)
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = pos % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "mutate":
            line = lines[i]
            p = pos % (len(line) + 1)
            lines[i] = line[:p] + junk + line[p + 1 :]
        else:
            lines.insert(i, VECTOR_LINES[pos % len(VECTOR_LINES)])
        if not lines:
            lines = [""]
    _parse_or_parse_error("\r\n".join(lines))


# ------------------------------------------------- random valid models

_words = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=10)
_ice = st.text(alphabet=string.ascii_letters + string.digits + "+/", min_size=4, max_size=24)
_hex_fp = st.binary(min_size=32, max_size=32).map(lambda d: Fingerprint.from_digest("sha-256", d))
_candidates = st.builds(
    lambda f, comp, prio, a, port, t: Candidate.from_sdp(
        f"{f} {comp} udp {prio} 192.0.2.{a} {port} typ {t}"
    ),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8),
    st.integers(1, 2),
    st.integers(1, 2**31 - 1),
    st.integers(0, 255),
    st.integers(0, 65535),
    st.sampled_from(["host", "srflx", "relay", "prflx"]),
)


@st.composite
def _media(draw: st.DrawFn, mid: str) -> MediaDescription:
    kind = draw(st.sampled_from(["audio", "video", "application"]))
    port = draw(st.integers(0, 65535))
    if kind == "application":
        m = MediaDescription(kind, port, "UDP/DTLS/SCTP", ["webrtc-datachannel"])
    else:
        m = MediaDescription(kind, port, "UDP/TLS/RTP/SAVPF", [])
    m.connections = [Connection("IN", "IP4", "0.0.0.0")]
    m.ice_ufrag = draw(_ice)
    m.ice_pwd = draw(_ice)
    m.fingerprints = draw(st.lists(_hex_fp, min_size=1, max_size=2))
    m.setup = draw(st.sampled_from(sdp.SETUP_VALUES))
    m.mid = mid
    if draw(st.booleans()):
        m.direction = draw(st.sampled_from(sdp.DIRECTIONS))
    for cand in draw(st.lists(_candidates, max_size=3)):
        m.add_candidate(cand)
    m.end_of_candidates = draw(st.booleans())
    if kind == "application":
        m.sctp_port = draw(st.integers(0, 65535))
        m.max_message_size = draw(st.integers(0, 2**32))
    else:
        m.rtcp_mux = draw(st.booleans())
        pts = draw(st.lists(st.integers(96, 127), min_size=1, max_size=4, unique=True))
        for pt in pts:
            params = draw(st.dictionaries(_words, st.one_of(st.none(), _words), max_size=3))
            fbs = draw(
                st.lists(st.builds(RtcpFeedback, _words, st.one_of(st.none(), _words)), max_size=2)
            )
            m.add_codec(Codec(pt, draw(_words), draw(st.integers(1, 96000)), None, params, fbs))
        for i, uri in enumerate(draw(st.lists(_words, max_size=3)), 1):
            m.add("extmap", Extmap(i, "urn:" + uri))
        if draw(st.booleans()):
            m.add("msid", sdp.Msid(draw(_words), draw(_words)))
        for ssrc in draw(st.lists(st.integers(0, 2**32 - 1), max_size=2)):
            m.add("ssrc", sdp.SsrcAttribute(ssrc, "cname", draw(_words)))
    for name, value in draw(st.lists(st.tuples(_words.map("x-".__add__), _words), max_size=2)):
        m.add(name, value)
    return m


@st.composite
def _sessions(draw: st.DrawFn) -> SessionDescription:
    desc = SessionDescription()
    desc.origin = Origin("-", draw(st.integers(0, 2**63 - 1)), draw(st.integers(0, 2**32)))
    mids = draw(st.lists(_words, max_size=4, unique=True))
    if mids:
        desc.add("group", sdp.Group("BUNDLE", tuple(mids)))
    desc.ice_options = draw(st.lists(st.sampled_from(["trickle", "ice2"]), max_size=2, unique=True))
    desc.extmap_allow_mixed = draw(st.booleans())
    desc.ice_lite = draw(st.booleans())
    desc.media = [draw(_media(mid)) for mid in mids]
    return desc


@given(_sessions())
def test_random_models_round_trip(desc: SessionDescription) -> None:
    text = str(desc)
    again = SessionDescription.parse(text)
    assert again == desc
    assert again.to_sdp() == text
    for ours, theirs in zip(desc.media, again.media, strict=True):
        assert ours.mid == theirs.mid
        assert ours.codecs == theirs.codecs
        assert ours.candidates == theirs.candidates
        assert ours.fingerprints == theirs.fingerprints
