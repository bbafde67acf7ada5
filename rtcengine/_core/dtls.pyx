"""Sans-IO DTLS over OpenSSL's libssl: RFC 6347 (DTLS 1.2), RFC 5763/5764
(DTLS-SRTP), RFC 8122 (certificate fingerprints), RFC 8827 (WebRTC security).

A :class:`DtlsEndpoint` takes datagrams and virtual time in and gives
datagrams, application data and its next deadline out.  It never touches a
socket or reads a clock (DESIGN.md rule 1).

Datagrams.  OpenSSL talks to a small custom BIO: reading returns the one
datagram being fed, writing appends records to an outgoing datagram that is
closed on BIO_flush (OpenSSL flushes at the end of each flight), when the next
record would not fit the MTU, or when the public call returns.  OpenSSL asks
the BIO how much is pending (BIO_CTRL_WPENDING) to fit records into the MTU,
so a flight leaves as few, full datagrams (RFC 6347 §4.1.1: several records
may share one datagram).

Retransmission in virtual time (RFC 6347 §4.2.4).  OpenSSL's DTLS timer reads
the real clock, ``DTLSv1_handle_timeout`` acts only once that timer has
expired, and OpenSSL also checks it on every record read (and retransmits
from there, up to 12 times before failing).  So an "always expired" OpenSSL
timer (a tiny ``DTLS_set_timer_cb`` value) does not work: every read would
retransmit, and OpenSSL loops on it until its retry limit kills the
handshake.  Instead OpenSSL's timer is made to never expire on its own
(``DTLS_set_timer_cb`` answers one hour) and we keep the schedule in virtual
time: ``deadline = now + rto`` when a flight leaves (OpenSSL calls the timer
callback with 0 then); ``handle_timeout(now)`` at or after the deadline marks
OpenSSL's timer expired and calls ``DTLSv1_handle_timeout``, which
retransmits the flight; ``rto`` doubles up to 60 s (RFC 6347 §4.2.4.1).
OpenSSL 1.1.1-3.1 hand the BIO a pointer to their own timer
(BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT); that is how it is marked expired.  3.2+
pass a copy, so there the callback answers the real RTO instead and OpenSSL
retransmits when both its real timer and our deadline have passed (exact
with a real clock; virtual-time tests that skip ahead need OpenSSL < 3.2).
The initial RTO is 100 ms (RFC 9147 §5.8.2's figure, what WebRTC stacks use;
RFC 6347's 1 s is slow for interactive media); it is a constructor argument.

Identity (RFC 8122 §5, RFC 5763 §5).  The peer's certificate is self-signed;
it is checked against the SDP fingerprints in the verify callback, when its
Certificate message arrives, so a mismatch aborts the handshake (with a
bad_certificate alert) before any Finished: no application data can ever be
delivered on a failed identity check.
"""

cimport cython
from libc.stdint cimport uint8_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset
from cpython.bytes cimport PyBytes_FromStringAndSize

from rtcengine._core.buffer cimport InputView
from rtcengine._core.srtp cimport SrtpSession
from rtcengine._core.openssl cimport (
    ERR_get_error, ERR_peek_error, ERR_clear_error, ERR_error_string_n, CRYPTO_memcmp, OPENSSL_cleanse,
    EVP_MD, EVP_sha1, EVP_sha256, EVP_sha384, EVP_sha512, EVP_MD_size,
    X509, X509_STORE_CTX, EVP_PKEY, d2i_X509, i2d_X509, X509_free, X509_up_ref,
    X509_digest, X509_STORE_CTX_get_ex_data, X509_STORE_CTX_get_current_cert,
    X509_STORE_CTX_get_error_depth, X509_STORE_CTX_set_error, X509_V_ERR_CERT_REJECTED,
    d2i_AutoPrivateKey, EVP_PKEY_free,
    BIO, BIO_METHOD, BIO_TYPE_SOURCE_SINK, BIO_CTRL_FLUSH, BIO_CTRL_PENDING,
    BIO_CTRL_WPENDING, BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT, OpenSSL_version_num, BIO_get_new_index, BIO_meth_new, BIO_meth_set_write,
    BIO_meth_set_read, BIO_meth_set_ctrl, BIO_meth_set_create, BIO_meth_set_destroy,
    BIO_new, BIO_free, BIO_set_data, BIO_get_data, BIO_set_init, BIO_set_retry_read,
    BIO_clear_retry_flags,
    SSL_CTX, SSL, SSL_CIPHER, SRTP_PROTECTION_PROFILE, DTLS1_2_VERSION,
    SSL_OP_NO_QUERY_MTU, SSL_OP_NO_TICKET, SSL_OP_NO_RENEGOTIATION, SSL_OP_NO_COMPRESSION,
    SSL_VERIFY_PEER, SSL_VERIFY_FAIL_IF_NO_PEER_CERT, SSL_SESS_CACHE_OFF,
    SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE, SSL_ERROR_ZERO_RETURN,
    SSL_RECEIVED_SHUTDOWN, SSL_CB_ALERT, SSL_CB_READ,
    DTLS_method, SSL_CTX_new, SSL_CTX_free, SSL_CTX_set_options,
    SSL_CTX_set_min_proto_version, SSL_CTX_set_cipher_list, SSL_CTX_set1_groups_list,
    SSL_CTX_set_session_cache_mode, SSL_CTX_use_certificate, SSL_CTX_use_PrivateKey,
    SSL_CTX_check_private_key, SSL_CTX_set_verify, SSL_CTX_set_tlsext_use_srtp,
    SSL_new, SSL_free, SSL_set_bio, SSL_set_connect_state, SSL_set_accept_state,
    SSL_set_options, SSL_set_mtu, DTLS_set_timer_cb, DTLSv1_handle_timeout,
    DTLSv1_get_timeout, SSL_set_info_callback, SSL_set_ex_data, SSL_get_ex_data,
    SSL_get_ex_data_X509_STORE_CTX_idx, SSL_do_handshake, SSL_read, SSL_has_pending, SSL_write,
    SSL_shutdown, SSL_get_shutdown, SSL_get_error, SSL_get_version,
    SSL_get_current_cipher, SSL_CIPHER_standard_name, SSL_CIPHER_get_name,
    SSL_alert_desc_string_long, SSL_get_selected_srtp_profile, SSL_export_keying_material)

