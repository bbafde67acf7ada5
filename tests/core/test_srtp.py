"""SRTP/SRTCP: RFC 3711 Appendix B, RFC 7714 §16-17, RFC 5764 splits, and
differential tests against pylibsrtp (libsrtp) for every profile."""

from __future__ import annotations

import array
import random
import struct
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pylibsrtp import Error as LibsrtpError
from pylibsrtp import Policy, Session

from rtcengine._core import buffer, srtp
from rtcengine._core.srtp import (
    SrtpAuthError,
    SrtpError,
    SrtpParseError,
    SrtpProfile,
    SrtpReplayError,
    SrtpSession,
    SrtpStatus,
    SrtpStreamLimitError,
)
from tests.vectors import load

PROFILES = list(SrtpProfile)
LIBSRTP_PROFILE = {
    SrtpProfile.AES_CM_128_HMAC_SHA1_80: Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    SrtpProfile.AES_CM_128_HMAC_SHA1_32: Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    SrtpProfile.AEAD_AES_128_GCM: Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    SrtpProfile.AEAD_AES_256_GCM: Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
}

RFC3711 = load("srtp/rfc3711_appendix_b.json")
RFC7714 = load("srtp/rfc7714_aes_gcm.json")
KEYING = load("srtp/dtls_srtp_keying_material.json")


def master(profile: int, seed: int = 1) -> tuple[bytes, bytes]:
    rnd = random.Random(seed * 1000 + profile)
    return (
        rnd.randbytes(srtp.key_length(profile)),
        rnd.randbytes(srtp.salt_length(profile)),
    )


def libsrtp(
    profile: int, outbound: bool, seed: int = 1, window: int = 1024, repeat: bool = False
) -> Session:
    key, salt = master(profile, seed)
    policy = Policy(
        key=key + salt,
        ssrc_type=Policy.SSRC_ANY_OUTBOUND if outbound else Policy.SSRC_ANY_INBOUND,
        srtp_profile=LIBSRTP_PROFILE[SrtpProfile(profile)],
    )
    policy.window_size = window
    policy.allow_repeat_tx = repeat
    return Session(policy)


def ours(profile: int, seed: int = 1, **kw: object) -> SrtpSession:
    key, salt = master(profile, seed)
    return SrtpSession(profile, key, salt, **kw)  # type: ignore[arg-type]


