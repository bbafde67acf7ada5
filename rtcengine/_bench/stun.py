"""STUN: parse + integrity + fingerprint, build, demux and batch verify
against aioice (what aiortc uses) on the same bytes."""

from __future__ import annotations

import array

from rtcengine._bench import Case
from rtcengine._core import stun
from rtcengine._core.hmac import HmacKey

# An ICE connectivity check as browsers send it (RFC 8445 §7.1.1): USERNAME,
# PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT.
PASSWORD = b"VOkJxbRl1RmTxUk/WvJxBt"
TID = bytes.fromhex("b7e7a701bc34d686fa87dfae")
USERNAME = "evtj:h6vY"
PRIORITY = 1845494271
TIE_BREAKER = 0x932FF9B151263B36
BATCH = 64


def ice_request(tid: bytes = TID) -> stun.Message:
    return stun.Message(
        stun.BINDING,
        stun.REQUEST,
        tid,
        [
            (stun.ATTR_USERNAME, USERNAME),
            (stun.ATTR_PRIORITY, PRIORITY),
            (stun.ATTR_ICE_CONTROLLING, TIE_BREAKER),
            (stun.ATTR_USE_CANDIDATE, None),
        ],
    )


def cases() -> list[Case]:
    key = HmacKey(PASSWORD, "sha1")
    request = ice_request()
    data = request.marshal(integrity_key=key, fingerprint=True)
    msg = stun.Message.parse(data)

    def parse_verify() -> bool:
        # Re-parse into a reused object, then MESSAGE-INTEGRITY + FINGERPRINT.
        msg.parse_into(data)
        return msg.verify(key)

    def build() -> bytes:
        return request.marshal(integrity_key=key, fingerprint=True)

    is_stun = stun.is_stun

    def demux() -> bool:
        return is_stun(data)

    many = [
        ice_request(i.to_bytes(12, "big")).marshal(integrity_key=key, fingerprint=True)
        for i in range(BATCH)
    ]
    buf = b"".join(many)
    offsets = array.array("q", [sum(len(m) for m in many[:i]) for i in range(BATCH)])
    lengths = array.array("q", [len(m) for m in many])
    status = bytearray(BATCH)
    verify_batch = stun.verify_batch

    def batch() -> int:
        return verify_batch(buf, offsets, lengths, key, status)

    out = [
        Case(
            name="STUN parse + integrity + fingerprint (ICE binding request)",
            ours=parse_verify,
            bytes_per_op=len(data),
            target_ratio=15.0,
        ),
        Case(name="STUN build binding request with integrity + fingerprint", ours=build),
        Case(name="STUN is_stun demux check", ours=demux),
        Case(
            name=f"STUN verify_batch, {BATCH} ICE binding requests per call",
            ours=batch,
            ops_per_call=BATCH,
            bytes_per_op=len(data),
            note="C loop, no Python call per message; no aioice equivalent",
        ),
    ]
    try:
        import aioice.stun as astun
    except ImportError:
        return out

    def aioice_parse_verify() -> bool:
        # aioice checks FINGERPRINT inside parse_message (raises on mismatch).
        m = astun.parse_message(data)
        return m.check_message_integrity(PASSWORD)

    def aioice_build() -> bytes:
        m = astun.Message(
            astun.Method.BINDING,
            astun.Class.REQUEST,
            TID,
            {
                "USERNAME": USERNAME,
                "PRIORITY": PRIORITY,
                "ICE-CONTROLLING": TIE_BREAKER,
                "USE-CANDIDATE": None,
            },
        )
        m.add_message_integrity(PASSWORD)  # adds FINGERPRINT too
        return bytes(m)

    def aioice_demux() -> bool:
        # aioice's demux (aioice.ice.StunProtocol.datagram_received) tries a full parse.
        try:
            astun.parse_message(data)
            return True
        except ValueError:
            return False

    assert aioice_parse_verify() and aioice_build() == data
    for case, fn in zip(out, (aioice_parse_verify, aioice_build, aioice_demux), strict=False):
        case.baseline = fn
        case.baseline_name = "aioice"
    return out
