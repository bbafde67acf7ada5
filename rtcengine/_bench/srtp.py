"""SRTP/SRTCP protect and unprotect against pylibsrtp (libsrtp), per profile.

Equal work on both sides:

* protect: the same RTP packet every call, with ``allow_repeat_tx`` on for both
  sessions (libsrtp and ours both run the index estimate and replay check, then
  encrypt and tag; the repeated index is allowed, as for a NACK resend).
* unprotect: a ring of 2048 packets protected once with consecutive sequence
  numbers; each side walks it with a fresh receiving session per lap (so every
  packet is new to the replay window and gets authenticated and decrypted; the
  session setup is amortised over 2048 packets on both sides).
* the batch cases run 64 packets per call in place in one buffer (protect
  re-protects the same slots with ``allow_repeat_tx``; unprotect walks a ring of
  64 batches of pre-protected packets, restoring the buffer once per lap); the
  baseline is pylibsrtp's per-call API on the same packets.
* the ceiling is raw EVP AES-128-GCM over 1024-byte blocks the way
  ``openssl speed -evp aes-128-gcm`` measures it (EVP_EncryptUpdate only), for
  the batch case's share of what OpenSSL can do.
"""

from __future__ import annotations

import array
import struct
from collections.abc import Callable, Iterator
from functools import partial

from rtcengine._bench import Case
from rtcengine._core import srtp

BATCH = 64
RING = 2048
SLOT = 1232  # 12-byte header + 1200-byte payload + 16-byte tag, 4-aligned
SSRC = 0x5EED5EED


def _rtp(seq: int, payload_len: int) -> bytes:
    # RFC 3550 §5.1: V=2, PT 96.
    return struct.pack("!BBHII", 0x80, 96, seq & 0xFFFF, seq * 3000, SSRC) + bytes(
        (i * 7) & 0xFF for i in range(payload_len)
    )


def _rtcp() -> bytes:
    # RFC 3550 §6.4.1: an SR with one report block (52 bytes).
    return struct.pack("!BBHI", 0x81, 200, 12, SSRC) + bytes(range(44))


def _keys(profile: int) -> tuple[bytes, bytes]:
    return (
        bytes(range(1, srtp.key_length(profile) + 1)),
        bytes(range(101, srtp.salt_length(profile) + 101)),
    )


def _ring(
    make: Callable[[], Callable[[bytes], bytes]], packets: list[bytes]
) -> Callable[[], bytes]:
    """Unprotect ``packets`` in order, with a fresh session every lap."""

    def gen() -> Iterator[bytes]:
        while True:
            unprotect = make()
            for p in packets:
                yield unprotect(p)

    return gen().__next__


