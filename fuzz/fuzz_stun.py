"""atheris target: STUN messages and TURN ChannelData (rtcengine._core.stun)."""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: make `fuzz` and `rtcengine` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine._core import stun
from rtcengine._core.hmac import HmacKey

KEY = HmacKey(b"VOkJxbRl1RmTxUk/WvJxBt", "sha1")
KEY256 = HmacKey(b"VOkJxbRl1RmTxUk/WvJxBt", "sha256")
MSG = stun.Message()


def TestOneInput(data: bytes) -> None:
    stun.is_stun(data)
    stun.is_channel_data(data)
    try:
        stun.ChannelData.parse(data)
    except stun.ParseError:
        pass
    try:
        MSG.parse_into(data)
    except stun.ParseError:
        return
    # Verification never raises: it answers True or False.
    assert MSG.check_integrity(KEY) in (True, False)
    assert MSG.check_integrity(KEY256) in (True, False)
    assert MSG.check_fingerprint() in (True, False)
    MSG.unknown_comprehension_required()
    raw = MSG.marshal()
    if MSG.ignored_attributes == 0:
        assert raw == data
    try:
        attrs = MSG.attributes  # decodes every value
    except stun.ParseError:
        return  # text attribute that is not UTF-8
    again = stun.Message.parse(MSG.marshal(integrity_key=KEY, fingerprint=True))
    assert again.check_integrity(KEY) and again.check_fingerprint()
    assert [a for a in again.attributes if a[0] not in (0x0008, 0x001C, 0x8028)] == [
        a for a in attrs if a[0] not in (0x0008, 0x001C, 0x8028)
    ]


def seeds() -> list[bytes]:
    from tests.vectors import load

    out = [bytes.fromhex(v["hex"]) for v in load("stun/rfc5769.json")["vectors"]]
    out += [bytes.fromhex(v["hex"]) for v in load("stun/rfc8489_b1_sha256.json")["vectors"]]
    out.append(stun.ChannelData(0x4001, b"hello").marshal(pad=True))
    return out


if __name__ == "__main__":
    from fuzz._harness import main

    main(TestOneInput, seeds(), sys.argv)
