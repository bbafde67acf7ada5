"""RTCSessionDescription: webrtc-pc §4.8.1 types, aiortc compatibility."""

from __future__ import annotations

import dataclasses
import json

import pytest

from rtcengine.rtcsessiondescription import (
    SDP_TYPES,
    InvalidSdpTypeError,
    RTCSdpType,
    RTCSessionDescription,
)

SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"


@pytest.mark.parametrize("sdp_type", ["offer", "pranswer", "answer", "rollback"])
def test_valid_types(sdp_type: str) -> None:
    desc = RTCSessionDescription(sdp=SDP, type=sdp_type)
    assert (desc.sdp, desc.type) == (SDP, sdp_type)
    assert desc.toJSON() == {"type": sdp_type, "sdp": SDP}
    assert RTCSessionDescription.from_init(desc.toJSON()) == desc


def test_positional_arguments_match_aiortc() -> None:
    # aiortc: RTCSessionDescription(sdp, type), a dataclass.
    desc = RTCSessionDescription(SDP, "offer")
    assert dataclasses.asdict(desc) == {"sdp": SDP, "type": "offer"}
    assert desc == RTCSessionDescription(sdp=SDP, type="offer")


@pytest.mark.parametrize("bad", ["", "Offer", "answer ", "provisional", None, 1])
def test_bad_type_is_a_type_error_and_a_value_error(bad: object) -> None:
    with pytest.raises(TypeError, match="'type' must be in"):
        RTCSessionDescription(sdp=SDP, type=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'type' must be in"):
        RTCSessionDescription(sdp=SDP, type=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidSdpTypeError):
        RTCSessionDescription(sdp=SDP, type=bad)  # type: ignore[arg-type]


def test_enum_type_is_stored_as_text() -> None:
    desc = RTCSessionDescription(sdp=SDP, type=RTCSdpType.answer)
    assert desc.type == "answer" and type(desc.type) is str
    assert json.dumps(desc.toJSON())
    assert {t.value for t in RTCSdpType} == SDP_TYPES


def test_sdp_must_be_text() -> None:
    with pytest.raises(TypeError, match="'sdp' must be a str"):
        RTCSessionDescription(sdp=b"v=0", type="offer")  # type: ignore[arg-type]
    assert RTCSessionDescription(sdp=None, type="rollback").sdp == ""  # type: ignore[arg-type]


def test_init_dictionary() -> None:
    assert RTCSessionDescription.from_init({"type": "rollback"}).sdp == ""
    with pytest.raises(TypeError, match="needs a 'type'"):
        RTCSessionDescription.from_init({"sdp": SDP})


def test_aiortc_accepts_ours_and_back() -> None:
    aiortc = pytest.importorskip("aiortc")
    ours = RTCSessionDescription(sdp=SDP, type="offer")
    theirs = aiortc.RTCSessionDescription(**dataclasses.asdict(ours))
    assert RTCSessionDescription(sdp=theirs.sdp, type=theirs.type) == ours
