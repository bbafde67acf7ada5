"""atheris target: SDP text (rtcengine.sdp) and the JSEP checks over it."""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: make `fuzz` and `rtcengine` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine import jsep, sdp
from rtcengine.exceptions import InvalidAccessError

TRANSPORT = jsep.LocalTransport(
    "Ab3d", "p" * 22, [sdp.Fingerprint.from_digest("sha-256", bytes(32))]
)


def TestOneInput(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        desc = sdp.SessionDescription.parse(text)
    except sdp.ParseError:
        return
    # What parses writes out and parses back to the same model.
    again = sdp.SessionDescription.parse(desc.to_sdp())
    assert again == desc
    for m in desc.media:
        m.codecs, m.candidates, m.rtx_apt, m.simulcast  # noqa: B018 (views must not raise)
    jsep.remote_parameters(desc)
    try:
        jsep.validate_remote_description(desc, "offer")
    except InvalidAccessError:
        return
    answer = jsep.create_answer(desc, TRANSPORT, 1, 0)
    jsep.validate_remote_description(sdp.SessionDescription.parse(str(answer)), "answer", desc)


def seeds() -> list[bytes]:
    from tests.vectors import VECTORS

    return [p.read_bytes() for p in sorted((VECTORS / "sdp").glob("*.sdp"))]


if __name__ == "__main__":
    from fuzz._harness import main

    main(TestOneInput, seeds(), sys.argv)