class _OursBatchUnprotect:
    """Walk a ring of BATCH-packet batches in one buffer; restore per lap."""

    def __init__(self, profile: int, key: bytes, salt: bytes, protected: list[bytes]) -> None:
        self.profile, self.key, self.salt = profile, key, salt
        self.buf = bytearray(SLOT * len(protected))
        for i, p in enumerate(protected):
            self.buf[i * SLOT : i * SLOT + len(p)] = p
        self.pristine = bytes(self.buf)
        self.offsets = [
            array.array("i", [(b * BATCH + i) * SLOT for i in range(BATCH)])
            for b in range(len(protected) // BATCH)
        ]
        self.lengths = array.array("i", [len(protected[0])] * BATCH)
        self.out_lengths = array.array("i", [0] * BATCH)
        self.status = array.array("B", [0] * BATCH)
        self.it = self._gen()

    def _gen(self) -> Iterator[int]:
        while True:
            self.buf[:] = self.pristine
            session = srtp.SrtpSession(self.profile, self.key, self.salt)
            for offs in self.offsets:
                yield session.unprotect_batch(
                    self.buf, offs, self.lengths, self.out_lengths, self.status
                )

    def __call__(self) -> int:
        return next(self.it)


def cases() -> list[Case]:
    try:
        from pylibsrtp import Policy, Session
    except ImportError:  # pragma: no cover - the baseline is optional
        Policy = Session = None  # type: ignore[assignment,misc]  # noqa: N806

    lib_profile: dict[int, int] = {}
    if Policy is not None:
        lib_profile = {
            1: Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
            2: Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
            7: Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
            8: Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
        }

    def lib_session(profile: int, outbound: bool, repeat: bool = False) -> Session:
        key, salt = _keys(profile)
        policy = Policy(
            key=key + salt,
            ssrc_type=Policy.SSRC_ANY_OUTBOUND if outbound else Policy.SSRC_ANY_INBOUND,
            srtp_profile=lib_profile[profile],
        )
        policy.allow_repeat_tx = repeat
        return Session(policy)

    out: list[Case] = []
    pkt1200, pkt100, rtcp = _rtp(1, 1200), _rtp(1, 100), _rtcp()
    for profile in srtp.SrtpProfile:
        key, salt = _keys(profile)
        name = profile.name
        tx = srtp.SrtpSession(profile, key, salt, allow_repeat_tx=True)
        ring_tx = srtp.SrtpSession(profile, key, salt)
        ring = [ring_tx.protect(_rtp(seq, 1200)) for seq in range(RING)]

        def make_ours(
            p: int = profile, k: bytes = key, s: bytes = salt
        ) -> Callable[[bytes], bytes]:
            return srtp.SrtpSession(p, k, s).unprotect

        cases_p = [
            Case(
                f"SRTP protect 1200 B ({name})",
                ours=partial(tx.protect, pkt1200),
                bytes_per_op=1200,
                target_ratio=2,
            ),
            Case(
                f"SRTP unprotect 1200 B ({name})",
                ours=_ring(make_ours, ring),
                bytes_per_op=1200,
                target_ratio=2,
            ),
            Case(
                f"SRTP protect 100 B ({name})",
                ours=partial(tx.protect, pkt100),
                bytes_per_op=100,
            ),
            Case(
                f"SRTCP protect 52 B ({name})",
                ours=partial(tx.protect_rtcp, rtcp),
                bytes_per_op=52,
            ),
        ]
        if lib_profile:
            lib_tx = lib_session(profile, True, repeat=True)

            def make_lib(p: int = profile) -> Callable[[bytes], bytes]:
                return lib_session(p, False).unprotect

            cases_p[0].baseline = partial(lib_tx.protect, pkt1200)
            cases_p[1].baseline = _ring(make_lib, ring)
            cases_p[2].baseline = partial(lib_tx.protect, pkt100)
            cases_p[3].baseline = partial(lib_tx.protect_rtcp, rtcp)
            for c in cases_p:
                c.baseline_name = "pylibsrtp"
        out.extend(cases_p)

    # Batch: 64 × 1200 B in place, AEAD_AES_128_GCM.
    gcm = srtp.SrtpProfile.AEAD_AES_128_GCM
    key, salt = _keys(gcm)
    btx = srtp.SrtpSession(gcm, key, salt, allow_repeat_tx=True)
    buf = bytearray(SLOT * BATCH)
    for i in range(BATCH):
        buf[i * SLOT : i * SLOT + len(pkt1200)] = pkt1200
    offs = array.array("i", [i * SLOT for i in range(BATCH)])
    lens = array.array("i", [len(pkt1200)] * BATCH)
    olens = array.array("i", [0] * BATCH)
    status = array.array("B", [0] * BATCH)
    batch_protect = Case(
        f"SRTP protect batch {BATCH}×1200 B (AEAD_AES_128_GCM)",
        ours=partial(btx.protect_batch, buf, offs, lens, olens, status),
        ops_per_call=BATCH,
        bytes_per_op=1200,
        target_ratio=3,
    )
    ring_tx = srtp.SrtpSession(gcm, key, salt)
    ring = [ring_tx.protect(_rtp(seq, 1200)) for seq in range(RING)]
    batch_unprotect = Case(
        f"SRTP unprotect batch {BATCH}×1200 B (AEAD_AES_128_GCM)",
        ours=_OursBatchUnprotect(gcm, key, salt, ring),
        ops_per_call=BATCH,
        bytes_per_op=1200,
        target_ratio=3,
    )
    if lib_profile:
        lib_btx = lib_session(gcm, True, repeat=True)
        batch_protect.baseline = partial(lib_btx.protect, pkt1200)

        def make_lib_gcm() -> Callable[[bytes], bytes]:
            return lib_session(gcm, False).unprotect

        batch_unprotect.baseline = _ring(make_lib_gcm, ring)
        batch_protect.baseline_name = batch_unprotect.baseline_name = "pylibsrtp (per call)"
    ceiling = srtp._EvpGcmCeiling(1024)
    out += [
        batch_protect,
        batch_unprotect,
        Case(
            "OpenSSL EVP aes-128-gcm 1024 B (ceiling)",
            ours=partial(ceiling.run, BATCH),
            ops_per_call=BATCH,
            bytes_per_op=1024,
            note="raw EVP_EncryptUpdate, as openssl speed -evp",
        ),
    ]
    return out