import weakref

from rtcengine.exceptions import InvalidAccessError, InvalidStateError


cdef extern from *:
    """
    #if defined(_WIN32)
    #include <winsock2.h>
    #else
    #include <sys/time.h>
    #endif
    /* OpenSSL < 3.2 keeps its DTLS timer in a struct timeval and hands its
       address to the BIO; {0, 1} is "running, expired long ago". */
    static void rtce_expire_timeval(void *p) {
        struct timeval *t = (struct timeval *)p;
        t->tv_sec = 0;
        t->tv_usec = 1;
    }
    """
    void rtce_expire_timeval(void* p) noexcept nogil


# --------------------------------------------------------------------- constants

cdef enum:
    # W3C webrtc-pc §5.5 RTCDtlsTransportState.
    ST_NEW = 0
    ST_CONNECTING = 1
    ST_CONNECTED = 2
    ST_CLOSED = 3
    ST_FAILED = 4
    # Largest plaintext in one record (RFC 6347 §4.1.1 / RFC 5246 §6.2.1: 2^14).
    MAX_RECORD_PLAINTEXT = 16384
    # RFC 6347 §4.1: DTLS record header = type(1) version(2) epoch(2) seq(6) length(2).
    RECORD_HEADER = 13
    # SSL ex_data slot holding our DtlsIo (slot 0 is "app data").
    EX_IO = 0

_STATE_NAMES = ("new", "connecting", "connected", "closed", "failed")

# RFC 6347 §4.2.4.1: double the timer on each retransmission, up to 60 s.
cdef double MAX_RTO = 60.0
# OpenSSL's own timer: one hour, i.e. never, when we can expire it ourselves.
cdef unsigned int OPENSSL_TIMER_NEVER_US = 3600000000u
# OpenSSL 1.1.1 up to 3.1 pass their live timer to the BIO (see the docstring).
cdef bint CAN_EXPIRE_TIMER = 0x10101000 <= OpenSSL_version_num() < 0x30200000

# RFC 8827 §6.5 / RFC 7525: AEAD suites with ECDHE only; ECDSA first (our
# default certificate), RSA for peers with RSA certificates.  A short list keeps
# the ClientHello well inside one datagram.
cdef bytes CIPHER_LIST = (
    b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    b"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
    b"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305")
# RFC 8422 §5.1.1 / RFC 7748: X25519 then P-256.
cdef bytes GROUPS = b"X25519:P-256"

# RFC 5764 §4.1.2 and RFC 7714 §14.2: protection profile id -> (OpenSSL name,
# master key length, master salt length).
SRTP_PROFILES = {
    0x0001: ("SRTP_AES128_CM_SHA1_80", 16, 14),
    0x0002: ("SRTP_AES128_CM_SHA1_32", 16, 14),
    0x0007: ("SRTP_AEAD_AES_128_GCM", 16, 12),
    0x0008: ("SRTP_AEAD_AES_256_GCM", 32, 12),
}
# What we offer by default, strongest first (the issue: GCM 256, GCM 128, CM-80).
DEFAULT_SRTP_PROFILES = (0x0008, 0x0007, 0x0001)
# RFC 5764 §4.2: the exporter label for the SRTP keying material.
cdef bytes SRTP_EXPORTER_LABEL = b"EXTRACTOR-dtls_srtp"


# ----------------------------------------------------------------------- helpers

cdef str openssl_error_text():
    """The oldest queued OpenSSL error as text (and clear the queue)."""
    cdef unsigned long e = ERR_get_error()
    cdef char buf[256]
    if e == 0:
        return "unknown OpenSSL error"
    ERR_error_string_n(e, buf, sizeof(buf))
    ERR_clear_error()
    return buf.decode("ascii", "replace")


cdef inline void clear_errors() noexcept nogil:
    # OpenSSL wants an empty error queue before each SSL_* I/O call; clearing
    # an empty queue still walks all its slots, so look first.
    if ERR_peek_error() != 0:
        ERR_clear_error()


cdef const EVP_MD* fingerprint_md(str algorithm) noexcept:
    # RFC 8122 §5 / RFC 4572 §5: hash function names from the IANA "Hash
    # Function Textual Names" registry.  MD2/MD5 are refused (RFC 8122 §5).
    if algorithm == "sha-256":
        return EVP_sha256()
    if algorithm == "sha-384":
        return EVP_sha384()
    if algorithm == "sha-512":
        return EVP_sha512()
    if algorithm == "sha-1":
        return EVP_sha1()
    return NULL


def parse_fingerprint_value(str value) -> bytes:
    """``"AB:CD:..."`` (RFC 8122 §5: uppercase hex pairs joined by colons;
    lowercase is accepted) to bytes; ValueError if malformed."""
    parts = value.strip().split(":")
    try:
        if any(len(p) != 2 for p in parts):
            raise ValueError
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"malformed fingerprint value {value!r}: expected hex pairs "
                         "separated by colons") from None


# ------------------------------------------------------------- OpenSSL callbacks

cdef int io_grow(DtlsIo* io, Py_ssize_t need) noexcept nogil:
    cdef Py_ssize_t cap
    cdef uint8_t* p
    if io.out_len + need <= io.out_cap:
        return 0
    cap = io.out_cap * 2 if io.out_cap else 4096
    while cap < io.out_len + need:
        cap *= 2
    p = <uint8_t*>realloc(io.out, cap)
    if p == NULL:
        return -1
    io.out = p
    io.out_cap = cap
    return 0


