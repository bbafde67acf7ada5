# SRTP / SRTCP sessions (RFC 3711, RFC 7714, RFC 5764) over OpenSSL's libcrypto.
#
# The layout below lets other modules (the relay path, DTLS) cimport a session
# and call the nogil C entry points without a Python call per packet.

cimport cython
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from rtcengine._core.openssl cimport EVP_CIPHER_CTX
from rtcengine._core.hmac cimport HmacKey


# Per-packet results (also the values of the Python ``SrtpStatus`` IntEnum).
cdef enum:
    ST_OK = 0
    ST_AUTH_FAIL = 1       # RFC 3711 §3.3 step 5 / RFC 7714 §8.2: tag mismatch
    ST_REPLAY_OLD = 2      # RFC 3711 §3.3.2: index left of the replay window
    ST_REPLAY_DUP = 3      # RFC 3711 §3.3.2: index already seen in the window
    ST_BAD_PACKET = 4      # not an RTP/RTCP packet we can process (too short, bad version ...)
    ST_NO_ROOM = 5         # batch slot too small for the tag (protect)
    ST_STREAM_LIMIT = 6    # a new SSRC beyond max_streams: refused
    ST_CRYPTO_ERROR = 7    # OpenSSL failed (or out of memory): packet refused
    ST_INDEX_EXHAUSTED = 8 # RFC 3711 §3.3.2 / §9.2: SRTCP index would pass 2^31 - 1
    ST_COUNT = 9


# One SSRC's state in one direction (RFC 3711 §3.2.3 cryptographic context,
# minus the keys, which are per session since WebRTC keys per DTLS association).
ctypedef struct srtp_stream_t:
    uint32_t ssrc
    uint8_t used            # slot occupied
    uint8_t rtp_started     # an SRTP packet was accepted: rtp_top is valid
    uint8_t rtcp_started    # rx: an SRTCP packet was accepted: rtcp_top is valid
    uint64_t rtp_top        # highest accepted packet index i = 2^16 * ROC + SEQ (RFC 3711 §3.3.1)
    uint64_t rtcp_top       # tx: next SRTCP index to send; rx: highest accepted SRTCP index
    uint64_t* rtp_window    # replay bitmap over packet indices (bit i & window_mask)
    uint64_t* rtcp_window   # replay bitmap over SRTCP indices (rx)
    uint64_t rtp_packets
    uint64_t rtp_bytes
    uint64_t rtcp_packets
    uint64_t rtcp_bytes


# Open-addressed (linear probing) table of streams keyed by SSRC; capacity is
# a power of two, grown on insert (never per packet of a known SSRC).
ctypedef struct stream_table_t:
    srtp_stream_t* slots
    uint32_t mask           # capacity - 1
    uint32_t shift          # 32 - log2(capacity), for the multiplicative hash
    uint32_t count


@cython.final
cdef class SrtpSession:
    cdef readonly int profile
    cdef int key_len, salt_len          # session key/salt lengths (= master lengths)
    cdef int rtp_tag_len, rtcp_tag_len
    cdef bint aead                      # AEAD_AES_*_GCM (RFC 7714) vs AES-CM + HMAC-SHA1
    cdef bint keyed
    cdef bint busy                      # a batch call runs without the GIL
    cdef bint encrypt_rtp, encrypt_rtcp # False only for tests (RFC 7714 tag-only vectors)
    cdef public bint allow_repeat_tx
    cdef readonly uint32_t replay_window
    cdef readonly uint32_t max_streams
    cdef uint32_t window_words          # 64-bit words per replay bitmap (power of two)
    cdef uint64_t window_mask           # bits per bitmap - 1

    # AES-CM: *_enc is the only context (CTR is its own inverse).
    # GCM: separate encrypt and decrypt contexts, keyed once.
    cdef EVP_CIPHER_CTX* rtp_enc
    cdef EVP_CIPHER_CTX* rtp_dec
    cdef EVP_CIPHER_CTX* rtcp_enc
    cdef EVP_CIPHER_CTX* rtcp_dec
    cdef uint8_t rtp_salt[16]           # session salt k_s (14 B AES-CM, 12 B GCM), zero-padded
    cdef uint8_t rtcp_salt[16]
    cdef HmacKey rtp_auth               # HMAC-SHA1 with the session auth key k_a (RFC 3711 §4.2.1)
    cdef HmacKey rtcp_auth

    cdef stream_table_t tx
    cdef stream_table_t rx
    cdef uint64_t counters[ST_COUNT]
    cdef uint64_t rtp_protected, rtp_unprotected, rtcp_protected, rtcp_unprotected

    # Detail of the last ST_BAD_PACKET, for the Python error message.
    cdef int err_why
    cdef Py_ssize_t err_need, err_have

    # C entry points: src[0:n] -> dst (dst may equal src: in place).  dst has
    # ``cap`` bytes of room (protect needs n + trailer).  Return an ST_* code and
    # set *out_n on ST_OK.  No Python object is touched; call with or without the GIL.
    cdef int rtp_protect(self, const uint8_t* src, uint8_t* dst, Py_ssize_t n,
                         Py_ssize_t cap, Py_ssize_t* out_n) noexcept nogil
    cdef int rtp_unprotect(self, const uint8_t* src, uint8_t* dst, Py_ssize_t n,
                           Py_ssize_t* out_n) noexcept nogil
    cdef int rtcp_protect(self, const uint8_t* src, uint8_t* dst, Py_ssize_t n,
                          Py_ssize_t cap, Py_ssize_t* out_n) noexcept nogil
    cdef int rtcp_unprotect(self, const uint8_t* src, uint8_t* dst, Py_ssize_t n,
                            Py_ssize_t* out_n) noexcept nogil

    # Key from a master key/salt at C level (DTLS-SRTP keying, RFC 5764 §4.2).
    cdef int key_master(self, int profile, const uint8_t* key, Py_ssize_t key_len,
                        const uint8_t* salt, Py_ssize_t salt_len, int replay_window,
                        bint allow_repeat_tx, int max_streams) except -1

    # Internals.
    cdef int _configure(self, int profile, int replay_window, bint allow_repeat_tx,
                        int max_streams) except -1
    cdef int _key(self, const uint8_t* rtp_key, const uint8_t* rtp_salt,
                  const uint8_t* rtp_auth, const uint8_t* rtcp_key,
                  const uint8_t* rtcp_salt, const uint8_t* rtcp_auth) except -1
    cdef int count(self, int st) noexcept nogil
    cdef int bad(self, int why, Py_ssize_t need, Py_ssize_t have) noexcept nogil
    cdef Py_ssize_t rtp_header_length(self, const uint8_t* p, Py_ssize_t n) noexcept nogil
    cdef srtp_stream_t* insert(self, stream_table_t* t, uint32_t ssrc, int* st) noexcept nogil
    cdef int _usable(self) except -1
    cdef int _raise(self, int st, int op, const uint8_t* p, Py_ssize_t n) except -1
    cdef Py_ssize_t _batch(self, int op, buf, offsets, lengths, out_lengths,
                           out_status) except -1
    cdef dict _stream_dict(self, const srtp_stream_t* s, bint tx)
