# The one extern block for OpenSSL (DESIGN.md rule 4).  Every _core module that
# calls libcrypto or libssl cimports from here; nothing else declares OpenSSL.
# Only APIs present in both OpenSSL 1.1.1 and 3.x, none deprecated in 3.0.
#
# Sections: errors/random · digests · ciphers · (libssl: DTLS, owned by dtls.pyx)

from libc.stdint cimport uint8_t


# ---------------------------------------------------------------- errors, random
cdef extern from "openssl/err.h" nogil:
    unsigned long ERR_get_error()
    unsigned long ERR_peek_error()
    void ERR_clear_error()
    void ERR_error_string_n(unsigned long e, char* buf, size_t len)

cdef extern from "openssl/rand.h" nogil:
    int RAND_bytes(unsigned char* buf, int num)

cdef extern from "openssl/crypto.h" nogil:
    int CRYPTO_memcmp(const void* a, const void* b, size_t len)
    void OPENSSL_cleanse(void* ptr, size_t len)
    const char* OpenSSL_version(int t)
    int OPENSSL_VERSION


# ---------------------------------------------------------------------- digests
cdef extern from "openssl/evp.h" nogil:
    ctypedef struct EVP_MD:
        pass
    ctypedef struct EVP_MD_CTX:
        pass
    ctypedef struct ENGINE:
        pass

    int EVP_MAX_MD_SIZE

    const EVP_MD* EVP_md5()
    const EVP_MD* EVP_sha1()
    const EVP_MD* EVP_sha256()
    const EVP_MD* EVP_sha384()
    const EVP_MD* EVP_sha512()
    int EVP_MD_size(const EVP_MD* md)
    int EVP_MD_block_size(const EVP_MD* md)

    EVP_MD_CTX* EVP_MD_CTX_new()
    void EVP_MD_CTX_free(EVP_MD_CTX* ctx)
    int EVP_MD_CTX_copy_ex(EVP_MD_CTX* out, const EVP_MD_CTX* inp)
    int EVP_DigestInit_ex(EVP_MD_CTX* ctx, const EVP_MD* type, ENGINE* impl)
    int EVP_DigestUpdate(EVP_MD_CTX* ctx, const void* d, size_t cnt)
    int EVP_DigestFinal_ex(EVP_MD_CTX* ctx, unsigned char* md, unsigned int* s)
    int EVP_Digest(const void* data, size_t count, unsigned char* md,
                   unsigned int* size, const EVP_MD* type, ENGINE* impl)


# ---------------------------------------------------------------------- ciphers
cdef extern from "openssl/evp.h" nogil:
    ctypedef struct EVP_CIPHER:
        pass
    ctypedef struct EVP_CIPHER_CTX:
        pass

    const EVP_CIPHER* EVP_aes_128_ecb()
    const EVP_CIPHER* EVP_aes_256_ecb()
    const EVP_CIPHER* EVP_aes_128_ctr()
    const EVP_CIPHER* EVP_aes_256_ctr()
    const EVP_CIPHER* EVP_aes_128_gcm()
    const EVP_CIPHER* EVP_aes_256_gcm()

    EVP_CIPHER_CTX* EVP_CIPHER_CTX_new()
    void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX* ctx)
    int EVP_CIPHER_CTX_reset(EVP_CIPHER_CTX* ctx)
    int EVP_CIPHER_CTX_set_padding(EVP_CIPHER_CTX* ctx, int pad)
    int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX* ctx, int type, int arg, void* ptr)

    int EVP_EncryptInit_ex(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* type,
                           ENGINE* impl, const unsigned char* key,
                           const unsigned char* iv)
    int EVP_EncryptUpdate(EVP_CIPHER_CTX* ctx, unsigned char* out, int* outl,
                          const unsigned char* inp, int inl)
    int EVP_EncryptFinal_ex(EVP_CIPHER_CTX* ctx, unsigned char* out, int* outl)
    int EVP_DecryptInit_ex(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* type,
                           ENGINE* impl, const unsigned char* key,
                           const unsigned char* iv)
    int EVP_DecryptUpdate(EVP_CIPHER_CTX* ctx, unsigned char* out, int* outl,
                          const unsigned char* inp, int inl)
    int EVP_DecryptFinal_ex(EVP_CIPHER_CTX* ctx, unsigned char* out, int* outl)

    # AEAD controls (GCM), RFC 7714.
    int EVP_CTRL_GCM_SET_IVLEN
    int EVP_CTRL_GCM_GET_TAG
    int EVP_CTRL_GCM_SET_TAG
    int EVP_CTRL_AEAD_SET_IVLEN
    int EVP_CTRL_AEAD_GET_TAG
    int EVP_CTRL_AEAD_SET_TAG