cdef int io_close_datagram(DtlsIo* io) noexcept nogil:
    """Finish the datagram being built (if any)."""
    cdef Py_ssize_t* e
    cdef Py_ssize_t cap
    if io.open_start < 0:
        return 0
    if io.out_len > io.open_start:
        if io.n_ends == io.ends_cap:
            cap = io.ends_cap * 2 if io.ends_cap else 16
            e = <Py_ssize_t*>realloc(io.ends, cap * sizeof(Py_ssize_t))
            if e == NULL:
                io.oom = True
                io.out_len = io.open_start      # drop it: DTLS tolerates loss
                io.open_start = -1
                return -1
            io.ends = e
            io.ends_cap = cap
        io.ends[io.n_ends] = io.out_len
        io.n_ends += 1
    io.open_start = -1
    return 0


cdef int bio_write(BIO* b, const char* data, int n) noexcept nogil:
    cdef DtlsIo* io = <DtlsIo*>BIO_get_data(b)
    BIO_clear_retry_flags(b)
    if io == NULL or n < 0:
        return -1
    # RFC 6347 §4.1.1: several records may share a datagram, up to the MTU.
    if io.open_start >= 0 and io.out_len - io.open_start + n > io.mtu:
        io_close_datagram(io)
    if io_grow(io, n) < 0:
        io.oom = True
        return -1
    if io.open_start < 0:
        io.open_start = io.out_len
    memcpy(io.out + io.out_len, data, n)
    io.out_len += n
    return n


cdef int bio_read(BIO* b, char* data, int n) noexcept nogil:
    cdef DtlsIo* io = <DtlsIo*>BIO_get_data(b)
    cdef Py_ssize_t k
    BIO_clear_retry_flags(b)
    if io == NULL:
        return -1
    if io.in_ptr == NULL:
        BIO_set_retry_read(b)
        return -1
    # One datagram per read (DTLS reads whole packets).
    k = io.in_len if io.in_len < n else n
    memcpy(data, io.in_ptr, k)
    io.in_ptr = NULL
    io.in_len = 0
    return <int>k


cdef long bio_ctrl(BIO* b, int cmd, long num, void* ptr) noexcept nogil:
    cdef DtlsIo* io = <DtlsIo*>BIO_get_data(b)
    if io == NULL:
        return 0
    if cmd == BIO_CTRL_FLUSH:
        io_close_datagram(io)
        return 1
    if cmd == BIO_CTRL_WPENDING:
        # How much of the current datagram is used, so OpenSSL can fit the
        # next record into the MTU.
        return <long>(io.out_len - io.open_start) if io.open_start >= 0 else 0
    if cmd == BIO_CTRL_PENDING:
        return <long>io.in_len if io.in_ptr != NULL else 0
    if cmd == BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:
        # OpenSSL < 3.2: the address of its own timer (stable for the SSL's life).
        if CAN_EXPIRE_TIMER:
            io.openssl_timer = ptr
        return 0
    return 0


cdef int bio_create(BIO* b) noexcept nogil:
    BIO_set_init(b, 1)
    return 1


cdef int bio_destroy(BIO* b) noexcept nogil:
    BIO_set_data(b, NULL)
    return 1


cdef unsigned int timer_cb(SSL* s, unsigned int timer_us) noexcept nogil:
    cdef DtlsIo* io = <DtlsIo*>SSL_get_ex_data(s, EX_IO)
    if io == NULL:
        return OPENSSL_TIMER_NEVER_US
    if timer_us == 0:
        # OpenSSL arms its timer for a new flight: start our schedule.
        io.flight_started = True
    return io.timer_us


cdef int verify_cb(int preverify_ok, X509_STORE_CTX* store) noexcept nogil:
    # RFC 8122 §5 / RFC 5763 §5: the certificate is self-signed; what matters
    # is that it matches the fingerprint from the signalling.  Only the
    # end-entity certificate (depth 0) is checked.
    cdef SSL* s = <SSL*>X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx())
    cdef DtlsIo* io
    cdef X509* cert
    cdef int i
    cdef uint8_t digest[DTLS_MAX_DIGEST]
    cdef unsigned int dlen
    if s == NULL:
        return 0
    io = <DtlsIo*>SSL_get_ex_data(s, EX_IO)
    if io == NULL:
        return 0
    if X509_STORE_CTX_get_error_depth(store) != 0:
        return 1
    cert = X509_STORE_CTX_get_current_cert(store)
    if cert == NULL:
        io.fp_state = -1
        return 0
    if io.fp_state == 0:
        io.fp_state = -1
        # RFC 8122 §5: the fingerprints given use the strongest hash we
        # support (filtered at construction); any one matching identifies the
        # certificate (several lines = several certificates).
        for i in range(io.n_fp):
            dlen = 0
            if not X509_digest(cert, io.fp_md[i], digest, &dlen):
                continue
            if dlen == io.fp_len[i] and CRYPTO_memcmp(
                    digest, &io.fp_value[i * DTLS_MAX_DIGEST], dlen) == 0:
                io.fp_state = 1
                break
        if io.fp_state == 1 and io.peer_cert == NULL and X509_up_ref(cert):
            io.peer_cert = cert
    if io.fp_state == 1:
        return 1
    # RFC 5246 §7.2.2: tell the peer with bad_certificate.
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED)
    return 0


cdef void info_cb(const SSL* s, int where, int ret) noexcept nogil:
    cdef DtlsIo* io
    if where & SSL_CB_ALERT:
        io = <DtlsIo*>SSL_get_ex_data(s, EX_IO)
        if io != NULL:
            if where & SSL_CB_READ:
                io.alert_received = ret
            else:
                io.alert_sent = ret


cdef BIO_METHOD* DATAGRAM_BIO = NULL


