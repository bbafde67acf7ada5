"""SRTP and SRTCP (RFC 3711, RFC 7714, RFC 6188, RFC 5764) over OpenSSL.

A :class:`SrtpSession` holds one direction's master key and salt (the DTLS-SRTP
exporter gives the local and the remote half separately, RFC 5764 §4.2).  The
session keys are derived once (RFC 3711 §4.3, key derivation rate 0; with
AES-256 as the PRF for a 256-bit master key as in RFC 6188 §7), the
OpenSSL cipher and HMAC contexts are keyed once, and each packet only re-IVs
them: no allocation and no randomness per packet.

Profiles (RFC 5764 §4.1.2, RFC 7714 §14.2):

========================  ======  ===========  ===========  =========
profile                   id      master key   master salt  SRTP tag
========================  ======  ===========  ===========  =========
AES_CM_128_HMAC_SHA1_80   0x0001  16           14           10
AES_CM_128_HMAC_SHA1_32   0x0002  16           14           4 (SRTCP: 10)
AEAD_AES_128_GCM          0x0007  16           12           16
AEAD_AES_256_GCM          0x0008  32           12           16
========================  ======  ===========  ===========  =========

Per-SSRC state (rollover counter, replay window, SRTCP index) lives in C
structs in a small open-addressed hash table per direction.  A sending stream
is created on its first protected packet; a receiving stream on its first
packet that authenticates (so forged SSRCs cannot fill the table).

Each packet goes through one C function that returns a status; the per-call
methods turn a failure into a typed :class:`SrtpError`, the batch methods
store it in the caller's status array.  Every failure is counted in
:attr:`SrtpSession.stats`.

Threads: the batch methods release the GIL; while one runs, any other call on
the same session raises ``RuntimeError`` instead of racing it.  MKIs (RFC 3711
§3.1) and key derivation rates other than 0 are not used by DTLS-SRTP and not
supported.
"""

import enum

from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE,
                             PyBUF_WRITABLE, PyBUF_FORMAT, PyBUF_C_CONTIGUOUS)
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

cdef extern from "rtce_live.h":
    # 1 in the debug build (RTCENGINE_DEBUG=1): live-object counting on.
    const int RTCE_LIVE

cdef Py_ssize_t _live_SrtpSession = 0

from rtcengine._core.buffer cimport InputView, load_u16, load_u32, store_u32, fail_short
from rtcengine._core.hmac cimport HmacKey
from rtcengine._core.openssl cimport (
    EVP_CIPHER, EVP_CIPHER_CTX, EVP_CIPHER_CTX_new, EVP_CIPHER_CTX_free,
    EVP_EncryptInit_ex, EVP_EncryptUpdate, EVP_EncryptFinal_ex,
    EVP_DecryptInit_ex, EVP_DecryptUpdate, EVP_DecryptFinal_ex,
    EVP_CIPHER_CTX_ctrl, EVP_CTRL_GCM_GET_TAG, EVP_CTRL_GCM_SET_TAG,
    EVP_aes_128_ctr, EVP_aes_256_ctr, EVP_aes_128_gcm, EVP_aes_256_gcm,
    CRYPTO_memcmp, OPENSSL_cleanse, ERR_clear_error)

from rtcengine._core.buffer import ParseError as _BaseParseError


# ------------------------------------------------------------------ constants

cdef enum:
    # RFC 3711 §4.3.1: key derivation labels.
    LABEL_RTP_ENCRYPTION = 0x00
    LABEL_RTP_AUTH = 0x01
    LABEL_RTP_SALT = 0x02
    LABEL_RTCP_ENCRYPTION = 0x03
    LABEL_RTCP_AUTH = 0x04
    LABEL_RTCP_SALT = 0x05
    # RFC 3711 §4.2.1 / RFC 5764 §4.1.2: HMAC-SHA1 session auth key n_a = 160 bits.
    AUTH_KEY_LEN = 20
    SHA1_LEN = 20
    # RFC 7714 §8.2 / §9.2: AEAD_AES_*_GCM tags are 16 octets.
    GCM_TAG_LEN = 16
    # RFC 3711 §3.4: the SRTCP trailer word E || SRTCP index is 4 octets.
    SRTCP_INDEX_LEN = 4
    # RFC 3550 §5.1: fixed RTP header; §6.4.1: RTCP header up to the sender SSRC.
    RTP_HEADER_LEN = 12
    RTCP_HEADER_LEN = 8
    # Bounds of the replay window (RFC 3711 §3.3.2: a window of at least 64
    # MUST be supported; libsrtp's bound of 0x8000 keeps bitmaps small).
    MIN_WINDOW = 64
    MAX_WINDOW = 32768
    # First stream-table capacity (grown by doubling, load factor <= 1/2).
    TABLE_MIN_CAPACITY = 8

# RFC 3711 §3.3.1: half of the 16-bit sequence number space.
cdef uint32_t SEQ_MEDIAN = 32768
# RFC 3711 §3.4: the E flag is the top bit of the SRTCP trailer word, the
# index its low 31 bits; §3.3.2: the index must not pass 2^31 - 1.
cdef uint32_t SRTCP_E_FLAG = 0x80000000
cdef uint32_t SRTCP_INDEX_MASK = 0x7FFFFFFF
# RFC 3711 §4.1.1: one AES-CM keystream segment is at most 2^16 blocks, so a
# packet carries at most 2^20 octets (we bound every packet by that).
cdef Py_ssize_t MAX_PACKET = 1 << 20

# Reasons for ST_BAD_PACKET (SrtpSession.err_why).
cdef enum:
    WHY_SHORT = 1          # err_need / err_have
    WHY_VERSION = 2        # err_have = version found
    WHY_HEADER = 3         # CSRCs / header extension run past the packet
    WHY_TOO_LONG = 4       # err_have = length, err_need = maximum
    WHY_E_FLAG = 5         # err_have = E flag found

# Operations (for messages and the batch loop).
cdef enum:
    OP_RTP_PROTECT = 0
    OP_RTP_UNPROTECT = 1
    OP_RTCP_PROTECT = 2
    OP_RTCP_UNPROTECT = 3


class SrtpProfile(enum.IntEnum):
    """DTLS-SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2)."""

    AES_CM_128_HMAC_SHA1_80 = 0x0001
    AES_CM_128_HMAC_SHA1_32 = 0x0002
    AEAD_AES_128_GCM = 0x0007
    AEAD_AES_256_GCM = 0x0008


SRTP_AES128_CM_HMAC_SHA1_80 = SrtpProfile.AES_CM_128_HMAC_SHA1_80
SRTP_AES128_CM_HMAC_SHA1_32 = SrtpProfile.AES_CM_128_HMAC_SHA1_32
SRTP_AEAD_AES_128_GCM = SrtpProfile.AEAD_AES_128_GCM
SRTP_AEAD_AES_256_GCM = SrtpProfile.AEAD_AES_256_GCM

#: Room a batch slot needs after an RTP packet for protect (largest SRTP tag).
SRTP_MAX_TRAILER = 16
#: Room a batch slot needs after an RTCP packet for protect_rtcp (index + tag).
SRTCP_MAX_TRAILER = 20


class SrtpStatus(enum.IntEnum):
    """Per-packet result of the batch calls (and ``SrtpError.status``)."""

    OK = ST_OK
    AUTH_FAIL = ST_AUTH_FAIL
    REPLAY_OLD = ST_REPLAY_OLD
    REPLAY_DUP = ST_REPLAY_DUP
    BAD_PACKET = ST_BAD_PACKET
    NO_ROOM = ST_NO_ROOM
    STREAM_LIMIT = ST_STREAM_LIMIT
    CRYPTO_ERROR = ST_CRYPTO_ERROR
    INDEX_EXHAUSTED = ST_INDEX_EXHAUSTED


class SrtpError(Exception):
    """An SRTP/SRTCP packet was refused.  ``status`` says why."""

    status = SrtpStatus.CRYPTO_ERROR


class SrtpAuthError(SrtpError):
    """The authentication tag did not verify (RFC 3711 §3.3, RFC 7714 §8.2)."""

    status = SrtpStatus.AUTH_FAIL


class SrtpReplayError(SrtpError):
    """A replayed or too old packet index (RFC 3711 §3.3.2)."""

    status = SrtpStatus.REPLAY_DUP


class SrtpParseError(SrtpError, _BaseParseError):
    """Not an RTP/RTCP packet SRTP can process (too short, wrong version ...)."""

    status = SrtpStatus.BAD_PACKET


class SrtpStreamLimitError(SrtpError):
    """A packet of a new SSRC arrived when ``max_streams`` streams exist."""

    status = SrtpStatus.STREAM_LIMIT


# The module's ParseError (docs/core-conventions.md): the same class.
ParseError = SrtpParseError


ctypedef struct profile_t:
    int key_len         # master = session key length
    int salt_len        # master = session salt length
    int rtp_tag         # SRTP tag length
    int rtcp_tag        # SRTCP tag length
    bint aead