# ------------------------------------------------------------------------ libssl
# (DTLS declarations live below; owned by dtls.pyx.)

# Certificates and keys arrive as DER (RTCCertificate builds them with
# ``cryptography``); the peer's certificate is checked by digest (RFC 8122 §5).
cdef extern from "openssl/x509.h" nogil:
    ctypedef struct X509:
        pass
    ctypedef struct X509_STORE_CTX:
        pass
    ctypedef struct EVP_PKEY:
        pass
    X509* d2i_X509(X509** px, const unsigned char** inp, long length)
    int i2d_X509(const X509* x, unsigned char** out)
    void X509_free(X509* x)
    int X509_up_ref(X509* x)
    int X509_digest(const X509* x, const EVP_MD* md, unsigned char* out, unsigned int* length)
    void* X509_STORE_CTX_get_ex_data(const X509_STORE_CTX* ctx, int idx)
    X509* X509_STORE_CTX_get_current_cert(const X509_STORE_CTX* ctx)
    int X509_STORE_CTX_get_error_depth(const X509_STORE_CTX* ctx)
    void X509_STORE_CTX_set_error(X509_STORE_CTX* ctx, int s)
    int X509_V_ERR_CERT_REJECTED          # alerted as bad_certificate
    EVP_PKEY* d2i_AutoPrivateKey(EVP_PKEY** a, const unsigned char** pp, long length)
    void EVP_PKEY_free(EVP_PKEY* pkey)

# A custom datagram BIO: OpenSSL's memory BIO is a byte stream and would merge
# the datagrams of a flight (BIO_s_dgram_mem needs OpenSSL 3.2).
cdef extern from "openssl/bio.h" nogil:
    ctypedef struct BIO:
        pass
    ctypedef struct BIO_METHOD:
        pass
    ctypedef int (*bio_write_fn)(BIO* b, const char* data, int n) noexcept
    ctypedef int (*bio_read_fn)(BIO* b, char* data, int n) noexcept
    ctypedef long (*bio_ctrl_fn)(BIO* b, int cmd, long num, void* ptr) noexcept
    ctypedef int (*bio_create_fn)(BIO* b) noexcept
    ctypedef int (*bio_destroy_fn)(BIO* b) noexcept
    int BIO_TYPE_SOURCE_SINK
    int BIO_CTRL_FLUSH
    int BIO_CTRL_PENDING
    int BIO_CTRL_WPENDING
    int BIO_CTRL_DGRAM_QUERY_MTU
    int BIO_CTRL_DGRAM_GET_FALLBACK_MTU
    int BIO_CTRL_DGRAM_MTU_EXCEEDED
    int BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT   # ptr: OpenSSL's own next-timeout timeval (< 3.2)
    int BIO_get_new_index()
    BIO_METHOD* BIO_meth_new(int type, const char* name)
    int BIO_meth_set_write(BIO_METHOD* m, bio_write_fn fn)
    int BIO_meth_set_read(BIO_METHOD* m, bio_read_fn fn)
    int BIO_meth_set_ctrl(BIO_METHOD* m, bio_ctrl_fn fn)
    int BIO_meth_set_create(BIO_METHOD* m, bio_create_fn fn)
    int BIO_meth_set_destroy(BIO_METHOD* m, bio_destroy_fn fn)
    BIO* BIO_new(const BIO_METHOD* m)
    int BIO_free(BIO* b)
    void BIO_set_data(BIO* b, void* ptr)
    void* BIO_get_data(BIO* b)
    void BIO_set_init(BIO* b, int init)
    void BIO_set_retry_read(BIO* b)       # macro
    void BIO_clear_retry_flags(BIO* b)    # macro

cdef extern from "openssl/crypto.h" nogil:
    unsigned long OpenSSL_version_num()   # the runtime library's version

