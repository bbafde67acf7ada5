"""SDP: parse and write the Chromium 120 offer, against aiortc.sdp on the same text."""

from __future__ import annotations

from pathlib import Path

from rtcengine._bench import Case
from rtcengine.sdp import SessionDescription

# A real browser offer (tests/data/vectors/sdp); an inline copy of its first
# lines is used when the test data is not installed.
_VECTOR = (
    Path(__file__).resolve().parents[2]
    / "tests"
    / "data"
    / "vectors"
    / "sdp"
    / "chromium120_offer_audio_video.sdp"
)


def _offer_text() -> str:
    if _VECTOR.exists():
        return _VECTOR.read_text(encoding="ascii").replace("\r\n", "\n").replace("\n", "\r\n")
    return (
        "v=0\r\no=- 7169721126327183323 3 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\nc=IN IP4 0.0.0.0\r\n"
        "a=ice-ufrag:nWnq\r\na=ice-pwd:DTdCVj00s9nGkNgWra0P30A2\r\na=ice-options:trickle\r\n"
        "a=fingerprint:sha-256 A4:67:3A:52:5C:D4:9C:65:45:9D:61:43:B2:EC:31:E8:42:4E:EC:54:"
        "C9:70:E3:89:28:94:3E:5C:3C:ED:FC:64\r\na=setup:actpass\r\na=mid:0\r\n"
        "a=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
        "a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    )


def cases() -> list[Case]:
    text = _offer_text()
    desc = SessionDescription.parse(text)
    parse = SessionDescription.parse
    out = [
        Case(
            name="SDP parse, Chromium 120 audio+video offer",
            ours=lambda: parse(text),
            bytes_per_op=len(text),
        ),
        Case(name="SDP write, Chromium 120 audio+video offer", ours=desc.to_sdp),
    ]
    try:
        from aiortc import sdp as aiortc_sdp

        out[0].baseline = lambda: aiortc_sdp.SessionDescription.parse(text)
        out[0].baseline_name = "aiortc.sdp"
    except ImportError:
        pass
    return out