cdef profile_t profile_info(int profile) except *:
    cdef profile_t p
    if profile == 0x0001:
        # RFC 5764 §4.1.2 SRTP_AES128_CM_HMAC_SHA1_80; RFC 3711 §5.
        p.key_len = 16; p.salt_len = 14; p.rtp_tag = 10; p.rtcp_tag = 10; p.aead = False
    elif profile == 0x0002:
        # RFC 5764 §4.1.2 SRTP_AES128_CM_HMAC_SHA1_32: 32-bit SRTP tag, but
        # SRTCP keeps the 80-bit tag ("SRTCP auth tag length 80").
        p.key_len = 16; p.salt_len = 14; p.rtp_tag = 4; p.rtcp_tag = 10; p.aead = False
    elif profile == 0x0007:
        # RFC 7714 §14.2 AEAD_AES_128_GCM: 96-bit salt, 16-octet tag.
        p.key_len = 16; p.salt_len = 12; p.rtp_tag = 16; p.rtcp_tag = 16; p.aead = True
    elif profile == 0x0008:
        # RFC 7714 §14.2 AEAD_AES_256_GCM.
        p.key_len = 32; p.salt_len = 12; p.rtp_tag = 16; p.rtcp_tag = 16; p.aead = True
    else:
        raise ValueError(f"unsupported SRTP protection profile 0x{profile:04x}: "
                         "use 0x0001, 0x0002, 0x0007 or 0x0008")
    return p


def key_length(profile: int) -> int:
    """Master (and session) key length in bytes for ``profile``."""
    return profile_info(profile).key_len


def salt_length(profile: int) -> int:
    """Master (and session) salt length in bytes for ``profile``."""
    return profile_info(profile).salt_len


def tag_length(profile: int, rtcp: bool = False) -> int:
    """Authentication tag length of SRTP (or SRTCP) packets for ``profile``."""
    cdef profile_t pp = profile_info(profile)
    return pp.rtcp_tag if rtcp else pp.rtp_tag


def keying_material_length(profile: int) -> int:
    """Bytes to export from DTLS for ``profile``: 2 * (key + salt) (RFC 5764 §4.2)."""
    cdef profile_t pp = profile_info(profile)
    return 2 * (pp.key_len + pp.salt_len)


def split_keying_material(profile: int, material) -> tuple:
    """Split DTLS-SRTP keying material (RFC 5764 §4.2) into
    ``(client_key, client_salt, server_key, server_salt)``.

    The layout is client_write_key | server_write_key | client_write_salt |
    server_write_salt.  The DTLS client protects with the client half and
    unprotects with the server half; the server does the opposite.
    """
    cdef profile_t pp = profile_info(profile)
    cdef int k = pp.key_len, s = pp.salt_len
    m = bytes(material)
    if len(m) != 2 * (k + s):
        raise ValueError(f"keying material for profile 0x{profile:04x} must be "
                         f"{2 * (k + s)} bytes, got {len(m)}")
    return (m[0:k], m[2 * k:2 * k + s], m[k:2 * k], m[2 * k + s:2 * k + 2 * s])


# ---------------------------------------------------------- key derivation

cdef const EVP_CIPHER* ctr_cipher(int key_len) noexcept:
    return EVP_aes_256_ctr() if key_len == 32 else EVP_aes_128_ctr()


cdef int kdf(const uint8_t* mkey, int mkey_len, const uint8_t* msalt, int msalt_len,
             uint8_t label, uint8_t* out, int out_len) except -1:
    """RFC 3711 §4.3.1 with key derivation rate 0 (r = 0), PRF = AES-CM (§4.3.3).

    x = (label || r) XOR master_salt, right-aligned in the 112-bit salt; the
    keystream AES-CM(master_key, x * 2^16) truncated to out_len is the key.  A
    96-bit GCM master salt is zero-padded to 112 bits first (RFC 7714 §11,
    as libsrtp does).
    """
    cdef uint8_t iv[16]
    cdef EVP_CIPHER_CTX* ctx
    cdef int n = 0
    memset(iv, 0, 16)
    memcpy(iv, msalt, msalt_len)
    # key_id = label || r (r = 0, 48 bits): the label is octet 7 of the 14-octet x.
    iv[7] ^= label
    memset(out, 0, out_len)
    ctx = EVP_CIPHER_CTX_new()
    if ctx == NULL:
        raise MemoryError("EVP_CIPHER_CTX_new failed")
    try:
        if (not EVP_EncryptInit_ex(ctx, ctr_cipher(mkey_len), NULL, mkey, iv)
                or not EVP_EncryptUpdate(ctx, out, &n, out, out_len)):
            ERR_clear_error()
            raise MemoryError("OpenSSL AES-CM failed in SRTP key derivation")
    finally:
        EVP_CIPHER_CTX_free(ctx)
        OPENSSL_cleanse(iv, 16)
    return 0


def derive_session_keys(profile: int, key, salt) -> dict:
    """The session keys RFC 3711 §4.3 derives from a master key and salt
    (a test hook: the session never exposes its keys).

    Returns ``srtp_key``, ``srtp_salt``, ``srtp_auth_key``, ``srtcp_key``,
    ``srtcp_salt``, ``srtcp_auth_key`` (auth keys are empty for AEAD profiles).
    """
    cdef InputView kv = InputView()
    cdef InputView sv = InputView()
    cdef uint8_t buf[32]
    cdef profile_t pp = profile_info(profile)
    cdef int k = pp.key_len, s = pp.salt_len
    cdef bint a = pp.aead
    kv.acquire(key)
    sv.acquire(salt)
    check_master(kv.length, sv.length, k, s)
    out = {}
    for name, label, n in (("srtp_key", LABEL_RTP_ENCRYPTION, k),
                           ("srtp_salt", LABEL_RTP_SALT, s),
                           ("srtp_auth_key", LABEL_RTP_AUTH, 0 if a else AUTH_KEY_LEN),
                           ("srtcp_key", LABEL_RTCP_ENCRYPTION, k),
                           ("srtcp_salt", LABEL_RTCP_SALT, s),
                           ("srtcp_auth_key", LABEL_RTCP_AUTH, 0 if a else AUTH_KEY_LEN)):
        if n:
            kdf(kv.ptr, k, sv.ptr, s, label, buf, n)
        out[name] = buf[:n]
    OPENSSL_cleanse(buf, sizeof(buf))
    return out


def aes_cm_keystream(key, iv, Py_ssize_t n) -> bytes:
    """``n`` octets of AES-CM keystream (RFC 3711 §4.1.1) from a 16-octet
    initial counter ``iv`` (a test hook for RFC 3711 Appendix B.2)."""
    cdef InputView kv = InputView()
    cdef InputView iv_ = InputView()
    cdef EVP_CIPHER_CTX* ctx
    cdef int outl = 0
    kv.acquire(key)
    iv_.acquire(iv)
    if kv.length != 16 and kv.length != 32:
        raise ValueError(f"AES key must be 16 or 32 bytes, got {kv.length}")
    if iv_.length != 16:
        raise ValueError(f"AES-CM counter block must be 16 bytes, got {iv_.length}")
    if n < 0 or n > MAX_PACKET:
        raise ValueError(f"keystream length must be 0..{MAX_PACKET}, got {n}")
    out = PyBytes_FromStringAndSize(NULL, n)
    cdef uint8_t* p = <uint8_t*>PyBytes_AS_STRING(out)
    memset(p, 0, n)
    ctx = EVP_CIPHER_CTX_new()
    if ctx == NULL:
        raise MemoryError("EVP_CIPHER_CTX_new failed")
    try:
        if not EVP_EncryptInit_ex(ctx, ctr_cipher(<int>kv.length), NULL, kv.ptr, iv_.ptr):
            ERR_clear_error()
            raise MemoryError("OpenSSL AES-CTR init failed")
        if n and not EVP_EncryptUpdate(ctx, p, &outl, p, <int>n):
            ERR_clear_error()
            raise MemoryError("OpenSSL AES-CTR failed")
    finally:
        EVP_CIPHER_CTX_free(ctx)
    return out


cdef int check_master(Py_ssize_t klen, Py_ssize_t slen, int k, int s) except -1:
    if klen != k:
        raise ValueError(f"master key must be {k} bytes for this profile, got {klen}")
    if slen != s:
        raise ValueError(f"master salt must be {s} bytes for this profile, got {slen}")
    return 0


# --------------------------------------------------------- per-packet helpers

cdef inline void make_iv(uint8_t* iv, const uint8_t* salt, uint32_t ssrc,
                         uint64_t index) noexcept nogil:
    """The per-packet IV (RFC 3711 §4.1.1, RFC 7714 §8.1 / §9.1) into iv[0:16].

    AES-CM: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16): k_s in octets
    0..13, SSRC at 4..7, the 48-bit index i at 8..13.
    GCM: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt, 12 octets: SSRC at 2..5,
    ROC || SEQ at 6..11 (SRTCP: 0x0000 || 31-bit index at 6..11).  That is the
    AES-CM layout from octet 2 on, so GCM sessions keep their 12-octet salt at
    salt[2:14] and use iv + 2.
    """
    memcpy(iv, salt, 16)
    iv[4] ^= <uint8_t>(ssrc >> 24)
    iv[5] ^= <uint8_t>(ssrc >> 16)
    iv[6] ^= <uint8_t>(ssrc >> 8)
    iv[7] ^= <uint8_t>ssrc
    iv[8] ^= <uint8_t>(index >> 40)
    iv[9] ^= <uint8_t>(index >> 32)
    iv[10] ^= <uint8_t>(index >> 24)
    iv[11] ^= <uint8_t>(index >> 16)
    iv[12] ^= <uint8_t>(index >> 8)
    iv[13] ^= <uint8_t>index


cdef inline int ctr_xor(EVP_CIPHER_CTX* ctx, const uint8_t* iv, const uint8_t* src,
                        uint8_t* dst, Py_ssize_t n) noexcept nogil:
    """AES-CM (RFC 3711 §4.1.1): re-IV the keyed CTR context, XOR n octets."""
    cdef int outl = 0
    if not EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv):
        return -1
    if n > 0 and not EVP_EncryptUpdate(ctx, dst, &outl, src, <int>n):
        return -1
    return 0