cdef BIO_METHOD* datagram_bio_method() except NULL:
    global DATAGRAM_BIO
    cdef BIO_METHOD* m
    if DATAGRAM_BIO == NULL:
        m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, b"rtcengine datagram")
        if m == NULL:
            raise MemoryError("BIO_meth_new failed")
        BIO_meth_set_write(m, bio_write)
        BIO_meth_set_read(m, bio_read)
        BIO_meth_set_ctrl(m, bio_ctrl)
        BIO_meth_set_create(m, bio_create)
        BIO_meth_set_destroy(m, bio_destroy)
        DATAGRAM_BIO = m   # lives as long as the process
    return DATAGRAM_BIO


# ------------------------------------------------------------ SSL_CTX per cert

@cython.final
cdef class _SslContext:
    """One SSL_CTX per (certificate, key, SRTP profiles), shared by endpoints."""
    cdef SSL_CTX* ctx
    cdef object __weakref__

    def __cinit__(self):
        self.ctx = NULL

    def __dealloc__(self):
        if self.ctx != NULL:
            SSL_CTX_free(self.ctx)
            self.ctx = NULL

    cdef int setup(self, bytes cert_der, bytes key_der, tuple profiles) except -1:
        cdef const unsigned char* p
        cdef X509* cert = NULL
        cdef EVP_PKEY* pkey = NULL
        cdef SSL_CTX* ctx
        ERR_clear_error()
        ctx = SSL_CTX_new(DTLS_method())
        if ctx == NULL:
            raise MemoryError("SSL_CTX_new failed: " + openssl_error_text())
        self.ctx = ctx
        # RFC 8827 §6.5: DTLS 1.2 or later (DTLS_method negotiates; OpenSSL 3.0
        # has no DTLS 1.3).
        if not SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION):
            raise InvalidAccessError("cannot require DTLS 1.2: " + openssl_error_text())
        # No tickets or session cache: every handshake is full, so the
        # fingerprint check always runs (RFC 5763 §5); and the ClientHello
        # stays small.  No renegotiation.  Our MTU, not a socket's.
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION
                            | SSL_OP_NO_COMPRESSION | SSL_OP_NO_QUERY_MTU)
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF)
        if not SSL_CTX_set_cipher_list(ctx, CIPHER_LIST):
            raise InvalidAccessError("cipher list refused: " + openssl_error_text())
        if not SSL_CTX_set1_groups_list(ctx, GROUPS):
            raise InvalidAccessError("groups refused: " + openssl_error_text())
        p = cert_der
        cert = d2i_X509(NULL, &p, len(cert_der))
        if cert == NULL:
            raise InvalidAccessError("certificate is not valid DER: " + openssl_error_text())
        try:
            if not SSL_CTX_use_certificate(ctx, cert):
                raise InvalidAccessError("certificate refused: " + openssl_error_text())
        finally:
            X509_free(cert)
        p = key_der
        pkey = d2i_AutoPrivateKey(NULL, &p, len(key_der))
        if pkey == NULL:
            raise InvalidAccessError("private key is not valid DER: " + openssl_error_text())
        try:
            if not SSL_CTX_use_PrivateKey(ctx, pkey):
                raise InvalidAccessError("private key refused: " + openssl_error_text())
        finally:
            EVP_PKEY_free(pkey)
        if not SSL_CTX_check_private_key(ctx):
            raise InvalidAccessError("private key does not match the certificate")
        # RFC 5763 §5: the peer must present a certificate; we accept any
        # (self-signed) one whose fingerprint matches, decided in verify_cb.
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb)
        if profiles:
            # RFC 5764 §4.1.1: the use_srtp extension, our preference order.
            names = b":".join(SRTP_PROFILES[pid][0].encode() for pid in profiles)
            if SSL_CTX_set_tlsext_use_srtp(ctx, names) != 0:   # 0 = success
                raise InvalidAccessError("SRTP profiles refused: " + openssl_error_text())
        ERR_clear_error()
        return 0


# True when handle_timeout retransmits on virtual time alone (OpenSSL < 3.2);
# see the module docstring.
VIRTUAL_TIME_RETRANSMISSION = CAN_EXPIRE_TIMER

_contexts = weakref.WeakValueDictionary()


cdef _SslContext context_for(bytes cert_der, bytes key_der, tuple profiles):
    key = (cert_der, key_der, profiles)
    ctx = _contexts.get(key)
    if ctx is None:
        ctx = _SslContext()
        (<_SslContext>ctx).setup(cert_der, key_der, profiles)
        _contexts[key] = ctx
    return <_SslContext>ctx


def ssl_context(bytes certificate_der not None, bytes private_key_der not None,
                srtp_profiles=DEFAULT_SRTP_PROFILES):
    """The shared SSL_CTX for this certificate, key and SRTP profiles, as an
    opaque object.  Endpoints made with the same arguments use it while
    anyone holds it: an owner (``RTCCertificate``) keeps it so that each new
    connection skips building an SSL_CTX (about 1-2 ms with OpenSSL 3)."""
    profiles = tuple(int(p) for p in (srtp_profiles or ()))
    for pid in profiles:
        if pid not in SRTP_PROFILES:
            raise ValueError(f"unsupported SRTP protection profile 0x{pid:04x}")
    return context_for(certificate_der, private_key_der, profiles)


# ---------------------------------------------------------------------- endpoint

