"""rtcengine.jsep: offers and answers (RFC 8829) built over rtcengine.sdp,
checked against the browser and RFC 8829 vectors and against aiortc."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtcengine import jsep
from rtcengine.exceptions import InvalidAccessError, OperationError
from rtcengine.ice.candidate import Candidate
from rtcengine.sdp import Fingerprint, SessionDescription
from tests.vectors import path

FP = Fingerprint.from_digest("sha-256", bytes(range(32)))
TRANSPORT = jsep.LocalTransport("Ab3d", "p" * 22, [FP])


def read(name: str) -> SessionDescription:
    with open(path(f"sdp/{name}"), encoding="ascii", newline="") as f:
        return SessionDescription.parse(f.read())


CHROMIUM = "chromium120_offer_audio_video.sdp"
FIREFOX = "firefox121_offer_audio_video.sdp"
B2_OFFER = "rfc8829_7.2_offer_B2_simulcast_datachannel.sdp"


# ------------------------------------------------------------------ offers


def test_offer_session_part() -> None:
    offer = jsep.create_offer(TRANSPORT, 1234, 0)
    text = str(offer)
    assert text.startswith("v=0\r\no=- 1234 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
    assert [a.line() for a in offer.attributes] == [
        "a=group:BUNDLE 0",
        "a=extmap-allow-mixed",
        "a=msid-semantic:WMS *",
        "a=ice-options:trickle",
    ]
    assert SessionDescription.parse(text) == offer


def test_offer_application_section_has_what_chromium_writes() -> None:
    offer = jsep.create_offer(TRANSPORT, 1, 0)
    (m,) = offer.media
    assert m.lines() == [
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:Ab3d",
        "a=ice-pwd:" + "p" * 22,
        "a=ice-options:trickle",
        f"a=fingerprint:sha-256 {FP.value}",
        "a=setup:actpass",
        "a=mid:0",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
    ]
    # The transport attributes come in the order and form of Chromium's sections.
    chromium_audio = read(CHROMIUM).media[0]
    transport_names = ["ice-ufrag", "ice-pwd", "ice-options", "fingerprint", "setup", "mid"]
    ours = [a.name for a in m.attributes if a.name in transport_names]
    theirs = [a.name for a in chromium_audio.attributes if a.name in transport_names]
    assert ours == theirs
    assert str(m.connection) == str(chromium_audio.connection)


def test_offer_parses_with_aiortc() -> None:
    aiortc_sdp = pytest.importorskip("aiortc.sdp")
    offer = jsep.create_offer(TRANSPORT, jsep.new_session_id(), 0)
    theirs = aiortc_sdp.SessionDescription.parse(str(offer))
    (m,) = theirs.media
    assert (m.kind, m.rtp.muxId, m.sctp_port) == ("application", "0", 5000)
    assert m.sctpCapabilities.maxMessageSize == 262144
    assert (m.ice.usernameFragment, m.ice.password) == ("Ab3d", "p" * 22)
    assert m.dtls.role == "auto"
    assert [f.value for f in m.dtls.fingerprints] == [FP.value]
    assert [(g.semantic, g.items) for g in theirs.group] == [("BUNDLE", ["0"])]


def test_offer_with_candidates_and_bundle_only() -> None:
    cand = Candidate.from_sdp("candidate:1 1 udp 2113937151 192.0.2.1 50000 typ host")
    transport = jsep.LocalTransport("Ab3d", "p" * 22, [FP], candidates=[cand])
    transport.end_of_candidates = True
    previous = read(B2_OFFER)
    offer = jsep.create_offer(transport, 1, 1, previous=previous, bundle_only=True)
    assert [m.mid for m in offer.media] == ["a1", "d1", "v1", "v2"]
    assert [m.port for m in offer.media] == [0, 9, 0, 0]
    a1, d1, v1, _ = offer.media
    assert a1.rejected and a1.direction == "inactive" and v1.rejected
    assert d1.candidates == [cand] and d1.end_of_candidates
    assert offer.bundle_groups[0].mids == ("d1",)
    assert SessionDescription.parse(str(offer)) == offer


def test_later_offer_appends_a_data_section_with_a_fresh_mid() -> None:
    previous = read(CHROMIUM)  # mids 0 and 1, audio/video
    offer = jsep.create_offer(TRANSPORT, 1, 1, previous=previous)
    assert [(m.kind, m.mid, m.port) for m in offer.media] == [
        ("audio", "0", 0),
        ("video", "1", 0),
        ("application", "2", 9),
    ]
    assert offer.bundle_groups[0].mids == ("2",)


def test_bundle_only_offer_section_is_not_rejected() -> None:
    offer = jsep.create_offer(TRANSPORT, 1, 0)
    m = offer.media[0]
    m.port = 0
    m.bundle_only = True
    assert not m.rejected  # RFC 8843 §6: port 0 + bundle-only means bundled


# ----------------------------------------------------------------- answers


@pytest.mark.parametrize("name", [CHROMIUM, FIREFOX])
def test_answer_browser_audio_video_offer_rejects_both(name: str) -> None:
    offer = read(name)
    jsep.validate_remote_description(offer, "offer")
    answer = jsep.create_answer(offer, TRANSPORT, 99, 0)
    assert answer.type == "answer"
    assert len(answer.media) == len(offer.media)
    for ours, theirs in zip(answer.media, offer.media, strict=True):
        assert (ours.kind, ours.proto, ours.mid) == (theirs.kind, theirs.proto, theirs.mid)
        assert ours.port == 0 and ours.rejected
        assert ours.direction == "inactive"
        assert ours.fmt == theirs.fmt
        assert ours.candidates == []
    assert answer.bundle_groups == []  # RFC 8843 §7.3.3: rejected mids leave the group
    text = str(answer)
    assert SessionDescription.parse(text) == answer
    # The offerer can apply it: same m-lines, order, kinds and mids.
    jsep.validate_remote_description(answer, "answer", offer)


def test_answer_rfc8829_b2_accepts_only_the_data_channel() -> None:
    offer = read(B2_OFFER)
    jsep.validate_remote_description(offer, "offer")
    answer = jsep.create_answer(offer, TRANSPORT, 5, 0)
    a1, d1, v1, v2 = answer.media
    for m in (a1, v1, v2):
        assert m.rejected and m.port == 0 and m.direction == "inactive" and not m.bundle_only
    assert (d1.kind, d1.port, d1.proto, d1.fmt) == (
        "application",
        9,
        "UDP/DTLS/SCTP",
        ["webrtc-datachannel"],
    )
    assert d1.mid == "d1" and d1.setup == "active"  # actpass -> active (RFC 8842 §5.2)
    assert d1.sctp_port == 5000 and d1.max_message_size == 262144
    assert (d1.ice_ufrag, d1.ice_pwd, d1.fingerprints) == ("Ab3d", "p" * 22, [FP])
    assert [str(g) for g in answer.bundle_groups] == ["BUNDLE d1"]
    assert [g.semantics for g in answer.groups] == ["BUNDLE"]  # LS a1 v1: all rejected
    jsep.validate_remote_description(answer, "answer", offer)
    params = jsep.remote_parameters(answer)
    assert params.sctp == jsep.RemoteSctpParameters("d1", 5000, 262144)
    assert [t.mids for t in params.transports] == [["d1"]]
    assert jsep.dtls_role("actpass", d1.setup) == "server"


def test_answer_legacy_sctpmap_offer() -> None:
    offer = SessionDescription.parse(
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=application 9 DTLS/SCTP 5000\r\nc=IN IP4 0.0.0.0\r\n"
        "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n"
        f"a=fingerprint:sha-256 {FP.value}\r\na=setup:active\r\na=mid:data\r\n"
        "a=sctpmap:5000 webrtc-datachannel 1024\r\n"
    )
    answer = jsep.create_answer(offer, TRANSPORT, 1, 0)
    (m,) = answer.media
    assert (m.proto, m.fmt, m.setup) == ("DTLS/SCTP", ["5000"], "passive")
    assert m.get("sctpmap") is not None and m.get("sctp-port") is None
    assert jsep.remote_parameters(offer).sctp == jsep.RemoteSctpParameters(
        "data", 5000, 65536, legacy=True
    )


@pytest.mark.parametrize(
    ("offer_setup", "answer_setup"),
    [("actpass", "active"), ("active", "passive"), ("passive", "active"), (None, "passive")],
)
def test_answer_setup(offer_setup: str | None, answer_setup: str) -> None:
    assert jsep.answer_setup(offer_setup) == answer_setup


def test_dtls_roles() -> None:
    assert jsep.dtls_role("active", "actpass") == "client"
    assert jsep.dtls_role("passive", "actpass") == "server"
    assert jsep.dtls_role("actpass", "passive") == "client"
    assert jsep.dtls_role("actpass", "active") == "server"
    with pytest.raises(InvalidAccessError):
        jsep.dtls_role("actpass", "actpass")


# -------------------------------------------------------- remote parameters


def test_remote_parameters_firefox_inherits_session_fingerprint() -> None:
    params = jsep.remote_parameters(read(FIREFOX))
    (transport,) = params.transports
    assert transport.mids == ["0", "1"]
    assert transport.ice_ufrag == "6c0579ea"
    assert transport.fingerprints[0].value.startswith("75:4F:CA")  # RFC 8122 §5: session level
    assert transport.ice_options == ["trickle"]
    assert transport.setup == "actpass"
    assert params.sctp is None and params.bundle_groups == [["0", "1"]]


def test_remote_parameters_rfc8829_answer_bundled_sections_use_the_tag() -> None:
    # In RFC 8829's answer only the tagged section carries ICE/DTLS attributes.
    answer = read("rfc8829_7.2_answer_B2.sdp")
    offer = read(B2_OFFER)
    jsep.validate_remote_description(answer, "answer", offer)
    params = jsep.remote_parameters(answer)
    (transport,) = params.transports
    assert transport.mids == ["a1", "d1", "v1", "v2"]
    assert (transport.ice_ufrag, transport.setup) == ("ATEn", "passive")
    assert [c.type for c in transport.candidates] == ["host", "srflx", "relay"]
    assert transport.end_of_candidates
    assert params.transport_for("v2") is transport
    assert params.sctp == jsep.RemoteSctpParameters("d1", 5000, 65536)


def test_remote_parameters_drop_rtcp_component_candidates() -> None:
    params = jsep.remote_parameters(read("rfc8829_7.1_offer_A1.sdp"))
    (transport,) = params.transports
    assert {c.component for c in transport.candidates} == {1}
    assert len(transport.candidates) == 2  # one per section, both bundled


# --------------------------------------------------------------- validation


def _offer() -> SessionDescription:
    return jsep.create_offer(TRANSPORT, 1, 0)


def _answer_to(offer: SessionDescription) -> SessionDescription:
    return jsep.create_answer(offer, jsep.LocalTransport("Wxyz", "q" * 22, [FP]), 2, 0)


def test_validate_answer_needs_matching_m_lines() -> None:
    offer = read(B2_OFFER)
    answer = jsep.create_answer(offer, TRANSPORT, 1, 0)
    fewer = SessionDescription.parse(str(answer))
    del fewer.media[-1]
    with pytest.raises(InvalidAccessError, match="has 3 m-sections, the offer has 4"):
        jsep.validate_remote_description(fewer, "answer", offer)
    swapped = SessionDescription.parse(str(answer))
    swapped.media[0], swapped.media[1] = swapped.media[1], swapped.media[0]
    with pytest.raises(InvalidAccessError, match=r"m-section 0 \(application, mid 'd1'\)"):
        jsep.validate_remote_description(swapped, "answer", offer)
    renamed = SessionDescription.parse(str(answer))
    renamed.media[1].mid = "zz"
    with pytest.raises(InvalidAccessError, match="mid 'zz' where the offer has 'd1'"):
        jsep.validate_remote_description(renamed, "answer", offer)
    with pytest.raises(InvalidAccessError, match="without a local offer"):
        jsep.validate_remote_description(answer, "answer", None)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda m: m.remove("ice-ufrag"),
            r"m-section 0 \(application, mid '0'\) has no a=ice-ufrag",
        ),
        (lambda m: m.remove("ice-pwd"), "has no a=ice-pwd"),
        (lambda m: m.remove("fingerprint"), "has no a=fingerprint"),
        (lambda m: setattr(m, "ice_ufrag", "abc"), "ice-ufrag must be 4..256"),
        (lambda m: setattr(m, "ice_pwd", "short"), "ice-pwd must be 22..256"),
        (lambda m: setattr(m, "setup", "actpass"), "must not use a=setup:actpass"),
        (lambda m: m.remove("mid"), "has no a=mid"),
    ],
)
def test_validate_answer_content(edit: Any, message: str) -> None:
    offer = _offer()
    answer = _answer_to(offer)
    jsep.validate_remote_description(answer, "answer", offer)
    edit(answer.media[0])
    if not answer.media[0].mid:
        answer.remove("group")
        offer.media[0].remove("mid")
    with pytest.raises(InvalidAccessError, match=message):
        jsep.validate_remote_description(answer, "answer", offer)


def test_validate_bundle_groups() -> None:
    offer = read(FIREFOX)
    offer.set("group", "BUNDLE 0 1 7")
    with pytest.raises(InvalidAccessError, match="BUNDLE group names mid '7'"):
        jsep.validate_remote_description(offer, "offer")
    offer.set("group", "BUNDLE 0 1")
    offer.add("group", "BUNDLE 1")
    with pytest.raises(InvalidAccessError, match="mid '1' is in two BUNDLE groups"):
        jsep.validate_remote_description(offer, "offer")


def test_session_level_credentials_are_inherited() -> None:
    offer = _offer()
    m = offer.media[0]
    offer.ice_ufrag, offer.ice_pwd = m.ice_ufrag, m.ice_pwd
    offer.fingerprints = m.fingerprints
    m.remove("ice-ufrag")
    m.remove("ice-pwd")
    m.remove("fingerprint")
    jsep.validate_remote_description(offer, "offer")
    (transport,) = jsep.remote_parameters(offer).transports
    assert transport.ice_ufrag == "Ab3d" and transport.fingerprints == [FP]


# ------------------------------------------------------------- syntax errors


def test_syntax_error_is_an_operation_error_with_the_line() -> None:
    with pytest.raises(OperationError, match="line 2") as info:
        jsep.parse_description("v=0\r\nbogus\r\n")
    err = info.value
    assert isinstance(err, jsep.SdpSyntaxError)
    assert err.errorDetail == "sdp-syntax-error"
    assert err.sdpLineNumber == 2 and err.line == "bogus"


# ------------------------------------------------------------------ origin


def test_session_id_and_version() -> None:
    ids = {jsep.new_session_id() for _ in range(50)}
    assert len(ids) == 50 and all(0 <= i < 2**63 - 1 for i in ids)
    first = jsep.create_offer(TRANSPORT, 7, 0)
    assert jsep.next_session_version(None, first) == 0
    same = jsep.create_offer(TRANSPORT, 7, 5)
    assert jsep.next_session_version(first, same) == 0
    changed = jsep.create_offer(jsep.LocalTransport("Zzzz", "p" * 22, [FP]), 7, 0)
    assert jsep.next_session_version(first, changed) == 1


# ------------------------------------------------------- aiortc round trips


def test_aiortc_answers_our_offer_and_accepts_our_answer() -> None:
    aiortc = pytest.importorskip("aiortc")

    async def run() -> None:
        # aiortc answers our offer; we validate and read its answer.
        answerer = aiortc.RTCPeerConnection()
        offer = jsep.create_offer(TRANSPORT, jsep.new_session_id(), 0)
        await answerer.setRemoteDescription(
            aiortc.RTCSessionDescription(sdp=str(offer), type="offer")
        )
        reply = await answerer.createAnswer()
        answer = jsep.parse_description(reply.sdp)
        jsep.validate_remote_description(answer, "answer", offer)
        params = jsep.remote_parameters(answer)
        assert params.sctp is not None and params.sctp.port == 5000
        assert params.transports[0].setup == "active"
        assert jsep.dtls_role("actpass", params.transports[0].setup) == "server"
        # aiortc offers audio + a data channel; it accepts our answer.
        offerer = aiortc.RTCPeerConnection()
        offerer.createDataChannel("chat")
        offerer.addTransceiver("audio")
        await offerer.setLocalDescription(await offerer.createOffer())
        theirs = jsep.parse_description(offerer.localDescription.sdp)
        jsep.validate_remote_description(theirs, "offer")
        ours = jsep.create_answer(theirs, TRANSPORT, 1, 0)
        assert [m.rejected for m in ours.media] == [True, False]
        await offerer.setRemoteDescription(
            aiortc.RTCSessionDescription(sdp=str(ours), type="answer")
        )
        assert offerer.signalingState == "stable"
        await answerer.close()
        await offerer.close()

    asyncio.run(run())