cdef inline int gcm_seal(EVP_CIPHER_CTX* ctx, const uint8_t* iv,
                         const uint8_t* aad, Py_ssize_t aad_n,
                         const uint8_t* aad2, Py_ssize_t aad2_n,
                         const uint8_t* src, uint8_t* dst, Py_ssize_t n,
                         uint8_t* tag) noexcept nogil:
    """AEAD_AES_*_GCM encryption (RFC 7714 §8.2 / §9.2, RFC 5116): AAD is
    aad || aad2, the ciphertext replaces src[0:n] in dst, tag gets 16 octets."""
    cdef int outl = 0
    cdef uint8_t scratch[16]
    if not EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv):
        return -1
    if aad_n > 0 and not EVP_EncryptUpdate(ctx, NULL, &outl, aad, <int>aad_n):
        return -1
    if aad2_n > 0 and not EVP_EncryptUpdate(ctx, NULL, &outl, aad2, <int>aad2_n):
        return -1
    if n > 0 and not EVP_EncryptUpdate(ctx, dst, &outl, src, <int>n):
        return -1
    if not EVP_EncryptFinal_ex(ctx, scratch, &outl):
        return -1
    if not EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag):
        return -1
    return 0


cdef inline int gcm_open(EVP_CIPHER_CTX* ctx, const uint8_t* iv,
                         const uint8_t* aad, Py_ssize_t aad_n,
                         const uint8_t* aad2, Py_ssize_t aad2_n,
                         const uint8_t* src, uint8_t* dst, Py_ssize_t n,
                         const uint8_t* tag) noexcept nogil:
    """AEAD_AES_*_GCM decryption and tag check: 0 ok, 1 tag mismatch, -1 error.
    On a mismatch dst[0:n] holds unauthenticated plaintext (callers drop it)."""
    cdef int outl = 0
    cdef uint8_t scratch[16]
    if not EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, iv):
        return -1
    if not EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, <void*>tag):
        return -1
    if aad_n > 0 and not EVP_DecryptUpdate(ctx, NULL, &outl, aad, <int>aad_n):
        return -1
    if aad2_n > 0 and not EVP_DecryptUpdate(ctx, NULL, &outl, aad2, <int>aad2_n):
        return -1
    if n > 0 and not EVP_DecryptUpdate(ctx, dst, &outl, src, <int>n):
        return -1
    if EVP_DecryptFinal_ex(ctx, scratch, &outl) <= 0:
        return 1
    return 0


cdef inline int hmac_sha1(HmacKey key, const uint8_t* p, Py_ssize_t n,
                          const uint8_t* tail, Py_ssize_t tail_n,
                          uint8_t* out) noexcept nogil:
    """RFC 3711 §4.2.1: HMAC-SHA1(k_a, M) with M = authenticated portion ||
    tail (the ROC for SRTP, nothing for SRTCP)."""
    if key.begin() < 0 or key.update(p, <size_t>n) < 0:
        return -1
    if tail_n > 0 and key.update(tail, <size_t>tail_n) < 0:
        return -1
    return key.finish(out)


cdef inline uint64_t estimate_index(const srtp_stream_t* s, uint16_t seq) noexcept nogil:
    """RFC 3711 §3.3.1 (and Appendix A): the packet index i = 2^16 * v + SEQ
    with v the receiver's guess of the sender's ROC from s_l, its highest SEQ.

    A new stream starts with ROC = 0 (§3.3.1).  The index cannot be negative:
    while ROC is 0 a packet the RFC would place in ROC - 1 is placed in ROC 0
    (as libsrtp does), i.e. taken as a forward jump.
    """
    cdef uint32_t roc, v
    cdef uint16_t s_l
    if not s.rtp_started:
        return seq
    roc = <uint32_t>(s.rtp_top >> 16)
    s_l = <uint16_t>(s.rtp_top & 0xFFFF)
    v = roc
    if s_l < SEQ_MEDIAN:
        # SEQ far above s_l: a late packet from before the last wrap.
        if <uint32_t>seq > s_l + SEQ_MEDIAN and roc > 0:
            v = roc - 1
    elif <uint32_t>s_l > SEQ_MEDIAN + seq:
        # SEQ far below s_l: the sequence number wrapped, ROC + 1.
        v = roc + 1
    return (<uint64_t>v << 16) | seq


cdef inline int window_check(const uint64_t* win, uint64_t top, bint started,
                             uint64_t idx, uint64_t size, uint64_t mask) noexcept nogil:
    """RFC 3711 §3.3.2: accept an index right of the window, refuse one left
    of it (REPLAY_OLD) or one whose bit is set (REPLAY_DUP)."""
    cdef uint64_t b
    if not started or idx > top:
        return ST_OK
    if top - idx >= size:
        return ST_REPLAY_OLD
    b = idx & mask
    if win[b >> 6] & (<uint64_t>1 << (b & 63)):
        return ST_REPLAY_DUP
    return ST_OK


cdef inline void window_add(uint64_t* win, uint64_t* top, uint8_t* started, uint64_t idx,
                            uint32_t words, uint64_t mask) noexcept nogil:
    """RFC 3711 §3.3.2: after authentication, slide the window to a new
    highest index (clearing the bits it skips) and mark the index seen."""
    cdef uint64_t j, b
    if not started[0]:
        memset(win, 0, words * sizeof(uint64_t))
        started[0] = 1
        top[0] = idx
    elif idx > top[0]:
        if idx - top[0] > mask:
            memset(win, 0, words * sizeof(uint64_t))
        else:
            j = top[0] + 1
            while j < idx:
                b = j & mask
                win[b >> 6] &= ~(<uint64_t>1 << (b & 63))
                j += 1
        top[0] = idx
    b = idx & mask
    win[b >> 6] |= <uint64_t>1 << (b & 63)


# ----------------------------------------------------------- stream tables

cdef inline uint32_t slot_of(const stream_table_t* t, uint32_t ssrc) noexcept nogil:
    # Fibonacci hashing: the top bits of ssrc * 2^32 / phi.
    return (<uint32_t>(ssrc * <uint32_t>2654435761u) >> t.shift) & t.mask


cdef inline srtp_stream_t* table_find(const stream_table_t* t, uint32_t ssrc) noexcept nogil:
    cdef uint32_t i
    cdef srtp_stream_t* s
    if t.slots == NULL:
        return NULL
    i = slot_of(t, ssrc)
    while True:
        s = &t.slots[i]
        if not s.used:
            return NULL
        if s.ssrc == ssrc:
            return s
        i = (i + 1) & t.mask


cdef int table_grow(stream_table_t* t) noexcept nogil:
    cdef uint32_t cap = (t.mask + 1) * 2 if t.slots != NULL else TABLE_MIN_CAPACITY
    cdef uint32_t bits = 0, i, j
    cdef stream_table_t n
    while (<uint32_t>1 << bits) < cap:
        bits += 1
    n.slots = <srtp_stream_t*>calloc(cap, sizeof(srtp_stream_t))
    if n.slots == NULL:
        return -1
    n.mask = cap - 1
    n.shift = 32 - bits
    n.count = t.count
    if t.slots != NULL:
        for i in range(t.mask + 1):
            if t.slots[i].used:
                j = slot_of(&n, t.slots[i].ssrc)
                while n.slots[j].used:
                    j = (j + 1) & n.mask
                n.slots[j] = t.slots[i]
        free(t.slots)
    t[0] = n
    return 0


cdef void table_clear(stream_table_t* t) noexcept nogil:
    cdef uint32_t i
    if t.slots != NULL:
        for i in range(t.mask + 1):
            if t.slots[i].used:
                free(t.slots[i].rtp_window)
        free(t.slots)
    t.slots = NULL
    t.mask = 0
    t.shift = 0
    t.count = 0


cdef bint table_remove(stream_table_t* t, uint32_t ssrc) noexcept nogil:
    """Delete with backward shifting (linear probing keeps no tombstones)."""
    cdef srtp_stream_t* s = table_find(t, ssrc)
    cdef uint32_t i, j, k
    if s == NULL:
        return False
    free(s.rtp_window)
    i = <uint32_t>(s - t.slots)
    j = i
    while True:
        j = (j + 1) & t.mask
        if not t.slots[j].used:
            break
        k = slot_of(t, t.slots[j].ssrc)
        # Slot j may stay if its home k lies cyclically in (i, j].
        if (i <= j and i < k and k <= j) or (i > j and (i < k or k <= j)):
            continue
        t.slots[i] = t.slots[j]
        i = j
    memset(&t.slots[i], 0, sizeof(srtp_stream_t))
    t.count -= 1
    return True


# ------------------------------------------------------- integer arrays

ctypedef struct int_array_t:
    char* ptr
    Py_ssize_t n
    int itemsize
    bint signed


cdef int acquire_ints(Py_buffer* view, int_array_t* a, object obj, bint writable,
                      int min_itemsize, str name) except -1:
    """Hold a C-contiguous 1-D integer buffer (array.array, numpy ...)."""
    cdef int flags = PyBUF_FORMAT | PyBUF_C_CONTIGUOUS
    cdef bytes fmt
    cdef char kind
    if writable:
        flags |= PyBUF_WRITABLE
    PyObject_GetBuffer(obj, view, flags)
    fmt = view.format if view.format != NULL else b"B"
    if len(fmt) > 1 and fmt[0:1] in (b"@", b"=", b"<"):
        fmt = fmt[1:]
    kind = fmt[0] if len(fmt) == 1 else 0
    if (view.ndim > 1 or kind == 0 or kind not in b"bBhHiIlLqQnN"
            or view.itemsize not in (1, 2, 4, 8) or view.itemsize < min_itemsize):
        PyBuffer_Release(view)
        raise TypeError(f"{name} must be a 1-D native integer array of at least "
                        f"{8 * min_itemsize} bits (array.array or numpy), got format "
                        f"{fmt.decode('ascii', 'replace')!r}")
    a.ptr = <char*>view.buf
    a.itemsize = <int>view.itemsize
    a.n = view.len // view.itemsize
    a.signed = kind in b"bhilqn"
    return 0


