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