@cython.final
cdef class DtlsEndpoint:
    """One DTLS association, sans-IO.

    ``DtlsEndpoint(certificate_der, private_key_der, role, remote_fingerprints)``
    with ``role`` "client" (SDP ``a=setup:active``) or "server"
    (``a=setup:passive``), RFC 5763 §5, and ``remote_fingerprints`` a list of
    ``(algorithm, value)`` pairs (or objects with those attributes) from the
    peer's ``a=fingerprint`` lines.  Drive it with :meth:`start`,
    :meth:`handle_datagram`, :meth:`handle_timeout`; send what
    :meth:`poll_datagrams` returns; read application data with :meth:`recv`.
    """

    def __cinit__(self):
        memset(&self.io, 0, sizeof(DtlsIo))
        self.io.open_start = -1
        self.ssl = NULL
        self.bio = NULL
        self.scratch = NULL
        self.deadline = -1.0

    def __init__(self, bytes certificate_der not None, bytes private_key_der not None,
                 str role not None, remote_fingerprints, srtp_profiles=DEFAULT_SRTP_PROFILES,
                 *, int mtu=1200, double initial_rto=0.1):
        cdef int i, n
        cdef const EVP_MD* md
        cdef bytes value
        if self.ssl != NULL:
            raise InvalidStateError("DtlsEndpoint is already initialised")
        if role not in ("client", "server"):
            raise ValueError(f"role must be 'client' or 'server', got {role!r}")
        # RFC 6347 §4.1.1.1: the PMTU; 1200 is the usual WebRTC datagram budget.
        if mtu < 256 or mtu > 65507:
            raise ValueError(f"mtu must be between 256 and 65507, got {mtu}")
        if not initial_rto > 0:
            raise ValueError(f"initial_rto must be > 0, got {initial_rto}")
        profiles = tuple(int(p) for p in (srtp_profiles or ()))
        for pid in profiles:
            if pid not in SRTP_PROFILES:
                raise ValueError(f"unsupported SRTP protection profile 0x{pid:04x}: use "
                                 + ", ".join(f"0x{k:04x}" for k in SRTP_PROFILES))
        self._set_fingerprints(remote_fingerprints)
        self.role = role
        self.initial_rto = initial_rto
        self.rto = initial_rto
        self.app_data = []
        self.inview = InputView()
        self.io.mtu = mtu
        self.io.timer_us = (OPENSSL_TIMER_NEVER_US if CAN_EXPIRE_TIMER
                            else <unsigned int>(initial_rto * 1e6))
        self.context = context_for(certificate_der, private_key_der, profiles)
        self.scratch = <uint8_t*>malloc(MAX_RECORD_PLAINTEXT)
        if self.scratch == NULL:
            raise MemoryError()
        ERR_clear_error()
        self.ssl = SSL_new((<_SslContext>self.context).ctx)
        if self.ssl == NULL:
            raise MemoryError("SSL_new failed: " + openssl_error_text())
        SSL_set_ex_data(self.ssl, EX_IO, &self.io)
        self.bio = BIO_new(datagram_bio_method())
        if self.bio == NULL:
            raise MemoryError("BIO_new failed")
        BIO_set_data(self.bio, &self.io)
        SSL_set_bio(self.ssl, self.bio, self.bio)   # the SSL owns one reference
        # RFC 6347 §4.1.1.1: records and handshake fragments fit the MTU.
        SSL_set_options(self.ssl, SSL_OP_NO_QUERY_MTU)
        SSL_set_mtu(self.ssl, mtu)
        DTLS_set_timer_cb(self.ssl, timer_cb)
        SSL_set_info_callback(self.ssl, info_cb)
        if role == "client":
            SSL_set_connect_state(self.ssl)
        else:
            SSL_set_accept_state(self.ssl)

    cdef int _set_fingerprints(self, object fingerprints) except -1:
        cdef int n = 0, best = 0, size
        cdef const EVP_MD* md
        cdef bytes value
        parsed = []
        for fp in fingerprints:
            if isinstance(fp, tuple):
                algorithm, text = fp
            else:
                algorithm, text = fp.algorithm, fp.value
            algorithm = str(algorithm).lower()
            value = parse_fingerprint_value(str(text))
            md = fingerprint_md(algorithm)
            if md == NULL:
                continue     # RFC 8122 §5: ignore hash functions we do not support
            size = EVP_MD_size(md)
            parsed.append((size, algorithm, value))
            if size > best:
                best = size
        if not parsed:
            raise InvalidAccessError(
                "no usable remote fingerprint: need at least one of sha-256, "
                "sha-384, sha-512 or sha-1")
        # RFC 8122 §5: use the strongest hash function offered.
        for size, algorithm, value in parsed:
            if size != best:
                continue
            if n == DTLS_MAX_FINGERPRINTS:
                raise InvalidAccessError(f"more than {DTLS_MAX_FINGERPRINTS} remote fingerprints")
            self.io.fp_md[n] = fingerprint_md(algorithm)
            # A value of the wrong length can never match; keep it so the
            # handshake fails with "fingerprint-failure" rather than here.
            self.io.fp_len[n] = <unsigned int>min(len(value), DTLS_MAX_DIGEST)
            memcpy(&self.io.fp_value[n * DTLS_MAX_DIGEST], <const uint8_t*>value,
                   self.io.fp_len[n])
            if len(value) != size:
                self.io.fp_len[n] = 0xFFFF
            n += 1
        self.io.n_fp = n
        return 0

    def __dealloc__(self):
        if self.ssl != NULL:
            SSL_free(self.ssl)       # frees the BIO too
            self.ssl = NULL
        self.bio = NULL
        if self.io.peer_cert != NULL:
            X509_free(self.io.peer_cert)
            self.io.peer_cert = NULL
        free(self.io.out)
        free(self.io.ends)
        if self.scratch != NULL:
            OPENSSL_cleanse(self.scratch, MAX_RECORD_PLAINTEXT)
            free(self.scratch)
            self.scratch = NULL

    # ------------------------------------------------------------ properties

    @property
    def state(self) -> str:
        """W3C RTCDtlsTransportState: new, connecting, connected, closed, failed."""
        return _STATE_NAMES[self.state_code]

    @property
    def failure_reason(self):
        """Why the endpoint failed ("fingerprint-failure", an alert, a timeout), or None."""
        return self._failure_reason

    @property
    def cipher_suite(self):
        """The negotiated cipher suite, IANA name (W3C RTCTransportStats.dtlsCipher)."""
        cdef const SSL_CIPHER* c
        cdef const char* name
        if not self.handshake_done:
            return None
        c = SSL_get_current_cipher(self.ssl)
        if c == NULL:
            return None
        name = SSL_CIPHER_standard_name(c)
        if name == NULL:
            name = SSL_CIPHER_get_name(c)
        return name.decode("ascii")

    @property
    def protocol_version(self):
        """The protocol, "DTLSv1.2", once connected (W3C RTCTransportStats.tlsVersion is its hex)."""
        if not self.handshake_done:
            return None
        return SSL_get_version(self.ssl).decode("ascii")

    @property
    def srtp_profile(self):
        """The RFC 5764 protection profile id agreed (0x0001, 0x0002, 0x0007,
        0x0008), or None (not connected, or no use_srtp)."""
        cdef SRTP_PROTECTION_PROFILE* p
        if not self.handshake_done:
            return None
        p = SSL_get_selected_srtp_profile(self.ssl)
        if p == NULL:
            return None
        return <int>p.id

    @property
    def srtp_profile_name(self):
        """The agreed profile's RFC name (e.g. "SRTP_AEAD_AES_128_GCM"), or None."""
        pid = self.srtp_profile
        return None if pid is None else SRTP_PROFILES[pid][0]

    @property
    def remote_certificate_der(self):
        """The peer's certificate (DER) once its fingerprint matched, else None."""
        cdef unsigned char* p
        cdef int n
        if self.io.peer_cert == NULL or self.io.fp_state != 1:
            return None
        n = i2d_X509(self.io.peer_cert, NULL)
        if n <= 0:
            return None
        out = PyBytes_FromStringAndSize(NULL, n)
        p = <unsigned char*><char*>out
        i2d_X509(self.io.peer_cert, &p)
        return out

    # ---------------------------------------------------------------- driving

    def start(self, double now):
        """Begin the handshake (the client sends its ClientHello)."""
        if self.state_code != ST_NEW:
            raise InvalidStateError(f"start() in state {self.state}")
        self.state_code = ST_CONNECTING
        self._step(now)

    def handle_datagram(self, data, double now):
        """Feed one received datagram (one or more DTLS records)."""
        cdef InputView v = self.inview
        v.acquire(data)
        try:
            self.datagrams_received += 1
            if self.state_code != ST_CONNECTING and self.state_code != ST_CONNECTED:
                # RFC 6347 §4.1.2.7: invalid input is dropped; after failure
                # or close, everything is.
                self.datagrams_dropped += 1
                return
            if not self._well_formed(v.ptr, v.length):
                self.datagrams_dropped += 1
                return
            self.io.in_ptr = v.ptr
            self.io.in_len = v.length
            self._step(now)
        finally:
            self.io.in_ptr = NULL
            self.io.in_len = 0
            v.release()

    cdef bint _well_formed(self, const uint8_t* p, Py_ssize_t n) noexcept:
        # RFC 6347 §4.1: a datagram is a sequence of whole records; content
        # types 20-23 (RFC 5246 §6.2.1; 24 heartbeat is not negotiated),
        # version major 0xFE (DTLS), length within the datagram.
        cdef Py_ssize_t off = 0, length
        if n < RECORD_HEADER:
            return False
        while off < n:
            if n - off < RECORD_HEADER:
                return False
            if p[off] < 20 or p[off] > 23 or p[off + 1] != 0xFE:
                return False
            length = (<Py_ssize_t>p[off + 11] << 8) | p[off + 12]
            off += RECORD_HEADER + length
        return off == n

    def next_timeout(self):
        """When :meth:`handle_timeout` should next be called (same clock as
        ``now``), or None when no retransmission is pending."""
        if self.deadline < 0:
            return None
        return self.deadline

    def handle_timeout(self, double now):
        """Retransmit the last flight if its timer (virtual time) expired."""
        cdef long r
        cdef long long tv[4]         # room for a struct timeval
        if self.deadline < 0 or now < self.deadline:
            return
        if self.state_code != ST_CONNECTING and self.state_code != ST_CONNECTED:
            self.deadline = -1.0
            return
        if DTLSv1_get_timeout(self.ssl, tv) != 1:
            self.deadline = -1.0     # nothing outstanding
            return
        if CAN_EXPIRE_TIMER and self.io.openssl_timer != NULL:
            # Mark OpenSSL's running timer as expired long ago (non-zero, so
            # still "running"), so the call below retransmits now.
            rtce_expire_timeval(self.io.openssl_timer)
        ERR_clear_error()
        try:
            r = DTLSv1_handle_timeout(self.ssl)
        finally:
            io_close_datagram(&self.io)
        if r < 0:
            # RFC 6347 §4.2.4: OpenSSL gives up after 12 retransmissions.
            self._fail("timeout: no answer from the peer after repeated retransmissions")
            return
        if r > 0:
            self.retransmissions += 1
        # RFC 6347 §4.2.4.1: double the timer, up to 60 s.
        self.rto = min(self.rto * 2, MAX_RTO)
        if not CAN_EXPIRE_TIMER:
            self.io.timer_us = <unsigned int>(self.rto * 1e6)
        self.deadline = now + self.rto
        self.io.flight_started = False
        self._update_timer(now)

    cdef int _update_timer(self, double now) except -1:
        cdef long long tv[4]         # room for a struct timeval
        if self.io.flight_started:
            # RFC 6347 §4.2.4: a new flight went out; start its timer.
            self.io.flight_started = False
            self.rto = self.initial_rto
            if not CAN_EXPIRE_TIMER:
                self.io.timer_us = <unsigned int>(self.rto * 1e6)
            self.deadline = now + self.rto
        if DTLSv1_get_timeout(self.ssl, tv) != 1:
            # OpenSSL stopped its timer: the flight was answered.
            self.deadline = -1.0
        return 0

    cdef int _step(self, double now) except -1:
        cdef int r, err
        clear_errors()
        try:
            if not self.handshake_done:
                r = SSL_do_handshake(self.ssl)
                if r == 1:
                    if self.io.fp_state != 1:
                        # RFC 5763 §5: no matching certificate, no association.
                        self.io.fp_state = -1
                        self._fail("fingerprint-failure")
                        return 0
                    # RFC 6347 §4.2.4: the handshake is complete.
                    self.handshake_done = True
                    self.state_code = ST_CONNECTED
                else:
                    err = SSL_get_error(self.ssl, r)
                    if err != SSL_ERROR_WANT_READ and err != SSL_ERROR_WANT_WRITE:
                        self._fail_from_openssl()
                        return 0
            if self.handshake_done:
                self._read_app_data()
        finally:
            io_close_datagram(&self.io)
        if self.state_code == ST_CONNECTING or (
                self.state_code == ST_CONNECTED and (self.deadline >= 0 or self.io.flight_started)):
            self._update_timer(now)
        return 0

    cdef int _read_app_data(self) except -1:
        cdef int r, err
        while True:
            r = SSL_read(self.ssl, self.scratch, MAX_RECORD_PLAINTEXT)
            if r > 0:
                self.app_data.append(PyBytes_FromStringAndSize(<char*>self.scratch, r))
                if self.io.in_ptr == NULL and not SSL_has_pending(self.ssl):
                    return 0    # the datagram is consumed: skip the WANT_READ round
                continue
            err = SSL_get_error(self.ssl, r)
            if err == SSL_ERROR_WANT_READ or err == SSL_ERROR_WANT_WRITE:
                return 0
            if err == SSL_ERROR_ZERO_RETURN or (SSL_get_shutdown(self.ssl) & SSL_RECEIVED_SHUTDOWN):
                # RFC 5246 §7.2.1: close_notify received; answer with ours.
                SSL_shutdown(self.ssl)
                self.state_code = ST_CLOSED
                self.deadline = -1.0
                return 0
            self._fail_from_openssl()
            return 0

    cdef int _fail(self, str reason) except -1:
        self.state_code = ST_FAILED
        self._failure_reason = reason
        self.deadline = -1.0
        ERR_clear_error()
        return 0

    cdef int _fail_from_openssl(self) except -1:
        cdef int a
        if self.io.fp_state == -1:
            return self._fail("fingerprint-failure")
        if self.io.alert_received:
            a = self.io.alert_received & 0xFF
            return self._fail("alert received: " + SSL_alert_desc_string_long(a).decode("ascii"))
        if self.io.alert_sent:
            a = self.io.alert_sent & 0xFF
            return self._fail("alert sent: " + SSL_alert_desc_string_long(a).decode("ascii"))
        return self._fail("DTLS error: " + openssl_error_text())

    # ------------------------------------------------------------- app data

    def send(self, data):
        """Encrypt ``data`` (≤ 16384 bytes) as one application-data record
        (RFC 6347 §4.1) and queue the datagram."""
        cdef InputView v = self.inview
        cdef int r = 0
        cdef Py_ssize_t n
        v.acquire(data)
        try:
            n = v.length
            if self.state_code != ST_CONNECTED:
                raise InvalidStateError(f"cannot send in DTLS state {self.state}")
            if n > MAX_RECORD_PLAINTEXT:
                raise ValueError(f"DTLS record too large: {n} bytes, at most "
                                 f"{MAX_RECORD_PLAINTEXT}")
            if n == 0:
                return
            clear_errors()
            r = SSL_write(self.ssl, v.ptr, <int>n)
            io_close_datagram(&self.io)
        finally:
            v.release()
        if r <= 0:
            self._fail_from_openssl()
            raise InvalidStateError(f"DTLS send failed: {self._failure_reason}")

    def send_record(self, data):
        """Encrypt ``data`` as one application-data record and return its
        datagram directly (the per-packet path: nothing is queued).
        Datagrams already queued stay queued for :meth:`poll_datagrams`."""
        cdef Py_ssize_t start, begin
        if self.io.open_start >= 0:
            io_close_datagram(&self.io)
        start = self.io.n_ends
        self.send(data)
        if self.io.n_ends != start + 1:
            return None     # OpenSSL wrote nothing (empty data)
        begin = self.io.ends[start - 1] if start else 0
        out = PyBytes_FromStringAndSize(<char*>self.io.out + begin,
                                        self.io.ends[start] - begin)
        # Take the datagram back out of the queue.
        self.io.n_ends = start
        self.io.out_len = begin
        if self.io.next_poll >= self.io.n_ends:
            self.io.next_poll = 0
            self.io.n_ends = 0
            self.io.out_len = 0
        return out

    def receive(self, datagram, double now):
        """:meth:`handle_datagram`, then the next application data (or None):
        the per-packet receive path in one call."""
        self.handle_datagram(datagram, now)
        if self.app_data:
            return self.app_data.pop(0)
        return None

    def recv(self):
        """The next received application data (bytes), or None."""
        if self.app_data:
            return self.app_data.pop(0)
        return None

    def recv_all(self) -> list:
        """All received application data, oldest first."""
        out = self.app_data
        self.app_data = []
        return out

    def poll_datagram(self):
        """The next datagram to send, or None."""
        cdef Py_ssize_t start, end
        if self.io.next_poll >= self.io.n_ends:
            return None
        start = self.io.ends[self.io.next_poll - 1] if self.io.next_poll else 0
        end = self.io.ends[self.io.next_poll]
        self.io.next_poll += 1
        out = PyBytes_FromStringAndSize(<char*>self.io.out + start, end - start)
        self.datagrams_sent += 1
        if self.io.next_poll == self.io.n_ends:
            self.io.next_poll = 0
            self.io.n_ends = 0
            self.io.out_len = 0
        return out

    def poll_datagrams(self) -> list:
        """Every datagram waiting to be sent, in order."""
        out = []
        while True:
            d = self.poll_datagram()
            if d is None:
                return out
            out.append(d)

    def close(self):
        """Send close_notify (RFC 5246 §7.2.1) if connected; state → closed."""
        if self.state_code == ST_CONNECTED:
            ERR_clear_error()
            SSL_shutdown(self.ssl)
            io_close_datagram(&self.io)
            ERR_clear_error()
        if self.state_code != ST_FAILED:
            self.state_code = ST_CLOSED
        self.deadline = -1.0

    # ----------------------------------------------------------- DTLS-SRTP

    cdef int srtp_keying(self, uint8_t* local_key, uint8_t* local_salt,
                         uint8_t* remote_key, uint8_t* remote_salt,
                         int* key_len, int* salt_len) except -1:
        cdef SRTP_PROTECTION_PROFILE* prof
        cdef uint8_t material[2 * (DTLS_SRTP_MAX_KEY + DTLS_SRTP_MAX_SALT)]
        cdef int kl, sl, total
        cdef uint8_t* client_key
        cdef uint8_t* server_key
        cdef uint8_t* client_salt
        cdef uint8_t* server_salt
        if self.state_code != ST_CONNECTED:
            raise InvalidStateError(f"no SRTP keys in DTLS state {self.state}")
        prof = SSL_get_selected_srtp_profile(self.ssl)
        if prof == NULL:
            raise InvalidStateError("the peer did not negotiate use_srtp (RFC 5764 §4.1.1)")
        pid = <int>prof.id
        if pid not in SRTP_PROFILES:
            raise InvalidStateError(f"unexpected SRTP profile 0x{pid:04x}")
        kl = SRTP_PROFILES[pid][1]
        sl = SRTP_PROFILES[pid][2]
        total = 2 * (kl + sl)
        # RFC 5764 §4.2: exporter with label "EXTRACTOR-dtls_srtp", no context.
        if not SSL_export_keying_material(self.ssl, material, total,
                                          SRTP_EXPORTER_LABEL, len(SRTP_EXPORTER_LABEL),
                                          NULL, 0, 0):
            raise InvalidStateError("keying material export failed: " + openssl_error_text())
        # RFC 5764 §4.2: client_write_key | server_write_key | client_write_salt
        # | server_write_salt.
        client_key = material
        server_key = material + kl
        client_salt = material + 2 * kl
        server_salt = material + 2 * kl + sl
        if self.role == "client":
            memcpy(local_key, client_key, kl)
            memcpy(local_salt, client_salt, sl)
            memcpy(remote_key, server_key, kl)
            memcpy(remote_salt, server_salt, sl)
        else:
            memcpy(local_key, server_key, kl)
            memcpy(local_salt, server_salt, sl)
            memcpy(remote_key, client_key, kl)
            memcpy(remote_salt, client_salt, sl)
        OPENSSL_cleanse(material, sizeof(material))
        key_len[0] = kl
        salt_len[0] = sl
        return pid

    def export_srtp_keys(self):
        """``(profile_id, local_key, local_salt, remote_key, remote_salt)``:
        protect what we send with the local pair, unprotect what we receive
        with the remote pair (RFC 5764 §4.2)."""
        cdef uint8_t lk[DTLS_SRTP_MAX_KEY]
        cdef uint8_t ls[DTLS_SRTP_MAX_SALT]
        cdef uint8_t rk[DTLS_SRTP_MAX_KEY]
        cdef uint8_t rs[DTLS_SRTP_MAX_SALT]
        cdef int kl = 0, sl = 0, pid
        pid = self.srtp_keying(lk, ls, rk, rs, &kl, &sl)
        out = (pid, lk[:kl], ls[:sl], rk[:kl], rs[:sl])
        OPENSSL_cleanse(lk, sizeof(lk))
        OPENSSL_cleanse(rk, sizeof(rk))
        return out

    def create_srtp_sessions(self, *, int replay_window=1024, bint allow_repeat_tx=False,
                             int max_streams=1024):
        """``(outbound, inbound)`` :class:`rtcengine._core.srtp.SrtpSession`
        keyed from this association (RFC 5764 §4.2): protect what we send
        with the first, unprotect what we receive with the second.  The
        keying material goes from the exporter to the KDF in C and is
        cleansed; it never becomes a Python object."""
        cdef uint8_t lk[DTLS_SRTP_MAX_KEY]
        cdef uint8_t ls[DTLS_SRTP_MAX_SALT]
        cdef uint8_t rk[DTLS_SRTP_MAX_KEY]
        cdef uint8_t rs[DTLS_SRTP_MAX_SALT]
        cdef int kl = 0, sl = 0, pid
        cdef SrtpSession outbound = SrtpSession.__new__(SrtpSession)
        cdef SrtpSession inbound = SrtpSession.__new__(SrtpSession)
        try:
            pid = self.srtp_keying(lk, ls, rk, rs, &kl, &sl)
            outbound.key_master(pid, lk, kl, ls, sl, replay_window, allow_repeat_tx,
                                max_streams)
            inbound.key_master(pid, rk, kl, rs, sl, replay_window, allow_repeat_tx,
                               max_streams)
        finally:
            OPENSSL_cleanse(lk, sizeof(lk))
            OPENSSL_cleanse(ls, sizeof(ls))
            OPENSSL_cleanse(rk, sizeof(rk))
            OPENSSL_cleanse(rs, sizeof(rs))
        return outbound, inbound

    def __repr__(self) -> str:
        return f"<DtlsEndpoint {self.role} {self.state}>"