cdef inline int64_t ints_get(const int_array_t* a, Py_ssize_t i) noexcept nogil:
    if a.itemsize == 8:
        return (<int64_t*>a.ptr)[i]          # uint64 > 2^63 reads negative: refused later
    if a.itemsize == 4:
        return (<int*>a.ptr)[i] if a.signed else <int64_t>(<uint32_t*>a.ptr)[i]
    if a.itemsize == 2:
        return (<short*>a.ptr)[i] if a.signed else <int64_t>(<uint16_t*>a.ptr)[i]
    return (<signed char*>a.ptr)[i] if a.signed else <int64_t>(<uint8_t*>a.ptr)[i]


cdef inline void ints_set(const int_array_t* a, Py_ssize_t i, int64_t v) noexcept nogil:
    if a.itemsize == 8:
        (<int64_t*>a.ptr)[i] = v
    elif a.itemsize == 4:
        (<uint32_t*>a.ptr)[i] = <uint32_t>v
    elif a.itemsize == 2:
        (<uint16_t*>a.ptr)[i] = <uint16_t>v
    else:
        (<uint8_t*>a.ptr)[i] = <uint8_t>v


# ------------------------------------------------------------------ session

cdef class SrtpSession:
    """One direction's SRTP/SRTCP keys: ``protect``/``protect_rtcp`` for what
    we send, ``unprotect``/``unprotect_rtcp`` for what we receive (use one
    session per DTLS half; both directions keep separate per-SSRC state).

    ``replay_window`` (64..32768 packets, RFC 3711 §3.3.2) bounds reordering;
    ``allow_repeat_tx`` lets ``protect`` re-send an index (RTX, NACK resends)
    instead of refusing it as a replay; ``max_streams`` bounds the SSRCs per
    direction (a packet of one more SSRC is refused and counted).
    """

    def __cinit__(self, *args, **kwargs):
        global _live_SrtpSession
        if RTCE_LIVE:
            _live_SrtpSession += 1
        self.keyed = False
        self.busy = False
        self.rtp_enc = NULL
        self.rtp_dec = NULL
        self.rtcp_enc = NULL
        self.rtcp_dec = NULL
        memset(&self.tx, 0, sizeof(stream_table_t))
        memset(&self.rx, 0, sizeof(stream_table_t))
        memset(self.counters, 0, sizeof(self.counters))
        memset(self.rtp_salt, 0, 16)
        memset(self.rtcp_salt, 0, 16)
        self.rtp_protected = self.rtp_unprotected = 0
        self.rtcp_protected = self.rtcp_unprotected = 0
        self.encrypt_rtp = self.encrypt_rtcp = True

    def __init__(self, profile: int, key, salt, *, int replay_window=1024,
                 bint allow_repeat_tx=False, int max_streams=1024):
        cdef InputView kv = InputView()
        cdef InputView sv = InputView()
        kv.acquire(key)
        sv.acquire(salt)
        self.key_master(profile, kv.ptr, kv.length, sv.ptr, sv.length,
                        replay_window, allow_repeat_tx, max_streams)

    cdef int key_master(self, int profile, const uint8_t* key, Py_ssize_t key_len,
                        const uint8_t* salt, Py_ssize_t salt_len, int replay_window,
                        bint allow_repeat_tx, int max_streams) except -1:
        """Key this session from a master key and salt given as C pointers, so
        DTLS-SRTP keying material (RFC 5764 §4.2) never becomes a Python object."""
        cdef uint8_t keys[6][32]
        cdef int i
        cdef profile_t pp = profile_info(profile)
        cdef int k = pp.key_len, s = pp.salt_len
        cdef bint a = pp.aead
        check_master(key_len, salt_len, k, s)
        self._configure(profile, replay_window, allow_repeat_tx, max_streams)
        try:
            # RFC 3711 §4.3.1: derive the six session keys once (KDR 0).
            for i, label, n in ((0, LABEL_RTP_ENCRYPTION, k), (1, LABEL_RTP_SALT, s),
                                (2, LABEL_RTP_AUTH, AUTH_KEY_LEN),
                                (3, LABEL_RTCP_ENCRYPTION, k), (4, LABEL_RTCP_SALT, s),
                                (5, LABEL_RTCP_AUTH, AUTH_KEY_LEN)):
                if a and (label == LABEL_RTP_AUTH or label == LABEL_RTCP_AUTH):
                    continue  # RFC 7714 §11: AEAD profiles derive no auth keys
                kdf(key, k, salt, s, label, keys[i], n)
            self._key(keys[0], keys[1], keys[2], keys[3], keys[4], keys[5])
        finally:
            OPENSSL_cleanse(keys, sizeof(keys))
        return 0

    @classmethod
    def _from_session_keys(cls, profile: int, srtp_key, srtp_salt, srtcp_key=None,
                           srtcp_salt=None, srtp_auth_key=b"", srtcp_auth_key=b"", *,
                           bint encrypt_rtp=True, bint encrypt_rtcp=True,
                           int replay_window=1024, bint allow_repeat_tx=False):
        """A session keyed with session keys directly, skipping the KDF (a test
        hook for the RFC 7714 §16/§17 vectors; tag-only modes are not DTLS-SRTP
        profiles and only reachable here)."""
        cdef SrtpSession self = cls.__new__(cls)
        cdef InputView v = InputView()
        cdef uint8_t keys[6][32]
        cdef int i
        cdef profile_t pp = profile_info(profile)
        cdef int k = pp.key_len, s = pp.salt_len
        cdef bint a = pp.aead
        self._configure(profile, replay_window, allow_repeat_tx, 1024)
        self.encrypt_rtp = encrypt_rtp
        self.encrypt_rtcp = encrypt_rtcp
        memset(keys, 0, sizeof(keys))
        try:
            for i, data, n in ((0, srtp_key, k), (1, srtp_salt, s),
                               (2, srtp_auth_key, 0 if a else AUTH_KEY_LEN),
                               (3, srtp_key if srtcp_key is None else srtcp_key, k),
                               (4, srtp_salt if srtcp_salt is None else srtcp_salt, s),
                               (5, srtcp_auth_key, 0 if a else AUTH_KEY_LEN)):
                v.acquire(data)
                if v.length != n:
                    raise ValueError(f"session key {i} must be {n} bytes, got {v.length}")
                memcpy(keys[i], v.ptr, n)
            self._key(keys[0], keys[1], keys[2], keys[3], keys[4], keys[5])
        finally:
            OPENSSL_cleanse(keys, sizeof(keys))
        return self

    cdef int _configure(self, int profile, int replay_window, bint allow_repeat_tx,
                        int max_streams) except -1:
        cdef uint64_t bits = 64
        if self.keyed:
            raise RuntimeError("SrtpSession is already keyed; make a new one to rekey")
        if replay_window < MIN_WINDOW or replay_window > MAX_WINDOW:
            raise ValueError(f"replay_window must be {MIN_WINDOW}..{MAX_WINDOW} packets, "
                             f"got {replay_window}")
        if max_streams < 1 or max_streams > (1 << 20):
            raise ValueError(f"max_streams must be 1..{1 << 20}, got {max_streams}")
        cdef profile_t pp = profile_info(profile)
        self.key_len = pp.key_len
        self.salt_len = pp.salt_len
        self.rtp_tag_len = pp.rtp_tag
        self.rtcp_tag_len = pp.rtcp_tag
        self.aead = pp.aead
        self.profile = profile
        self.replay_window = <uint32_t>replay_window
        self.allow_repeat_tx = allow_repeat_tx
        self.max_streams = <uint32_t>max_streams
        while bits < <uint64_t>replay_window:
            bits <<= 1
        self.window_mask = bits - 1
        self.window_words = <uint32_t>(bits >> 6)
        return 0

    cdef int _key(self, const uint8_t* rtp_key, const uint8_t* rtp_salt,
                  const uint8_t* rtp_auth, const uint8_t* rtcp_key,
                  const uint8_t* rtcp_salt, const uint8_t* rtcp_auth) except -1:
        """Key the OpenSSL contexts once: EVP_EncryptInit_ex(ctx, cipher, NULL,
        key, NULL); each packet later only sets the IV."""
        cdef const EVP_CIPHER* c
        cdef bytearray auth
        self.rtp_enc = EVP_CIPHER_CTX_new()
        self.rtcp_enc = EVP_CIPHER_CTX_new()
        if self.rtp_enc == NULL or self.rtcp_enc == NULL:
            raise MemoryError("EVP_CIPHER_CTX_new failed")
        if self.aead:
            c = EVP_aes_256_gcm() if self.key_len == 32 else EVP_aes_128_gcm()
            self.rtp_dec = EVP_CIPHER_CTX_new()
            self.rtcp_dec = EVP_CIPHER_CTX_new()
            if self.rtp_dec == NULL or self.rtcp_dec == NULL:
                raise MemoryError("EVP_CIPHER_CTX_new failed")
            # RFC 7714 §8.1: 12-octet IV, GCM's default IV length.
            if (not EVP_EncryptInit_ex(self.rtp_enc, c, NULL, rtp_key, NULL)
                    or not EVP_DecryptInit_ex(self.rtp_dec, c, NULL, rtp_key, NULL)
                    or not EVP_EncryptInit_ex(self.rtcp_enc, c, NULL, rtcp_key, NULL)
                    or not EVP_DecryptInit_ex(self.rtcp_dec, c, NULL, rtcp_key, NULL)):
                ERR_clear_error()
                raise MemoryError("OpenSSL AES-GCM key setup failed")
            # make_iv builds the 16-octet AES-CM layout; the GCM IV is that
            # layout from octet 2 on (RFC 7714 §8.1), so store the salt at 2.
            memcpy(self.rtp_salt + 2, rtp_salt, self.salt_len)
            memcpy(self.rtcp_salt + 2, rtcp_salt, self.salt_len)
        else:
            c = ctr_cipher(self.key_len)
            if (not EVP_EncryptInit_ex(self.rtp_enc, c, NULL, rtp_key, NULL)
                    or not EVP_EncryptInit_ex(self.rtcp_enc, c, NULL, rtcp_key, NULL)):
                ERR_clear_error()
                raise MemoryError("OpenSSL AES-CTR key setup failed")
            memcpy(self.rtp_salt, rtp_salt, self.salt_len)
            memcpy(self.rtcp_salt, rtcp_salt, self.salt_len)
            # HmacKey takes a buffer; hand it a bytearray we wipe afterwards.
            auth = bytearray(AUTH_KEY_LEN)
            try:
                memcpy(<char*>auth, rtp_auth, AUTH_KEY_LEN)
                self.rtp_auth = HmacKey(auth, "sha1")
                memcpy(<char*>auth, rtcp_auth, AUTH_KEY_LEN)
                self.rtcp_auth = HmacKey(auth, "sha1")
            finally:
                OPENSSL_cleanse(<char*>auth, AUTH_KEY_LEN)
        self.keyed = True
        return 0

    def __dealloc__(self):
        if self.rtp_enc != NULL:
            EVP_CIPHER_CTX_free(self.rtp_enc)   # frees (and wipes) the key schedule
        global _live_SrtpSession
        if RTCE_LIVE:
            _live_SrtpSession -= 1
        if self.rtp_dec != NULL:
            EVP_CIPHER_CTX_free(self.rtp_dec)
        if self.rtcp_enc != NULL:
            EVP_CIPHER_CTX_free(self.rtcp_enc)
        if self.rtcp_dec != NULL:
            EVP_CIPHER_CTX_free(self.rtcp_dec)
        OPENSSL_cleanse(self.rtp_salt, 16)
        OPENSSL_cleanse(self.rtcp_salt, 16)
        table_clear(&self.tx)
        table_clear(&self.rx)

    # ------------------------------------------------------- C entry points

    cdef int count(self, int st) noexcept nogil:
        self.counters[st] += 1
        return st

    cdef int bad(self, int why, Py_ssize_t need, Py_ssize_t have) noexcept nogil:
        self.err_why = why
        self.err_need = need
        self.err_have = have
        self.counters[ST_BAD_PACKET] += 1
        return ST_BAD_PACKET

    cdef Py_ssize_t rtp_header_length(self, const uint8_t* p, Py_ssize_t n) noexcept nogil:
        """RFC 3550 §5.1/§5.3.1: 12 octets, 4 per CSRC, and with X set a
        4-octet extension header plus 4 * its length field.  -1 if bad."""
        cdef Py_ssize_t h
        if (p[0] >> 6) != 2:  # RFC 3550 §5.1: version = 2
            self.bad(WHY_VERSION, 2, p[0] >> 6)
            return -1
        h = RTP_HEADER_LEN + 4 * (p[0] & 0x0F)
        if p[0] & 0x10:
            if h + 4 > n:
                self.bad(WHY_HEADER, h + 4, n)
                return -1
            h += 4 + 4 * <Py_ssize_t>load_u16(p + h + 2)
        if h > n:
            self.bad(WHY_HEADER, h, n)
            return -1
        return h

    cdef srtp_stream_t* insert(self, stream_table_t* t, uint32_t ssrc, int* st) noexcept nogil:
        """Create the stream of a new SSRC (RFC 3711 §3.2.3: a new crypto
        context per SSRC; ROC = 0, empty replay window)."""
        cdef uint32_t i
        cdef uint64_t* win
        if t.count >= self.max_streams:
            st[0] = ST_STREAM_LIMIT
            return NULL
        if t.slots == NULL or (t.count + 1) * 2 > t.mask + 1:
            if table_grow(t) < 0:
                st[0] = ST_CRYPTO_ERROR
                return NULL
        win = <uint64_t*>calloc(2 * self.window_words, sizeof(uint64_t))
        if win == NULL:
            st[0] = ST_CRYPTO_ERROR
            return NULL
        i = slot_of(t, ssrc)
        while t.slots[i].used:
            i = (i + 1) & t.mask
        memset(&t.slots[i], 0, sizeof(srtp_stream_t))
        t.slots[i].used = 1
        t.slots[i].ssrc = ssrc
        t.slots[i].rtp_window = win
        t.slots[i].rtcp_window = win + self.window_words
        t.count += 1
        return &t.slots[i]

    cdef int rtp_protect(self, const uint8_t* src, uint8_t* dst, Py_ssize_t n,
                         Py_ssize_t cap, Py_ssize_t* out_n) noexcept nogil:
        cdef Py_ssize_t h
        cdef uint16_t seq
        cdef uint32_t ssrc
        cdef uint64_t idx
        cdef int st = ST_OK, r
        cdef srtp_stream_t* s
        cdef uint8_t iv[16]
        cdef uint8_t roc[4]
        cdef uint8_t mac[SHA1_LEN]
        if n < RTP_HEADER_LEN:
            return self.bad(WHY_SHORT, RTP_HEADER_LEN, n)
        if n > MAX_PACKET:
            return self.bad(WHY_TOO_LONG, MAX_PACKET, n)
        h = self.rtp_header_length(src, n)
        if h < 0:
            return ST_BAD_PACKET
        if cap < n + self.rtp_tag_len:
            return self.count(ST_NO_ROOM)
        seq = load_u16(src + 2)
        ssrc = load_u32(src + 8)
        s = table_find(&self.tx, ssrc)
        if s == NULL:
            s = self.insert(&self.tx, ssrc, &st)
            if s == NULL:
                return self.count(st)
        # RFC 3711 §3.3.1: the sender tracks its index like a receiver (so
        # resends and reordered sends find the right ROC), §3.3.2: refusing an
        # index it already used unless allow_repeat_tx (RTX/NACK resends).
        idx = estimate_index(s, seq)
        st = window_check(s.rtp_window, s.rtp_top, s.rtp_started, idx,
                          self.replay_window, self.window_mask)
        if st != ST_OK and not (st == ST_REPLAY_DUP and self.allow_repeat_tx):
            return self.count(st)
        if dst != src:
            memcpy(dst, src, h)
        make_iv(iv, self.rtp_salt, ssrc, idx)
        if self.aead:
            # RFC 7714 §8.2: AAD = the RTP header (with CSRCs and extension),
            # plaintext = the payload; tag-only mode: AAD = the whole packet.
            if self.encrypt_rtp:
                r = gcm_seal(self.rtp_enc, iv + 2, dst, h, NULL, 0,
                             src + h, dst + h, n - h, dst + n)
            else:
                if dst != src:
                    memcpy(dst + h, src + h, n - h)
                r = gcm_seal(self.rtp_enc, iv + 2, dst, n, NULL, 0, NULL, NULL, 0, dst + n)
        else:
            # RFC 3711 §3.3 steps 4-7: encrypt the payload with AES-CM, then
            # tag = HMAC-SHA1(k_a, header || ciphertext || ROC), truncated.
            r = 0
            if self.encrypt_rtp:
                r = ctr_xor(self.rtp_enc, iv, src + h, dst + h, n - h)
            elif dst != src:
                memcpy(dst + h, src + h, n - h)
            if r == 0:
                store_u32(roc, <uint32_t>(idx >> 16))
                r = hmac_sha1(self.rtp_auth, dst, n, roc, 4, mac)
                memcpy(dst + n, mac, self.rtp_tag_len)
        if r != 0:
            ERR_clear_error()
            return self.count(ST_CRYPTO_ERROR)
        window_add(s.rtp_window, &s.rtp_top, &s.rtp_started, idx,
                   self.window_words, self.window_mask)
        s.rtp_packets += 1
        s.rtp_bytes += <uint64_t>n
        self.rtp_protected += 1
        out_n[0] = n + self.rtp_tag_len
        return ST_OK

    cdef int rtp_unprotect(self, const uint8_t* src, uint8_t* dst, Py_ssize_t n,
                           Py_ssize_t* out_n) noexcept nogil:
        cdef Py_ssize_t h, m
        cdef uint16_t seq
        cdef uint32_t ssrc
        cdef uint64_t idx
        cdef int st = ST_OK, r
        cdef srtp_stream_t* s
        cdef uint8_t iv[16]
        cdef uint8_t roc[4]
        cdef uint8_t mac[SHA1_LEN]
        if n < RTP_HEADER_LEN + self.rtp_tag_len:
            return self.bad(WHY_SHORT, RTP_HEADER_LEN + self.rtp_tag_len, n)
        if n > MAX_PACKET:
            return self.bad(WHY_TOO_LONG, MAX_PACKET, n)
        m = n - self.rtp_tag_len  # RFC 3711 §3.1: the authenticated portion
        h = self.rtp_header_length(src, m)
        if h < 0:
            return ST_BAD_PACKET
        seq = load_u16(src + 2)
        ssrc = load_u32(src + 8)
        s = table_find(&self.rx, ssrc)
        if s != NULL:
            # RFC 3711 §3.3 steps 1-2: estimate the index, then the cheap
            # replay check before any cryptography.
            idx = estimate_index(s, seq)
            st = window_check(s.rtp_window, s.rtp_top, s.rtp_started, idx,
                              self.replay_window, self.window_mask)
            if st != ST_OK:
                return self.count(st)
        else:
            if self.rx.count >= self.max_streams:
                return self.count(ST_STREAM_LIMIT)
            idx = seq  # RFC 3711 §3.3.1: a new stream's ROC is 0
        make_iv(iv, self.rtp_salt, ssrc, idx)
        if self.aead:
            # RFC 7714 §8.2: decrypt and verify in one pass.
            if self.encrypt_rtp:
                if dst != src:
                    memcpy(dst, src, h)
                r = gcm_open(self.rtp_dec, iv + 2, src, h, NULL, 0,
                             src + h, dst + h, m - h, src + m)
            else:
                r = gcm_open(self.rtp_dec, iv + 2, src, m, NULL, 0, NULL, NULL, 0, src + m)
                if r == 0 and dst != src:
                    memcpy(dst, src, m)
        else:
            # RFC 3711 §3.3 step 5: verify the tag first, then decrypt.
            store_u32(roc, <uint32_t>(idx >> 16))
            r = hmac_sha1(self.rtp_auth, src, m, roc, 4, mac)
            if r == 0 and CRYPTO_memcmp(mac, src + m, <size_t>self.rtp_tag_len) != 0:
                r = 1
            if r == 0:
                if dst != src:
                    memcpy(dst, src, h)
                if self.encrypt_rtp:
                    r = ctr_xor(self.rtp_enc, iv, src + h, dst + h, m - h)
                elif dst != src:
                    memcpy(dst + h, src + h, m - h)
        if r != 0:
            ERR_clear_error()
            return self.count(ST_AUTH_FAIL if r == 1 else ST_CRYPTO_ERROR)
        if s == NULL:
            # The first authenticated packet of an SSRC creates its stream.
            s = self.insert(&self.rx, ssrc, &st)
            if s == NULL:
                return self.count(st)
        # RFC 3711 §3.3.1 / §3.3.2: only now update ROC, s_l and the window.
        window_add(s.rtp_window, &s.rtp_top, &s.rtp_started, idx,
                   self.window_words, self.window_mask)
        s.rtp_packets += 1
        s.rtp_bytes += <uint64_t>m
        self.rtp_unprotected += 1
        out_n[0] = m
        return ST_OK

    cdef int rtcp_protect(self, const uint8_t* src, uint8_t* dst, Py_ssize_t n,
                          Py_ssize_t cap, Py_ssize_t* out_n) noexcept nogil:
        cdef uint32_t ssrc, word
        cdef uint64_t idx
        cdef int st = ST_OK, r
        cdef srtp_stream_t* s
        cdef uint8_t iv[16]
        cdef uint8_t wb[4]
        cdef uint8_t mac[SHA1_LEN]
        cdef Py_ssize_t trailer = SRTCP_INDEX_LEN + self.rtcp_tag_len
        if n < RTCP_HEADER_LEN:
            return self.bad(WHY_SHORT, RTCP_HEADER_LEN, n)
        if n > MAX_PACKET:
            return self.bad(WHY_TOO_LONG, MAX_PACKET, n)
        if (src[0] >> 6) != 2:  # RFC 3550 §6.4.1: version = 2
            return self.bad(WHY_VERSION, 2, src[0] >> 6)
        if cap < n + trailer:
            return self.count(ST_NO_ROOM)
        ssrc = load_u32(src + 4)
        s = table_find(&self.tx, ssrc)
        if s == NULL:
            s = self.insert(&self.tx, ssrc, &st)
            if s == NULL:
                return self.count(st)
        # RFC 3711 §3.3.2: the SRTCP index starts at 0 and counts packets sent;
        # it must not wrap (re-key first, §9.2).
        idx = s.rtcp_top
        if idx > SRTCP_INDEX_MASK:
            return self.count(ST_INDEX_EXHAUSTED)
        # RFC 3711 §3.4: E flag set when the packet is encrypted.
        word = <uint32_t>idx | (SRTCP_E_FLAG if self.encrypt_rtcp else 0)
        store_u32(wb, word)
        if dst != src:
            memcpy(dst, src, RTCP_HEADER_LEN)
        make_iv(iv, self.rtcp_salt, ssrc, idx)
        if self.aead:
            # RFC 7714 §9.2: AAD = first 8 octets || E+index word, plaintext =
            # the rest; the word follows the tag (§9.1 packet layout).  E = 0:
            # AAD = the whole packet || word, nothing encrypted (§9.3).
            if self.encrypt_rtcp:
                r = gcm_seal(self.rtcp_enc, iv + 2, dst, RTCP_HEADER_LEN, wb, 4,
                             src + RTCP_HEADER_LEN, dst + RTCP_HEADER_LEN,
                             n - RTCP_HEADER_LEN, dst + n)
            else:
                if dst != src:
                    memcpy(dst + RTCP_HEADER_LEN, src + RTCP_HEADER_LEN, n - RTCP_HEADER_LEN)
                r = gcm_seal(self.rtcp_enc, iv + 2, dst, n, wb, 4, NULL, NULL, 0, dst + n)
            memcpy(dst + n + GCM_TAG_LEN, wb, 4)
        else:
            # RFC 3711 §3.4: encrypt from octet 8, append E || index, then
            # tag = HMAC-SHA1(k_a, packet || E || index) (80 bits, all profiles).
            r = 0
            if self.encrypt_rtcp:
                r = ctr_xor(self.rtcp_enc, iv, src + RTCP_HEADER_LEN, dst + RTCP_HEADER_LEN,
                            n - RTCP_HEADER_LEN)
            elif dst != src:
                memcpy(dst + RTCP_HEADER_LEN, src + RTCP_HEADER_LEN, n - RTCP_HEADER_LEN)
            memcpy(dst + n, wb, 4)
            if r == 0:
                r = hmac_sha1(self.rtcp_auth, dst, n + 4, NULL, 0, mac)
                memcpy(dst + n + 4, mac, self.rtcp_tag_len)
        if r != 0:
            ERR_clear_error()
            return self.count(ST_CRYPTO_ERROR)
        s.rtcp_top = idx + 1  # RFC 3711 §3.3.2: incremented by one per packet sent
        s.rtcp_packets += 1
        s.rtcp_bytes += <uint64_t>n
        self.rtcp_protected += 1
        out_n[0] = n + trailer
        return ST_OK

    cdef int rtcp_unprotect(self, const uint8_t* src, uint8_t* dst, Py_ssize_t n,
                            Py_ssize_t* out_n) noexcept nogil:
        cdef Py_ssize_t trailer = SRTCP_INDEX_LEN + self.rtcp_tag_len
        cdef Py_ssize_t end      # end of the (encrypted) RTCP packet
        cdef const uint8_t* tag
        cdef const uint8_t* wp   # the E || index word
        cdef uint32_t ssrc, word
        cdef uint64_t idx
        cdef bint e
        cdef int st = ST_OK, r
        cdef srtp_stream_t* s
        cdef uint8_t iv[16]
        cdef uint8_t mac[SHA1_LEN]
        if n < RTCP_HEADER_LEN + trailer:
            return self.bad(WHY_SHORT, RTCP_HEADER_LEN + trailer, n)
        if n > MAX_PACKET:
            return self.bad(WHY_TOO_LONG, MAX_PACKET, n)
        if (src[0] >> 6) != 2:  # RFC 3550 §6.4.1: version = 2
            return self.bad(WHY_VERSION, 2, src[0] >> 6)
        end = n - trailer
        if self.aead:
            # RFC 7714 §9.1: packet || tag || E+index.
            tag = src + end
            wp = src + n - 4
        else:
            # RFC 3711 §3.4: packet || E+index || tag.
            wp = src + end
            tag = src + end + 4
        word = load_u32(wp)
        e = (word & SRTCP_E_FLAG) != 0
        idx = word & SRTCP_INDEX_MASK
        if e != self.encrypt_rtcp:
            # libsrtp refuses a packet whose E flag differs from the policy too.
            return self.bad(WHY_E_FLAG, 1 if self.encrypt_rtcp else 0, 1 if e else 0)
        ssrc = load_u32(src + 4)
        s = table_find(&self.rx, ssrc)
        if s != NULL:
            # RFC 3711 §3.4 / §3.3.2: replay check on the SRTCP index.
            st = window_check(s.rtcp_window, s.rtcp_top, s.rtcp_started, idx,
                              self.replay_window, self.window_mask)
            if st != ST_OK:
                return self.count(st)
        elif self.rx.count >= self.max_streams:
            return self.count(ST_STREAM_LIMIT)
        make_iv(iv, self.rtcp_salt, ssrc, idx)
        if self.aead:
            if e:
                if dst != src:
                    memcpy(dst, src, RTCP_HEADER_LEN)
                r = gcm_open(self.rtcp_dec, iv + 2, src, RTCP_HEADER_LEN, wp, 4,
                             src + RTCP_HEADER_LEN, dst + RTCP_HEADER_LEN,
                             end - RTCP_HEADER_LEN, tag)
            else:
                r = gcm_open(self.rtcp_dec, iv + 2, src, end, wp, 4, NULL, NULL, 0, tag)
                if r == 0 and dst != src:
                    memcpy(dst, src, end)
        else:
            r = hmac_sha1(self.rtcp_auth, src, end + 4, NULL, 0, mac)
            if r == 0 and CRYPTO_memcmp(mac, tag, <size_t>self.rtcp_tag_len) != 0:
                r = 1
            if r == 0:
                if dst != src:
                    memcpy(dst, src, RTCP_HEADER_LEN)
                if e:
                    r = ctr_xor(self.rtcp_enc, iv, src + RTCP_HEADER_LEN,
                                dst + RTCP_HEADER_LEN, end - RTCP_HEADER_LEN)
                elif dst != src:
                    memcpy(dst + RTCP_HEADER_LEN, src + RTCP_HEADER_LEN,
                           end - RTCP_HEADER_LEN)
        if r != 0:
            ERR_clear_error()
            return self.count(ST_AUTH_FAIL if r == 1 else ST_CRYPTO_ERROR)
        if s == NULL:
            s = self.insert(&self.rx, ssrc, &st)
            if s == NULL:
                return self.count(st)
        window_add(s.rtcp_window, &s.rtcp_top, &s.rtcp_started, idx,
                   self.window_words, self.window_mask)
        s.rtcp_packets += 1
        s.rtcp_bytes += <uint64_t>end
        self.rtcp_unprotected += 1
        out_n[0] = end
        return ST_OK

    # ------------------------------------------------------ Python errors

    cdef int _usable(self) except -1:
        if not self.keyed:
            raise RuntimeError("SrtpSession is not keyed")
        if self.busy:
            raise RuntimeError("SrtpSession is in use by a batch call in another thread")
        return 0

    cdef int _raise(self, int st, int op, const uint8_t* p, Py_ssize_t n) except -1:
        cdef str what = ("RTP packet", "SRTP packet", "RTCP packet", "SRTCP packet")[op]
        cdef bint rtcp = op >= OP_RTCP_PROTECT
        cdef str where = ""
        if st == ST_BAD_PACKET:
            if self.err_why == WHY_SHORT:
                fail_short(SrtpParseError, what, self.err_need, self.err_have)
            if self.err_why == WHY_VERSION:
                raise SrtpParseError(f"{'RTCP' if rtcp else 'RTP'} version must be 2, "
                                     f"got {self.err_have}")
            if self.err_why == WHY_HEADER:
                fail_short(SrtpParseError, "RTP header (with CSRCs and extension)",
                           self.err_need, self.err_have)
            if self.err_why == WHY_TOO_LONG:
                raise SrtpParseError(f"{what} too long: {self.err_have} bytes, "
                                     f"at most {self.err_need}")
            if self.err_why == WHY_E_FLAG:
                raise SrtpParseError(f"SRTCP E flag is {self.err_have} but this session "
                                     f"{'encrypts' if self.err_need else 'does not encrypt'}"
                                     " RTCP")
            raise SrtpParseError(f"bad {what}")
        if rtcp and n >= 8:
            where = f" (SSRC 0x{load_u32(p + 4):08x})"
        elif not rtcp and n >= 12:
            where = f" (SSRC 0x{load_u32(p + 8):08x}, seq {load_u16(p + 2)})"
        if st == ST_AUTH_FAIL:
            raise SrtpAuthError(f"{what} authentication failed{where}")
        if st == ST_REPLAY_DUP:
            raise SrtpReplayError(f"{what} replayed: index already used{where}")
        if st == ST_REPLAY_OLD:
            e = SrtpReplayError(f"{what} too old: index left of the "
                                f"{self.replay_window}-packet replay window{where}")
            e.status = SrtpStatus.REPLAY_OLD
            raise e
        if st == ST_STREAM_LIMIT:
            raise SrtpStreamLimitError(f"{what} of a new SSRC refused: the session "
                                       f"already has max_streams={self.max_streams} "
                                       f"streams{where}")
        if st == ST_INDEX_EXHAUSTED:
            e = SrtpError(f"SRTCP index exhausted (2^31 packets){where}: re-key")
            e.status = SrtpStatus.INDEX_EXHAUSTED
            raise e
        raise SrtpError(f"{what}: OpenSSL failure or out of memory{where}")

    # ---------------------------------------------------- per-call API

    def protect(self, rtp) -> bytes:
        """SRTP-protect one RTP packet (RFC 3711 §3.3; RFC 7714 §8)."""
        cdef Py_buffer view
        cdef const uint8_t* p
        cdef Py_ssize_t n, out_n = 0
        cdef int st
        cdef bint held = False
        self._usable()
        if type(rtp) is bytes:
            p = <const uint8_t*>PyBytes_AS_STRING(rtp)
            n = PyBytes_GET_SIZE(rtp)
        else:
            PyObject_GetBuffer(rtp, &view, PyBUF_SIMPLE)
            held = True
            p = <const uint8_t*>view.buf
            n = view.len
        try:
            out = PyBytes_FromStringAndSize(NULL, n + self.rtp_tag_len)
            st = self.rtp_protect(p, <uint8_t*>PyBytes_AS_STRING(out), n,
                                  n + self.rtp_tag_len, &out_n)
            if st != ST_OK:
                self._raise(st, OP_RTP_PROTECT, p, n)
            return out
        finally:
            if held:
                PyBuffer_Release(&view)

    def unprotect(self, srtp) -> bytes:
        """Verify and decrypt one SRTP packet; returns the RTP packet."""
        cdef Py_buffer view
        cdef const uint8_t* p
        cdef Py_ssize_t n, out_n = 0
        cdef int st
        cdef bint held = False
        self._usable()
        if type(srtp) is bytes:
            p = <const uint8_t*>PyBytes_AS_STRING(srtp)
            n = PyBytes_GET_SIZE(srtp)
        else:
            PyObject_GetBuffer(srtp, &view, PyBUF_SIMPLE)
            held = True
            p = <const uint8_t*>view.buf
            n = view.len
        try:
            if n < RTP_HEADER_LEN + self.rtp_tag_len or n > MAX_PACKET:
                st = self.rtp_unprotect(p, NULL, n, &out_n)  # refused before dst is used
                self._raise(st, OP_RTP_UNPROTECT, p, n)
            out = PyBytes_FromStringAndSize(NULL, n - self.rtp_tag_len)
            st = self.rtp_unprotect(p, <uint8_t*>PyBytes_AS_STRING(out), n, &out_n)
            if st != ST_OK:
                self._raise(st, OP_RTP_UNPROTECT, p, n)
            return out
        finally:
            if held:
                PyBuffer_Release(&view)

    def protect_rtcp(self, rtcp) -> bytes:
        """SRTCP-protect one (compound) RTCP packet (RFC 3711 §3.4; RFC 7714 §9)."""
        cdef Py_buffer view
        cdef const uint8_t* p
        cdef Py_ssize_t n, out_n = 0
        cdef Py_ssize_t trailer = SRTCP_INDEX_LEN + self.rtcp_tag_len
        cdef int st
        cdef bint held = False
        self._usable()
        PyObject_GetBuffer(rtcp, &view, PyBUF_SIMPLE)
        held = True
        p = <const uint8_t*>view.buf
        n = view.len
        try:
            out = PyBytes_FromStringAndSize(NULL, n + trailer)
            st = self.rtcp_protect(p, <uint8_t*>PyBytes_AS_STRING(out), n, n + trailer, &out_n)
            if st != ST_OK:
                self._raise(st, OP_RTCP_PROTECT, p, n)
            return out
        finally:
            if held:
                PyBuffer_Release(&view)

    def unprotect_rtcp(self, srtcp) -> bytes:
        """Verify and decrypt one SRTCP packet; returns the RTCP packet."""
        cdef Py_buffer view
        cdef const uint8_t* p
        cdef Py_ssize_t n, out_n = 0
        cdef Py_ssize_t trailer = SRTCP_INDEX_LEN + self.rtcp_tag_len
        cdef int st
        cdef bint held = False
        self._usable()
        PyObject_GetBuffer(srtcp, &view, PyBUF_SIMPLE)
        held = True
        p = <const uint8_t*>view.buf
        n = view.len
        try:
            if n < RTCP_HEADER_LEN + trailer or n > MAX_PACKET:
                st = self.rtcp_unprotect(p, NULL, n, &out_n)
                self._raise(st, OP_RTCP_UNPROTECT, p, n)
            out = PyBytes_FromStringAndSize(NULL, n - trailer)
            st = self.rtcp_unprotect(p, <uint8_t*>PyBytes_AS_STRING(out), n, &out_n)
            if st != ST_OK:
                self._raise(st, OP_RTCP_UNPROTECT, p, n)
            return out
        finally:
            if held:
                PyBuffer_Release(&view)

    # ------------------------------------------------------- batch API

    cdef Py_ssize_t _batch(self, int op, buf, offsets, lengths, out_lengths,
                           out_status) except -1:
        cdef Py_buffer bv, ov, lv, olv, osv
        cdef int_array_t offs, lens, olens, stats
        cdef int held = 0
        cdef Py_ssize_t i, count, ok = 0, out_n
        cdef int64_t off, ln, nxt, lim
        cdef Py_ssize_t blen
        cdef uint8_t* base
        cdef uint8_t* p
        cdef int st
        self._usable()
        PyObject_GetBuffer(buf, &bv, PyBUF_SIMPLE | PyBUF_WRITABLE)
        held = 1
        try:
            acquire_ints(&ov, &offs, offsets, False, 1, "offsets")
            held = 2
            acquire_ints(&lv, &lens, lengths, False, 1, "lengths")
            held = 3
            acquire_ints(&olv, &olens, out_lengths, True, 4, "out_lengths")
            held = 4
            acquire_ints(&osv, &stats, out_status, True, 1, "out_status")
            held = 5
            count = offs.n
            if lens.n != count or olens.n != count or stats.n != count:
                raise ValueError(f"offsets, lengths, out_lengths and out_status must have "
                                 f"the same length, got {offs.n}, {lens.n}, {olens.n}, "
                                 f"{stats.n}")
            base = <uint8_t*>bv.buf
            blen = bv.len
            self.busy = True
            with nogil:
                for i in range(count):
                    off = ints_get(&offs, i)
                    ln = ints_get(&lens, i)
                    out_n = 0
                    if off < 0 or ln < 0 or off > blen or ln > blen - off:
                        st = self.count(ST_BAD_PACKET)
                        self.err_why = WHY_SHORT
                    else:
                        # The slot ends at the next packet's offset (when the
                        # offsets ascend) or at the end of the buffer.
                        lim = blen
                        if i + 1 < count:
                            nxt = ints_get(&offs, i + 1)
                            if nxt > off and nxt < lim:
                                lim = nxt
                        p = base + off
                        if op == OP_RTP_PROTECT:
                            st = self.rtp_protect(p, p, <Py_ssize_t>ln,
                                                  <Py_ssize_t>(lim - off), &out_n)
                        elif op == OP_RTP_UNPROTECT:
                            st = self.rtp_unprotect(p, p, <Py_ssize_t>ln, &out_n)
                        elif op == OP_RTCP_PROTECT:
                            st = self.rtcp_protect(p, p, <Py_ssize_t>ln,
                                                   <Py_ssize_t>(lim - off), &out_n)
                        else:
                            st = self.rtcp_unprotect(p, p, <Py_ssize_t>ln, &out_n)
                    if st == ST_OK:
                        ok += 1
                    ints_set(&olens, i, out_n)
                    ints_set(&stats, i, st)
            self.busy = False
        finally:
            self.busy = False
            if held >= 5:
                PyBuffer_Release(&osv)
            if held >= 4:
                PyBuffer_Release(&olv)
            if held >= 3:
                PyBuffer_Release(&lv)
            if held >= 2:
                PyBuffer_Release(&ov)
            PyBuffer_Release(&bv)
        return ok

    def protect_batch(self, buf, offsets, lengths, out_lengths, out_status) -> int:
        """Protect many RTP packets in place in ``buf`` without the GIL.

        Packet ``i`` is ``buf[offsets[i]:offsets[i] + lengths[i]]`` and sits in
        a slot with room for the tag after it: the slot ends at
        ``offsets[i + 1]`` (when that is larger) or at the end of ``buf``; leave
        at least ``SRTP_MAX_TRAILER`` (16) bytes.  The SRTP packet replaces it;
        ``out_lengths[i]`` gets its length (0 on failure) and ``out_status[i]``
        an :class:`SrtpStatus`.  Returns the number of packets protected.
        ``offsets``/``lengths`` are integer arrays (array.array, numpy),
        ``out_lengths`` (>= 32-bit) and ``out_status`` writable ones.
        """
        return self._batch(OP_RTP_PROTECT, buf, offsets, lengths, out_lengths, out_status)

    def unprotect_batch(self, buf, offsets, lengths, out_lengths, out_status) -> int:
        """Unprotect many SRTP packets in place (layout as :meth:`protect_batch`).

        On success the RTP packet replaces the SRTP packet at the same offset;
        on failure the slot's bytes are unspecified (AEAD decrypts before the
        tag is known to be bad) and ``out_lengths[i]`` is 0.
        """
        return self._batch(OP_RTP_UNPROTECT, buf, offsets, lengths, out_lengths, out_status)

    def protect_rtcp_batch(self, buf, offsets, lengths, out_lengths, out_status) -> int:
        """:meth:`protect_batch` for RTCP: slots need ``SRTCP_MAX_TRAILER`` (20)
        bytes of room after each packet."""
        return self._batch(OP_RTCP_PROTECT, buf, offsets, lengths, out_lengths, out_status)

    def unprotect_rtcp_batch(self, buf, offsets, lengths, out_lengths, out_status) -> int:
        """:meth:`unprotect_batch` for SRTCP."""
        return self._batch(OP_RTCP_UNPROTECT, buf, offsets, lengths, out_lengths, out_status)

    # ---------------------------------------------------------- streams

    @property
    def rtp_overhead(self) -> int:
        """Bytes ``protect`` adds to an RTP packet (the tag)."""
        return self.rtp_tag_len

    @property
    def rtcp_overhead(self) -> int:
        """Bytes ``protect_rtcp`` adds to an RTCP packet (index word + tag)."""
        return SRTCP_INDEX_LEN + self.rtcp_tag_len

    def remove_stream(self, unsigned int ssrc) -> bool:
        """Forget the sending and receiving state of ``ssrc`` (e.g. after an
        RTCP BYE).  Returns whether there was any."""
        self._usable()
        a = table_remove(&self.tx, ssrc)
        b = table_remove(&self.rx, ssrc)
        return a or b

    def _set_srtcp_index(self, unsigned int ssrc, unsigned int index) -> None:
        """Set the next SRTCP index sent for ``ssrc`` (test hook)."""
        cdef int st = ST_OK
        cdef srtp_stream_t* s
        self._usable()
        s = table_find(&self.tx, ssrc)
        if s == NULL:
            s = self.insert(&self.tx, ssrc, &st)
            if s == NULL:
                self._raise(st, OP_RTCP_PROTECT, NULL, 0)
        s.rtcp_top = index

    cdef dict _stream_dict(self, const srtp_stream_t* s, bint tx):
        d = {
            "ssrc": s.ssrc,
            "direction": "tx" if tx else "rx",
            "roc": <uint32_t>(s.rtp_top >> 16) if s.rtp_started else 0,
            "rtp_packets": s.rtp_packets,
            "rtp_bytes": s.rtp_bytes,
            "rtcp_packets": s.rtcp_packets,
            "rtcp_bytes": s.rtcp_bytes,
        }
        if tx:
            d["srtcp_index"] = s.rtcp_top
        else:
            d["srtcp_index"] = s.rtcp_top if s.rtcp_started else 0
        return d

    @property
    def stats(self) -> dict:
        """Counters: packets done per kind, failures per kind, and per-SSRC
        packets/bytes (plaintext sizes) and ROC for each direction."""
        cdef uint32_t i
        self._usable()  # a batch in another thread may be growing the tables
        streams = []
        if self.tx.slots != NULL:
            for i in range(self.tx.mask + 1):
                if self.tx.slots[i].used:
                    streams.append(self._stream_dict(&self.tx.slots[i], True))
        if self.rx.slots != NULL:
            for i in range(self.rx.mask + 1):
                if self.rx.slots[i].used:
                    streams.append(self._stream_dict(&self.rx.slots[i], False))
        streams.sort(key=lambda d: (d["direction"] != "tx", d["ssrc"]))
        return {
            "rtp_protected": self.rtp_protected,
            "rtp_unprotected": self.rtp_unprotected,
            "rtcp_protected": self.rtcp_protected,
            "rtcp_unprotected": self.rtcp_unprotected,
            "auth_fail": self.counters[ST_AUTH_FAIL],
            "replay_old": self.counters[ST_REPLAY_OLD],
            "replay_dup": self.counters[ST_REPLAY_DUP],
            "bad_packet": self.counters[ST_BAD_PACKET],
            "no_room": self.counters[ST_NO_ROOM],
            "stream_limit": self.counters[ST_STREAM_LIMIT],
            "crypto_error": self.counters[ST_CRYPTO_ERROR],
            "index_exhausted": self.counters[ST_INDEX_EXHAUSTED],
            "streams": streams,
        }

    def __repr__(self) -> str:
        try:
            name = SrtpProfile(self.profile).name
        except ValueError:
            name = "unkeyed"
        return (f"<SrtpSession {name} tx_streams={self.tx.count} "
                f"rx_streams={self.rx.count}>")