def rtp(
    seq: int,
    payload: bytes = b"\xab" * 40,
    ssrc: int = 0x11223344,
    *,
    pt: int = 96,
    ts: int = 1234,
    csrcs: tuple[int, ...] = (),
    ext: bytes | None = None,
    ext_profile: int = 0xBEDE,
    padding: int = 0,
) -> bytes:
    """An RTP packet (RFC 3550 §5.1) with optional CSRCs, extension and padding."""
    b0 = 0x80 | len(csrcs) | (0x10 if ext is not None else 0) | (0x20 if padding else 0)
    out = struct.pack("!BBHII", b0, pt, seq & 0xFFFF, ts, ssrc)
    out += b"".join(struct.pack("!I", c) for c in csrcs)
    if ext is not None:
        assert len(ext) % 4 == 0
        out += struct.pack("!HH", ext_profile, len(ext) // 4) + ext
    out += payload
    if padding:
        out += bytes(padding - 1) + bytes([padding])
    return out


def rtcp_sr(ssrc: int = 0x11223344, extra: bytes = b"") -> bytes:
    """An RTCP sender report (RFC 3550 §6.4.1) with no report blocks (+ extra)."""
    body = struct.pack("!IIIII", 0x83AB_03A1, 0xEB02_B8C1, 1234, 5, 500) + extra
    return struct.pack("!BBHI", 0x80, 200, (len(body) + 4) // 4, ssrc) + body


# ------------------------------------------------------------------ profiles


def test_profile_constants_and_lengths() -> None:
    # RFC 5764 §4.1.2 and RFC 7714 §14.2 identifiers.
    assert [int(p) for p in PROFILES] == [0x0001, 0x0002, 0x0007, 0x0008]
    assert srtp.SRTP_AES128_CM_HMAC_SHA1_80 == 1
    assert srtp.SRTP_AEAD_AES_256_GCM == 8
    table = {
        p: (
            srtp.key_length(p),
            srtp.salt_length(p),
            srtp.tag_length(p),
            srtp.tag_length(p, rtcp=True),
        )
        for p in PROFILES
    }
    assert table == {
        SrtpProfile.AES_CM_128_HMAC_SHA1_80: (16, 14, 10, 10),
        SrtpProfile.AES_CM_128_HMAC_SHA1_32: (16, 14, 4, 10),  # SRTCP keeps 80 bits
        SrtpProfile.AEAD_AES_128_GCM: (16, 12, 16, 16),
        SrtpProfile.AEAD_AES_256_GCM: (32, 12, 16, 16),
    }
    with pytest.raises(ValueError, match="unsupported SRTP protection profile 0x0005"):
        srtp.key_length(5)


@pytest.mark.parametrize("vec", KEYING["profiles"], ids=lambda v: v["profile"])
def test_dtls_keying_material_split_and_example(vec: dict[str, object]) -> None:
    pid = int(str(vec["protection_profile_id"]), 16)
    material = bytes.fromhex(str(vec["example_keying_material_hex"]))
    assert srtp.keying_material_length(pid) == vec["exported_keying_material_length"]
    ck, cs, sk, ss = srtp.split_keying_material(pid, material)
    assert ck.hex() == vec["client_write_master_key"]
    assert cs.hex() == vec["client_write_master_salt"]
    assert sk.hex() == vec["server_write_master_key"]
    assert ss.hex() == vec["server_write_master_salt"]
    example = vec["example_client_protected_rtp"]
    assert isinstance(example, dict)
    plain = bytes.fromhex(example["plaintext"])
    protected = bytes.fromhex(example["protected_with_client_key_salt"])
    assert SrtpSession(pid, ck, cs).protect(plain) == protected
    assert SrtpSession(pid, ck, cs).unprotect(protected) == plain
    with pytest.raises(ValueError, match="must be"):
        srtp.split_keying_material(pid, material[:-1])


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="master key must be 16 bytes for this profile, got 15"):
        SrtpSession(1, bytes(15), bytes(14))
    with pytest.raises(ValueError, match="master salt must be 12 bytes for this profile, got 14"):
        SrtpSession(7, bytes(16), bytes(14))
    with pytest.raises(ValueError, match="replay_window must be 64..32768"):
        SrtpSession(1, bytes(16), bytes(14), replay_window=10)
    with pytest.raises(ValueError, match="max_streams"):
        SrtpSession(1, bytes(16), bytes(14), max_streams=0)
    with pytest.raises(TypeError):
        SrtpSession(1, "k" * 16, bytes(14))  # type: ignore[arg-type]
    s = SrtpSession(7, bytes(16), bytes(12))
    assert s.profile == 7 and s.replay_window == 1024 and s.max_streams == 1024
    assert s.rtp_overhead == 16 and s.rtcp_overhead == 20
    assert "AEAD_AES_128_GCM" in repr(s)
    with pytest.raises(RuntimeError, match="already keyed"):
        s.__init__(7, bytes(16), bytes(12))  # type: ignore[misc]
    assert srtp.ParseError is SrtpParseError
    assert issubclass(SrtpParseError, buffer.ParseError) and issubclass(SrtpParseError, ValueError)
    assert issubclass(SrtpAuthError, SrtpError) and issubclass(SrtpReplayError, SrtpError)


# ------------------------------------------------------- RFC 3711 Appendix B


@pytest.mark.parametrize(
    "block", RFC3711["b2_aes_cm_keystream"]["blocks"], ids=lambda b: str(b["block_number"])
)
def test_rfc3711_b2_keystream_blocks(block: dict[str, object]) -> None:
    b2 = RFC3711["b2_aes_cm_keystream"]
    key = bytes.fromhex(b2["session_key"])
    # Each block from its own counter value ...
    assert (
        srtp.aes_cm_keystream(key, bytes.fromhex(str(block["counter"])), 16).hex()
        == block["keystream"]
    )
    # ... and at its place in one keystream segment started at IV = k_s * 2^16.
    n = int(str(block["block_number"]))
    iv = bytes.fromhex(b2["session_salt_shifted_16"])
    assert srtp.aes_cm_keystream(key, iv, 16 * (n + 1))[16 * n :].hex() == block["keystream"]


def test_rfc3711_b3_key_derivation() -> None:
    b3 = RFC3711["b3_key_derivation"]
    keys = srtp.derive_session_keys(
        SrtpProfile.AES_CM_128_HMAC_SHA1_80,
        bytes.fromhex(b3["master_key"]),
        bytes.fromhex(b3["master_salt"]),
    )
    assert keys["srtp_key"].hex() == b3["cipher_key"]["output"]
    assert keys["srtp_salt"].hex() == b3["cipher_salt"]["output"]
    assert keys["srtp_auth_key"].hex() == b3["auth_key"]["output_first_20_octets_for_hmac_sha1"]
    # The SRTCP labels 0x03/0x04/0x05 (not printed in the RFC, cross-checked with libsrtp).
    srtcp = b3["derived_not_in_rfc_srtcp_keys"]
    assert keys["srtcp_key"].hex() == srtcp["srtcp_encryption_key"]
    assert keys["srtcp_auth_key"].hex() == srtcp["srtcp_auth_key_20"]
    assert keys["srtcp_salt"].hex() == srtcp["srtcp_salt_14"]
    # The full 94-octet auth key output is the PRF keystream for label 0x01.
    x = bytes.fromhex(b3["auth_key"]["aes_cm_input_first"])
    assert (
        srtp.aes_cm_keystream(bytes.fromhex(b3["master_key"]), x, 94).hex()
        == b3["auth_key"]["output_94_octets"]
    )


def test_gcm_kdf_zero_pads_the_96_bit_salt() -> None:
    # Findings 5: the 96-bit master salt is zero-padded to 112 bits for the KDF;
    # the derived keys must reproduce libsrtp's output, which
    # test_dtls_keying_material_split_and_example checks end to end.  Here: the
    # derivation equals AES-CM over salt || 0000 with the label at octet 7.
    key, salt = bytes(range(16)), bytes(range(32, 44))
    keys = srtp.derive_session_keys(SrtpProfile.AEAD_AES_128_GCM, key, salt)
    x = bytearray(salt + b"\0\0\0\0")
    x[7] ^= 0x02
    assert keys["srtp_salt"] == srtp.aes_cm_keystream(key, bytes(x), 12)
    assert keys["srtp_auth_key"] == b"" and keys["srtcp_auth_key"] == b""


# -------------------------------------------------------- RFC 7714 §16-17


@pytest.mark.parametrize("vec", RFC7714["vectors"], ids=lambda v: v["id"])
def test_rfc7714_vectors(vec: dict[str, object]) -> None:
    profile = (
        SrtpProfile.AEAD_AES_128_GCM if vec["key_bits"] == 128 else SrtpProfile.AEAD_AES_256_GCM
    )
    encrypt = vec["mode"] == "encrypt+tag"
    key, salt = bytes.fromhex(str(vec["key"])), bytes.fromhex(str(vec["salt"]))
    plain = bytes.fromhex(str(vec["plaintext_packet"]))
    protected = bytes.fromhex(str(vec["protected_packet"]))

    def make() -> SrtpSession:
        return SrtpSession._from_session_keys(
            profile, key, salt, encrypt_rtp=encrypt, encrypt_rtcp=encrypt
        )

    if vec["kind"] == "srtp":
        assert make().protect(plain) == protected
        assert make().unprotect(protected) == plain
    else:
        tx = make()
        tx._set_srtcp_index(int(str(vec["ssrc"]), 16), int(str(vec["srtcp_index"]), 16))
        assert tx.protect_rtcp(plain) == protected
        assert make().unprotect_rtcp(protected) == plain
    # One flipped tag bit: refused.
    bad = bytearray(protected)
    bad[-1 if vec["kind"] == "srtp" else -5] ^= 1
    with pytest.raises(SrtpAuthError):
        (make().unprotect if vec["kind"] == "srtp" else make().unprotect_rtcp)(bytes(bad))


# ------------------------------------------------ differential: pylibsrtp

csrc_lists = st.lists(st.integers(0, 2**32 - 1), max_size=15).map(tuple)
extensions = st.one_of(
    st.none(),
    st.integers(0, 20).flatmap(lambda w: st.binary(min_size=4 * w, max_size=4 * w)),
)
packets = st.tuples(
    st.binary(max_size=1100), csrc_lists, extensions, st.integers(0, 255), st.integers(0, 0xFFFF)
)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
@settings(max_examples=60)
@given(
    start=st.integers(0, 0xFFFF),
    ssrc=st.integers(0, 2**32 - 1),
    pkts=st.lists(packets, min_size=1, max_size=8),
)
def test_rtp_differential_both_directions(
    profile: SrtpProfile,
    start: int,
    ssrc: int,
    pkts: list[tuple[bytes, tuple[int, ...], bytes | None, int, int]],
) -> None:
    our_tx, our_rx = ours(profile), ours(profile)
    lib_tx, lib_rx = libsrtp(profile, True), libsrtp(profile, False)
    for i, (payload, csrcs, ext, padding, ext_profile) in enumerate(pkts):
        plain = rtp(
            start + i, payload, ssrc, csrcs=csrcs, ext=ext, ext_profile=ext_profile, padding=padding
        )
        protected = our_tx.protect(plain)
        assert protected == lib_tx.protect(plain)  # byte-identical to libsrtp
        assert len(protected) == len(plain) + srtp.tag_length(profile)
        assert lib_rx.unprotect(protected) == plain  # ours -> libsrtp
        assert our_rx.unprotect(protected) == plain  # libsrtp (same bytes) -> ours
    stats = our_rx.stats
    assert stats["rtp_unprotected"] == len(pkts)
    assert stats["streams"][0]["ssrc"] == ssrc and stats["streams"][0]["direction"] == "rx"


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
@settings(max_examples=40)
@given(
    ssrc=st.integers(0, 2**32 - 1),
    extras=st.lists(
        st.binary(max_size=300).map(lambda b: b[: len(b) // 4 * 4]), min_size=1, max_size=6
    ),
)
def test_rtcp_differential_both_directions(
    profile: SrtpProfile, ssrc: int, extras: list[bytes]
) -> None:
    our_tx, our_rx = ours(profile), ours(profile)
    lib_tx, lib_rx = libsrtp(profile, True), libsrtp(profile, False)
    # RFC 3711 §3.3.2 starts the SRTCP index at 0, libsrtp at 1 (Findings 5):
    # one extra packet aligns the two so the bytes can be compared.
    lib_rx.unprotect_rtcp(our_tx.protect_rtcp(rtcp_sr(ssrc)))
    for extra in extras:
        plain = rtcp_sr(ssrc, extra)
        mine, theirs = our_tx.protect_rtcp(plain), lib_tx.protect_rtcp(plain)
        assert mine == theirs
        assert len(mine) == len(plain) + 4 + srtp.tag_length(profile, rtcp=True)
        assert lib_rx.unprotect_rtcp(mine) == plain
        assert our_rx.unprotect_rtcp(theirs) == plain
    assert our_tx.stats["streams"][0]["srtcp_index"] == len(extras) + 1


def _shuffle_nearby(items: list[bytes], rnd: random.Random, span: int) -> list[bytes]:
    """Reorder within windows of ``span`` packets (network reordering)."""
    out = list(items)
    for i in range(0, len(out), span):
        chunk = out[i : i + span]
        rnd.shuffle(chunk)
        out[i : i + span] = chunk
    return out


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_rollover_with_reordering_both_directions(profile: SrtpProfile) -> None:
    rnd = random.Random(profile)
    seqs = [(65400 + i) & 0xFFFF for i in range(400)]  # wraps 65535 -> 0 once
    plains = [rtp(s, rnd.randbytes(rnd.randrange(0, 200))) for s in seqs]
    # Ours protects (ROC 0 -> 1), libsrtp receives reordered across the wrap.
    our_tx, lib_rx = ours(profile), libsrtp(profile, False)
    prot = [our_tx.protect(p) for p in plains]
    assert our_tx.stats["streams"][0]["roc"] == 1
    back = {lib_rx.unprotect(p) for p in _shuffle_nearby(prot, rnd, 16)}
    assert back == set(plains)
    # libsrtp protects, ours receives reordered.
    lib_tx, our_rx = libsrtp(profile, True), ours(profile)
    prot2 = [lib_tx.protect(p) for p in plains]
    assert prot2 == prot
    back = {our_rx.unprotect(p) for p in _shuffle_nearby(prot2, rnd, 16)}
    assert back == set(plains)
    assert our_rx.stats["streams"][0]["roc"] == 1
    # A late packet from before the wrap, after the wrap was seen: ROC - 1.
    our_rx2 = ours(profile)
    order = prot2[:130] + prot2[140:200] + prot2[130:140]  # 65530..65535 arrive after 0..59
    assert [our_rx2.unprotect(p) for p in order] == plains[:130] + plains[140:200] + plains[130:140]


@pytest.mark.parametrize(
    "profile",
    [SrtpProfile.AES_CM_128_HMAC_SHA1_80, SrtpProfile.AEAD_AES_128_GCM],
    ids=lambda p: p.name,
)
def test_several_rollovers(profile: SrtpProfile) -> None:
    tx, rx, lib_rx = ours(profile), ours(profile), libsrtp(profile, False)
    seq = 60000
    for _ in range(300):  # steps of 1000 (< 2^15): ROC estimation stays exact
        seq += 1000
        plain = rtp(seq)
        p = tx.protect(plain)
        assert rx.unprotect(p) == plain
        assert lib_rx.unprotect(p) == plain
    assert tx.stats["streams"][0]["roc"] == rx.stats["streams"][0]["roc"] == (seq >> 16)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_replay_decisions_match_libsrtp(profile: SrtpProfile) -> None:
    rnd = random.Random(7 + profile)
    lib_tx = libsrtp(profile, True)
    prot = [lib_tx.protect(rtp(65300 + i)) for i in range(500)]
    deliveries = [rnd.randrange(len(prot)) for _ in range(1500)]
    # Mostly forward, reordered, with repeats.
    deliveries.sort(key=lambda i: i + rnd.randrange(-150, 150))
    mine, lib_rx = ours(profile, replay_window=128), libsrtp(profile, False, window=128)
    for i in deliveries:
        try:
            mine.unprotect(prot[i])
            got = "ok"
        except SrtpReplayError as e:
            got = e.status.name
        try:
            lib_rx.unprotect(prot[i])
            want = "ok"
        except LibsrtpError as e:
            want = {
                "replay check failed (bad index)": "REPLAY_DUP",
                "replay check failed (index too old)": "REPLAY_OLD",
            }[str(e)]
        assert got == want, i
    s = mine.stats
    assert s["replay_dup"] + s["replay_old"] + s["rtp_unprotected"] == len(deliveries)


# ----------------------------------------------------- replay and repeat tx


def test_replay_duplicate_and_too_old() -> None:
    tx, rx = ours(1), ours(1, replay_window=64)
    prot = {s: tx.protect(rtp(s)) for s in range(1000, 1100)}
    rx.unprotect(prot[1090])
    with pytest.raises(
        SrtpReplayError,
        match=r"SRTP packet replayed: index already used \(SSRC 0x11223344, seq 1090\)",
    ) as ei:
        rx.unprotect(prot[1090])
    assert ei.value.status == SrtpStatus.REPLAY_DUP
    with pytest.raises(
        SrtpReplayError, match="too old: index left of the 64-packet replay window"
    ) as ei:
        rx.unprotect(prot[1090 - 64])
    assert ei.value.status == SrtpStatus.REPLAY_OLD
    assert rx.unprotect(prot[1090 - 63]) == rtp(1090 - 63)  # inside the window, unseen
    s = rx.stats
    assert (s["replay_dup"], s["replay_old"], s["rtp_unprotected"]) == (1, 1, 2)


def test_srtcp_replay() -> None:
    tx, rx = ours(7), ours(7)
    a, b = tx.protect_rtcp(rtcp_sr()), tx.protect_rtcp(rtcp_sr())
    rx.unprotect_rtcp(b)
    rx.unprotect_rtcp(a)  # reordered: fine
    with pytest.raises(SrtpReplayError, match="SRTCP packet replayed"):
        rx.unprotect_rtcp(a)
    assert rx.stats["replay_dup"] == 1


def test_allow_repeat_tx() -> None:
    plain = rtp(5)
    tx = ours(1)
    first = tx.protect(plain)
    with pytest.raises(SrtpReplayError, match="RTP packet replayed"):
        tx.protect(plain)  # RFC 3711 §3.3.2: an index is not reused by default
    rtx = ours(1, allow_repeat_tx=True)
    assert rtx.protect(plain) == first
    assert rtx.protect(plain) == first  # a NACK resend: same index, same bytes
    rtx.allow_repeat_tx = False
    with pytest.raises(SrtpReplayError):
        rtx.protect(plain)
    # A resend still older than the window is refused even with allow_repeat_tx.
    old = ours(1, allow_repeat_tx=True, replay_window=64)
    old.protect(rtp(100))
    old.protect(rtp(300))
    with pytest.raises(SrtpReplayError, match="too old"):
        old.protect(rtp(100))
    lib_rx = libsrtp(1, False)
    assert lib_rx.unprotect(first) == plain


# --------------------------------------------------- tampering and parsing


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_bit_flips_rejected(profile: SrtpProfile) -> None:
    tx, rx = ours(profile), ours(profile)
    plain = rtp(77, bytes(range(60)), csrcs=(1, 2), ext=b"\x10\xaa\x00\x00")
    prot = tx.protect(plain)
    for pos in range(len(prot)):
        for bit in (0, 3, 7) if pos else range(8):
            bad = bytearray(prot)
            bad[pos] ^= 1 << bit
            # Byte 0 (version/CC/X) and the extension length (octets 22-23
            # after two CSRCs) shape the header: a flip there may break it.
            expected: type[SrtpError] | tuple[type[SrtpError], ...] = (
                (SrtpAuthError, SrtpParseError) if pos in (0, 22, 23) else SrtpAuthError
            )
            with pytest.raises(expected):
                rx.unprotect(bytes(bad))
    assert rx.unprotect(prot) == plain  # failures left no state behind
    assert rx.stats["auth_fail"] + rx.stats["bad_packet"] == 8 + 3 * (len(prot) - 1)

    rtcp_prot = tx.protect_rtcp(rtcp_sr(extra=b"abcd" * 4))
    for pos in range(len(rtcp_prot)):
        bad = bytearray(rtcp_prot)
        bad[pos] ^= 0x80 if pos else 0x40
        with pytest.raises((SrtpAuthError, SrtpParseError)):
            rx.unprotect_rtcp(bytes(bad))
    assert rx.unprotect_rtcp(rtcp_prot) == rtcp_sr(extra=b"abcd" * 4)


NEGATIVE_SRTP = [
    ("empty", b"", r"SRTP packet too short: need 22 bytes, have 0"),
    ("short", rtp(1)[:5], r"SRTP packet too short: need 22 bytes, have 5"),
    ("version 1", b"\x40" + rtp(1)[1:] + bytes(10), r"RTP version must be 2, got 1"),
    ("version 0", bytes(30), r"RTP version must be 2, got 0"),
    (
        "CSRCs past the end",
        b"\x8f" + rtp(1)[1:] + bytes(10),
        r"RTP header \(with CSRCs and extension\) too short: need 72 bytes, have 52",
    ),
    (
        "extension header past the end",
        b"\x90" + rtp(1, b"")[1:] + bytes(10),
        r"RTP header \(with CSRCs and extension\) too short: need 16 bytes, have 12",
    ),
    (
        "extension body past the end",
        rtp(1, b"", ext=b"")[:-2] + b"\x00\x09" + bytes(10),
        r"RTP header \(with CSRCs and extension\) too short: need 52 bytes, have 16",
    ),
]


@pytest.mark.parametrize(
    ("name", "data", "message"), NEGATIVE_SRTP, ids=[c[0] for c in NEGATIVE_SRTP]
)
def test_unprotect_negative_cases(name: str, data: bytes, message: str) -> None:
    rx = ours(1)
    with pytest.raises(SrtpParseError, match=message):
        rx.unprotect(data)
    assert rx.stats["bad_packet"] == 1


def test_protect_negative_cases() -> None:
    tx = ours(7)
    with pytest.raises(SrtpParseError, match="RTP packet too short: need 12 bytes, have 11"):
        tx.protect(rtp(1)[:11])
    with pytest.raises(SrtpParseError, match="RTP version must be 2, got 3"):
        tx.protect(b"\xc0" + rtp(1)[1:])
    with pytest.raises(SrtpParseError, match="RTCP packet too short: need 8 bytes, have 4"):
        tx.protect_rtcp(rtcp_sr()[:4])
    with pytest.raises(SrtpParseError, match="RTCP version must be 2, got 1"):
        tx.protect_rtcp(b"\x40" + rtcp_sr()[1:])
    with pytest.raises(SrtpParseError, match="RTP packet too long"):
        tx.protect(rtp(1, bytes(1 << 20)))
    with pytest.raises(TypeError):
        tx.protect("not bytes")  # type: ignore[arg-type]
    assert tx.stats["bad_packet"] == 5


def test_srtcp_negative_cases() -> None:
    rx = ours(1)
    with pytest.raises(SrtpParseError, match="SRTCP packet too short: need 22 bytes, have 21"):
        rx.unprotect_rtcp(bytes(21))
    # E = 0 (unencrypted SRTCP) on a session that encrypts RTCP: refused, as libsrtp does.
    prot = bytearray(ours(1).protect_rtcp(rtcp_sr()))
    prot[-14] &= 0x7F
    with pytest.raises(SrtpParseError, match="SRTCP E flag is 0 but this session encrypts RTCP"):
        rx.unprotect_rtcp(bytes(prot))


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_truncated_packets_refused(profile: SrtpProfile) -> None:
    tx, rx = ours(profile), ours(profile)
    prot = tx.protect(rtp(9, bytes(50)))
    rprot = tx.protect_rtcp(rtcp_sr())
    for n in range(len(prot)):
        with pytest.raises((SrtpParseError, SrtpAuthError)):
            rx.unprotect(prot[:n])
    for n in range(len(rprot)):
        with pytest.raises((SrtpParseError, SrtpAuthError)):
            rx.unprotect_rtcp(rprot[:n])
    s = rx.stats
    assert s["bad_packet"] + s["auth_fail"] == len(prot) + len(rprot)
    assert rx.unprotect(prot) == rtp(9, bytes(50))


@settings(max_examples=300)
@given(st.sampled_from(PROFILES), st.binary(max_size=120))
def test_fuzz_unprotect_random_bytes(profile: SrtpProfile, data: bytes) -> None:
    rx = ours(profile)
    for fn in (rx.unprotect, rx.unprotect_rtcp):
        try:
            fn(data)
        except SrtpError:
            pass


_FUZZ_BASE = {
    p: (
        ours(p).protect(rtp(3, bytes(40), csrcs=(5,), ext=b"\x10\x01\x00\x00")),
        ours(p).protect_rtcp(rtcp_sr()),
    )
    for p in PROFILES
}


@settings(max_examples=300)
@given(
    st.sampled_from(PROFILES),
    st.booleans(),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=4),
    st.integers(0, 200),
)
def test_fuzz_unprotect_mutated(
    profile: SrtpProfile, rtcp: bool, edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(_FUZZ_BASE[profile][rtcp])
    for pos, val in edits:
        if pos < len(data):
            data[pos] = val
    data = data[: max(cut, len(data) - cut)]
    rx = ours(profile)
    try:
        (rx.unprotect_rtcp if rtcp else rx.unprotect)(bytes(data))
    except SrtpError:
        pass


# --------------------------------------------------------------- streams


def test_stream_limit_and_remove() -> None:
    tx, rx = ours(1, max_streams=2), ours(1, max_streams=2)
    p1, p2 = tx.protect(rtp(1, ssrc=1)), tx.protect(rtp(1, ssrc=2))
    with pytest.raises(SrtpStreamLimitError, match="max_streams=2"):
        tx.protect(rtp(1, ssrc=3))
    rx.unprotect(p1)
    rx.unprotect(p2)
    p3 = ours(1).protect(rtp(1, ssrc=3))
    with pytest.raises(SrtpStreamLimitError):
        rx.unprotect(p3)  # authentic, but one SSRC too many
    assert rx.stats["stream_limit"] == 1 and tx.stats["stream_limit"] == 1
    assert rx.remove_stream(1) and not rx.remove_stream(99)
    assert rx.unprotect(p3) == rtp(1, ssrc=3)
    assert {s["ssrc"] for s in rx.stats["streams"]} == {2, 3}


def test_forged_ssrcs_do_not_create_streams() -> None:
    rx = ours(7, max_streams=4)
    for ssrc in range(100):
        with pytest.raises(SrtpAuthError):
            rx.unprotect(rtp(1, ssrc=ssrc) + bytes(16))
    assert rx.stats["streams"] == [] and rx.stats["auth_fail"] == 100


def test_many_streams_grow_and_remove() -> None:
    rnd = random.Random(3)
    ssrcs = rnd.sample(range(2**32), 600)
    tx, rx = ours(1, max_streams=1000), ours(1, max_streams=1000)
    prot = {s: tx.protect(rtp(10, ssrc=s)) for s in ssrcs}
    for s in ssrcs:
        rx.unprotect(prot[s])
    assert len(rx.stats["streams"]) == 600
    gone = set(ssrcs[::2])
    for s in gone:
        assert rx.remove_stream(s)
    for s in ssrcs:  # the others are still found: their replay state blocks a replay
        if s in gone:
            assert rx.unprotect(prot[s]) == rtp(10, ssrc=s)
        else:
            with pytest.raises(SrtpReplayError):
                rx.unprotect(prot[s])
    assert len(rx.stats["streams"]) == 600


def test_stats_per_ssrc() -> None:
    tx, rx = ours(7), ours(7)
    for i in range(3):
        rx.unprotect(tx.protect(rtp(i, bytes(100), ssrc=5)))
    rx.unprotect_rtcp(tx.protect_rtcp(rtcp_sr(ssrc=5)))
    s = rx.stats["streams"][0]
    assert (s["ssrc"], s["direction"], s["rtp_packets"], s["rtp_bytes"]) == (5, "rx", 3, 3 * 112)
    assert (s["rtcp_packets"], s["rtcp_bytes"]) == (1, len(rtcp_sr()))
    t = tx.stats
    assert (t["rtp_protected"], t["rtcp_protected"]) == (3, 1)
    assert t["streams"][0]["srtcp_index"] == 1


# ----------------------------------------------------------------- batch

SLOT = 1300


def _fill(plains: list[bytes]) -> tuple[bytearray, array.array[int], array.array[int]]:
    buf = bytearray(SLOT * len(plains))
    for i, p in enumerate(plains):
        buf[i * SLOT : i * SLOT + len(p)] = p
    offs = array.array("i", [i * SLOT for i in range(len(plains))])
    lens = array.array("i", [len(p) for p in plains])
    return buf, offs, lens


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_batch_equals_per_call(profile: SrtpProfile) -> None:
    rnd = random.Random(profile)
    plains = [
        rtp(40000 + i, rnd.randbytes(rnd.randrange(0, 1200)), ssrc=1 + i % 3) for i in range(64)
    ]
    buf, offs, lens = _fill(plains)
    out_len = array.array("i", [0] * 64)
    status = array.array("B", [255] * 64)
    assert ours(profile).protect_batch(buf, offs, lens, out_len, status) == 64
    per_call = ours(profile)
    expect = [per_call.protect(p) for p in plains]
    assert list(status) == [0] * 64
    assert [bytes(buf[o : o + n]) for o, n in zip(offs, out_len, strict=True)] == expect
    # Unprotect in place, with numpy arrays this time.
    rx = ours(profile)
    n_out = np.zeros(64, dtype=np.int64)
    n_st = np.zeros(64, dtype=np.uint8)
    assert (
        rx.unprotect_batch(buf, np.asarray(offs, dtype=np.uint32), np.asarray(out_len), n_out, n_st)
        == 64
    )
    assert [bytes(buf[o : o + n]) for o, n in zip(offs, n_out, strict=True)] == plains
    # A second pass is all replays; statuses say so, nothing raises.
    assert rx.unprotect_batch(bytearray(SLOT * 64), offs, out_len, n_out, n_st) < 64
    assert rx.stats["rtp_unprotected"] == 64


def test_batch_statuses() -> None:
    # A good one, a bad one, a good one, one with no room left for the tag.
    plains = [rtp(1), b"\x00" * 5, rtp(2), rtp(3, bytes(SLOT - 12 - 8))]
    buf, offs, lens = _fill(plains)
    out_len = array.array("q", [9] * 4)
    status = array.array("b", [9] * 4)
    tx = ours(1)
    assert tx.protect_batch(buf, offs, lens, out_len, status) == 2
    assert [SrtpStatus(s) for s in status] == [
        SrtpStatus.OK,
        SrtpStatus.BAD_PACKET,
        SrtpStatus.OK,
        SrtpStatus.NO_ROOM,
    ]
    assert list(out_len) == [len(plains[0]) + 10, 0, len(plains[2]) + 10, 0]
    assert tx.stats["bad_packet"] == 1 and tx.stats["no_room"] == 1
    # Offsets/lengths outside the buffer are refused per packet, not by a crash.
    status2 = array.array("B", [0] * 3)
    assert (
        tx.protect_batch(
            buf,
            array.array("q", [-1, len(buf), 0]),
            array.array("q", [10, 1, len(buf) + 1]),
            array.array("I", [0] * 3),
            status2,
        )
        == 0
    )
    assert list(status2) == [SrtpStatus.BAD_PACKET] * 3
    # Tampered packets in a batch: AUTH_FAIL for those only.
    tx2, rx = ours(7), ours(7)
    prot = [tx2.protect(rtp(i)) for i in range(4)]
    prot[2] = prot[2][:-1] + bytes([prot[2][-1] ^ 1])
    buf, offs, lens = _fill(prot)
    st_ = array.array("B", [0] * 4)
    assert rx.unprotect_batch(buf, offs, lens, array.array("i", [0] * 4), st_) == 3
    assert list(st_) == [0, 0, SrtpStatus.AUTH_FAIL, 0]
    with pytest.raises(ValueError, match="same length"):
        rx.unprotect_batch(buf, offs, lens, array.array("i", [0] * 3), st_)
    with pytest.raises(
        TypeError, match="out_lengths must be a 1-D native integer array of at least 32 bits"
    ):
        rx.unprotect_batch(buf, offs, lens, array.array("h", [0] * 4), st_)
    with pytest.raises(TypeError, match="offsets"):
        rx.unprotect_batch(buf, array.array("d", [0.0] * 4), lens, array.array("i", [0] * 4), st_)
    with pytest.raises((TypeError, BufferError)):
        rx.unprotect_batch(bytes(buf), offs, lens, array.array("i", [0] * 4), st_)


def test_rtcp_batch() -> None:
    plains = [rtcp_sr(ssrc=9, extra=bytes(4 * i)) for i in range(10)]
    buf, offs, lens = _fill(plains)
    out_len, status = array.array("i", [0] * 10), array.array("B", [0] * 10)
    tx = ours(2)
    assert tx.protect_rtcp_batch(buf, offs, lens, out_len, status) == 10
    lib_rx = libsrtp(2, False)
    assert [
        lib_rx.unprotect_rtcp(bytes(buf[o : o + n])) for o, n in zip(offs, out_len, strict=True)
    ] == plains
    rx = ours(2)
    assert rx.unprotect_rtcp_batch(buf, offs, out_len, array.array("i", [0] * 10), status) == 10
    assert [bytes(buf[o : o + len(p)]) for o, p in zip(offs, plains, strict=True)] == plains


def _retained(fn: Callable[[], object], n: int) -> int:
    for _ in range(200):
        fn()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(n):
        fn()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return grown


@pytest.mark.parametrize(
    "profile",
    [SrtpProfile.AES_CM_128_HMAC_SHA1_80, SrtpProfile.AEAD_AES_128_GCM],
    ids=lambda p: p.name,
)
def test_no_allocation_in_steady_state(profile: SrtpProfile) -> None:
    plains = [rtp(i, bytes(200)) for i in range(16)]
    buf, offs, lens = _fill(plains)
    out_len = array.array("i", [0] * 16)
    status = array.array("B", [0] * 16)
    tx, rx = ours(profile, allow_repeat_tx=True), ours(profile)
    tx_lens = array.array("i", lens)

    def round_trip() -> None:
        # Protect and unprotect in place: the buffer holds plaintext again
        # afterwards.  The receiver sees repeats (REPLAY_DUP) after round one:
        # a steady state that still walks the whole per-packet path.
        tx.protect_batch(buf, offs, tx_lens, out_len, status)
        rx.unprotect_batch(buf, offs, out_len, out_len, status)
        for i in range(16):
            out_len[i] = lens[i]

    assert _retained(round_trip, 2000) < 1024
    pkt = plains[0]
    assert _retained(lambda: tx.protect(pkt), 10000) < 1024
    rx2 = ours(profile)
    prot = [ours(profile).protect(rtp(i, bytes(100))) for i in range(2)]

    def failing() -> None:
        try:
            rx2.unprotect(prot[0])
        except SrtpReplayError:
            pass

    rx2.unprotect(prot[0])
    assert _retained(failing, 2000) < 4096


def test_batch_fresh_sequence_numbers_no_allocation() -> None:
    # Like a relay: new sequence numbers every round, every packet accepted.
    n = 32
    plains = [rtp(i, bytes(300)) for i in range(n)]
    buf, offs, lens = _fill(plains)
    out_len = array.array("i", [0] * n)
    out_len2 = array.array("i", [0] * n)
    status = array.array("B", [0] * n)
    status2 = array.array("B", [0] * n)
    tx, rx = ours(7), ours(7)
    view = memoryview(buf)
    seq = [0]

    def one_round() -> None:
        for i in range(n):
            view[i * SLOT + 2] = (seq[0] >> 8) & 0xFF
            view[i * SLOT + 3] = seq[0] & 0xFF
            seq[0] = (seq[0] + 1) & 0xFFFF
        tx.protect_batch(buf, offs, lens, out_len, status)
        rx.unprotect_batch(buf, offs, out_len, out_len2, status2)

    assert _retained(one_round, 1500) < 1024
    assert rx.stats["rtp_unprotected"] == (200 + 1500) * n
    assert rx.stats["auth_fail"] == rx.stats["replay_dup"] == 0


def test_batch_in_a_thread_refuses_concurrent_calls() -> None:
    import threading

    n = 4000
    plains = [rtp(i, bytes(1200)) for i in range(n)]
    buf, offs, lens = _fill(plains)
    out_len, status = array.array("i", [0] * n), array.array("B", [0] * n)
    tx = ours(7)
    done: list[int] = []
    worker = threading.Thread(
        target=lambda: done.append(tx.protect_batch(buf, offs, lens, out_len, status))
    )
    worker.start()
    refused = 0
    while worker.is_alive():
        try:
            tx.protect(rtp(50000, ssrc=0x99))
            tx.stats  # noqa: B018
        except RuntimeError as e:
            assert "in use by a batch call" in str(e)
            refused += 1
        except SrtpReplayError:
            pass
    worker.join()
    assert done == [n] and set(status) == {0}
    rx = ours(7)
    assert all(
        rx.unprotect(bytes(buf[o : o + k])) == p
        for o, k, p in zip(offs, out_len, plains, strict=True)
    )


def test_srtcp_index_exhaustion() -> None:
    # RFC 3711 §3.3.2: the 31-bit SRTCP index must not wrap; re-key instead.
    tx, rx = ours(1), ours(1)
    tx._set_srtcp_index(0x11223344, 0x7FFFFFFF)
    last = tx.protect_rtcp(rtcp_sr())
    assert last[-14:-10] == b"\xff\xff\xff\xff"  # E = 1, index 2^31 - 1
    assert rx.unprotect_rtcp(last) == rtcp_sr()
    assert libsrtp(1, False).unprotect_rtcp(last) == rtcp_sr()
    with pytest.raises(SrtpError, match="SRTCP index exhausted") as ei:
        tx.protect_rtcp(rtcp_sr())
    assert ei.value.status == SrtpStatus.INDEX_EXHAUSTED
    assert tx.stats["index_exhausted"] == 1
