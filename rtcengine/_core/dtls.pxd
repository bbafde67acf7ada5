# Sans-IO DTLS 1.2 (RFC 6347) over libssl, with DTLS-SRTP (RFC 5764) keying.
#
# The C-visible layout of ``DtlsEndpoint`` so that the transport (and the SRTP
# wiring) can cimport it and reach the keying material without Python calls.
cimport cython
from libc.stdint cimport uint8_t
from rtcengine._core.openssl cimport SSL, SSL_CTX, BIO, X509, EVP_MD
from rtcengine._core.buffer cimport InputView

cdef enum:
    # How many remote fingerprints (RFC 8122 a=fingerprint lines) we keep.
    DTLS_MAX_FINGERPRINTS = 8
    # Largest digest we compare (SHA-512).
    DTLS_MAX_DIGEST = 64
    # RFC 7714 §14.2 / RFC 5764 §4.1.2: the largest SRTP master key (AEAD_AES_256_GCM)
    # and master salt (AES_CM: 14 bytes).
    DTLS_SRTP_MAX_KEY = 32
    DTLS_SRTP_MAX_SALT = 14


# Everything OpenSSL's callbacks (BIO, timer, verify, info) touch: plain C, so
# no callback handles a Python object.  Embedded in the endpoint; its address
# is stable for the endpoint's lifetime.
cdef struct DtlsIo:
    # The datagram being fed (valid during handle_datagram only).
    const uint8_t* in_ptr
    Py_ssize_t in_len
    # Outgoing datagrams: concatenated bytes + end offset of each datagram.
    uint8_t* out
    Py_ssize_t out_len
    Py_ssize_t out_cap
    Py_ssize_t* ends
    Py_ssize_t n_ends
    Py_ssize_t ends_cap
    Py_ssize_t next_poll         # index of the next datagram to hand out
    Py_ssize_t open_start        # start of the datagram being built, -1 if none
    Py_ssize_t mtu
    # Retransmission control (see the module docstring).
    void* openssl_timer          # OpenSSL's own next-timeout timeval (< 3.2)
    unsigned int timer_us        # what our timer callback tells OpenSSL
    bint flight_started          # OpenSSL armed its timer for a new flight
    bint oom                     # an allocation failed inside a callback
    # Remote fingerprints, RFC 8122 §5.
    int n_fp
    const EVP_MD* fp_md[DTLS_MAX_FINGERPRINTS]
    unsigned int fp_len[DTLS_MAX_FINGERPRINTS]
    uint8_t fp_value[DTLS_MAX_FINGERPRINTS * DTLS_MAX_DIGEST]
    int fp_state                 # 0 not seen yet, 1 matched, -1 mismatch
    X509* peer_cert              # owned reference, depth-0 certificate
    # Last alert seen (RFC 5246 §7.2: level << 8 | description), 0 if none.
    int alert_received
    int alert_sent


@cython.final
cdef class DtlsEndpoint:
    cdef DtlsIo io
    cdef SSL* ssl
    cdef BIO* bio
    cdef object context            # the shared SSL_CTX holder (kept alive)
    cdef readonly str role
    cdef int state_code
    cdef str _failure_reason
    cdef bint handshake_done
    cdef double initial_rto
    cdef double rto
    cdef double deadline           # < 0: no timer
    cdef list app_data             # received application data (bytes), oldest first
    cdef InputView inview          # reused for every datagram / send
    cdef uint8_t* scratch          # SSL_read buffer
    cdef readonly unsigned long datagrams_received
    cdef readonly unsigned long datagrams_dropped
    cdef readonly unsigned long datagrams_sent
    cdef readonly unsigned long retransmissions

    # RFC 5764 §4.2: the SRTP master keys and salts for this side.  Fills the
    # caller's buffers (DTLS_SRTP_MAX_KEY / _SALT bytes each) and the lengths;
    # returns the protection profile id (0x0001, 0x0002, 0x0007, 0x0008).
    cdef int srtp_keying(self, uint8_t* local_key, uint8_t* local_salt,
                         uint8_t* remote_key, uint8_t* remote_salt,
                         int* key_len, int* salt_len) except -1
    cdef int _set_fingerprints(self, object fingerprints) except -1
    cdef bint _well_formed(self, const uint8_t* p, Py_ssize_t n) noexcept
    cdef int _update_timer(self, double now) except -1
    cdef int _step(self, double now) except -1
    cdef int _read_app_data(self) except -1
    cdef int _fail(self, str reason) except -1
    cdef int _fail_from_openssl(self) except -1