# -------------------------------------------------------- bench ceiling

cdef class _EvpGcmCeiling:
    """Raw EVP AES-128-GCM encryption of one buffer, as ``openssl speed -evp
    aes-128-gcm`` times it (EVP_EncryptUpdate only): the ceiling for SRTP."""

    cdef EVP_CIPHER_CTX* ctx
    cdef uint8_t* buf
    cdef int nbytes

    def __cinit__(self, int nbytes=1024):
        cdef uint8_t key[16]
        cdef uint8_t iv[12]
        self.ctx = NULL
        self.buf = NULL
        if nbytes < 1 or nbytes > (1 << 20):
            raise ValueError(f"nbytes must be 1..{1 << 20}, got {nbytes}")
        self.nbytes = nbytes
        memset(key, 7, 16)
        memset(iv, 9, 12)
        self.buf = <uint8_t*>calloc(nbytes, 1)
        self.ctx = EVP_CIPHER_CTX_new()
        if self.buf == NULL or self.ctx == NULL:
            raise MemoryError()
        if not EVP_EncryptInit_ex(self.ctx, EVP_aes_128_gcm(), NULL, key, iv):
            ERR_clear_error()
            raise MemoryError("OpenSSL AES-GCM init failed")

    def __dealloc__(self):
        if self.ctx != NULL:
            EVP_CIPHER_CTX_free(self.ctx)
        free(self.buf)

    def run(self, int iterations) -> None:
        """Encrypt the buffer ``iterations`` times (one IV per call)."""
        cdef int i, outl = 0, ok = 1
        cdef uint8_t iv[12]
        memset(iv, 9, 12)
        with nogil:
            ok = EVP_EncryptInit_ex(self.ctx, NULL, NULL, NULL, iv)
            for i in range(iterations):
                if ok:
                    ok = EVP_EncryptUpdate(self.ctx, self.buf, &outl, self.buf, self.nbytes)
        if not ok:
            ERR_clear_error()
            raise MemoryError("OpenSSL AES-GCM failed")


def _live_objects():
    """Live instances per class in a debug build (RTCENGINE_DEBUG=1); None in
    a normal build.  See rtcengine._core.debug."""
    if not RTCE_LIVE:
        return None
    return {"SrtpSession": _live_SrtpSession}