cdef extern from "openssl/ssl.h" nogil:
    ctypedef struct SSL_CTX:
        pass
    ctypedef struct SSL:
        pass
    ctypedef struct SSL_METHOD:
        pass
    ctypedef struct SSL_CIPHER:
        pass
    ctypedef struct SRTP_PROTECTION_PROFILE:
        const char* name
        unsigned long id
    ctypedef int (*SSL_verify_cb)(int preverify_ok, X509_STORE_CTX* store) noexcept
    ctypedef unsigned int (*DTLS_timer_cb)(SSL* s, unsigned int timer_us) noexcept
    ctypedef void (*SSL_info_cb)(const SSL* s, int where, int ret) noexcept

    int DTLS1_2_VERSION
    unsigned long SSL_OP_NO_QUERY_MTU
    unsigned long SSL_OP_NO_TICKET
    unsigned long SSL_OP_NO_RENEGOTIATION
    unsigned long SSL_OP_NO_COMPRESSION
    int SSL_VERIFY_PEER
    int SSL_VERIFY_FAIL_IF_NO_PEER_CERT
    long SSL_SESS_CACHE_OFF
    int SSL_ERROR_NONE
    int SSL_ERROR_SSL
    int SSL_ERROR_WANT_READ
    int SSL_ERROR_WANT_WRITE
    int SSL_ERROR_SYSCALL
    int SSL_ERROR_ZERO_RETURN
    int SSL_RECEIVED_SHUTDOWN
    int SSL_SENT_SHUTDOWN
    int SSL_CB_ALERT
    int SSL_CB_READ
    int SSL_CB_WRITE

    const SSL_METHOD* DTLS_method()
    SSL_CTX* SSL_CTX_new(const SSL_METHOD* method)
    void SSL_CTX_free(SSL_CTX* ctx)
    unsigned long SSL_CTX_set_options(SSL_CTX* ctx, unsigned long op)
    int SSL_CTX_set_min_proto_version(SSL_CTX* ctx, int version)   # macro
    int SSL_CTX_set_cipher_list(SSL_CTX* ctx, const char* s)
    int SSL_CTX_set1_groups_list(SSL_CTX* ctx, const char* s)       # macro
    long SSL_CTX_set_session_cache_mode(SSL_CTX* ctx, long mode)    # macro
    int SSL_CTX_use_certificate(SSL_CTX* ctx, X509* x)
    int SSL_CTX_use_PrivateKey(SSL_CTX* ctx, EVP_PKEY* pkey)
    int SSL_CTX_check_private_key(const SSL_CTX* ctx)
    void SSL_CTX_set_verify(SSL_CTX* ctx, int mode, SSL_verify_cb cb)
    # RFC 5764 §4.1.2: returns 0 on success (sic).
    int SSL_CTX_set_tlsext_use_srtp(SSL_CTX* ctx, const char* profiles)

    SSL* SSL_new(SSL_CTX* ctx)
    void SSL_free(SSL* s)
    void SSL_set_bio(SSL* s, BIO* rbio, BIO* wbio)
    void SSL_set_connect_state(SSL* s)
    void SSL_set_accept_state(SSL* s)
    unsigned long SSL_set_options(SSL* s, unsigned long op)
    long SSL_set_mtu(SSL* s, long mtu)                              # macro
    void DTLS_set_timer_cb(SSL* s, DTLS_timer_cb cb)
    long DTLSv1_handle_timeout(SSL* s)                              # macro
    long DTLSv1_get_timeout(SSL* s, void* timeval_out)              # macro; 1 = timer running
    void SSL_set_info_callback(SSL* s, SSL_info_cb cb)
    int SSL_set_ex_data(SSL* s, int idx, void* data)
    void* SSL_get_ex_data(const SSL* s, int idx)
    int SSL_get_ex_data_X509_STORE_CTX_idx()
    int SSL_do_handshake(SSL* s)
    int SSL_is_init_finished(const SSL* s)
    int SSL_read(SSL* s, void* buf, int num)
    int SSL_has_pending(const SSL* s)      # unprocessed records in the read buffer
    int SSL_write(SSL* s, const void* buf, int num)
    int SSL_shutdown(SSL* s)
    int SSL_get_shutdown(const SSL* s)
    int SSL_get_error(const SSL* s, int ret)
    const char* SSL_get_version(const SSL* s)
    const SSL_CIPHER* SSL_get_current_cipher(const SSL* s)
    const char* SSL_CIPHER_get_name(const SSL_CIPHER* c)
    const char* SSL_CIPHER_standard_name(const SSL_CIPHER* c)
    const char* SSL_alert_desc_string_long(int value)
    SRTP_PROTECTION_PROFILE* SSL_get_selected_srtp_profile(SSL* s)
    int SSL_export_keying_material(SSL* s, unsigned char* out, size_t olen,
                                   const char* label, size_t llen,
                                   const unsigned char* context, size_t contextlen,
                                   int use_context)
