"""Keyed HMAC-SHA1 / HMAC-SHA-256 contexts (RFC 2104) over OpenSSL's digests.

A :class:`HmacKey` is built once per key (an ICE password, an SRTP session's
auth key) and reused for every message; it never allocates per MAC.  Not safe
to share between threads without a lock (each MAC uses one scratch context).
"""

from libc.stdint cimport uint8_t
from libc.string cimport memset
from rtcengine._core.openssl cimport (
    EVP_MD_CTX_new, EVP_MD_CTX_free, EVP_MD_CTX_copy_ex, EVP_DigestInit_ex,
    EVP_DigestUpdate, EVP_DigestFinal_ex, EVP_MD_size, EVP_MD_block_size,
    EVP_Digest, EVP_md5, EVP_sha1, EVP_sha256, EVP_sha384, EVP_sha512,
    CRYPTO_memcmp, OPENSSL_cleanse)
from rtcengine._core.buffer cimport InputView

cdef enum:
    # RFC 2104 §2: the inner and outer pad bytes.
    IPAD = 0x36
    OPAD = 0x5C
    # Largest digest and block we handle (SHA-512: 64-byte digest, 128-byte block).
    MAX_MD = 64
    MAX_BLOCK = 128


cdef const EVP_MD* digest_by_name(str name) except NULL:
    if name == "sha1":
        return EVP_sha1()
    if name == "sha256":
        return EVP_sha256()
    if name == "sha384":
        return EVP_sha384()
    if name == "sha512":
        return EVP_sha512()
    if name == "md5":
        return EVP_md5()
    raise ValueError(f"unsupported HMAC digest {name!r}: use sha1, sha256, sha384, sha512 or md5")


cdef class HmacKey:
    """HMAC with a fixed key: ``HmacKey(key, "sha1").digest(message)``."""

    def __cinit__(self, key, str algorithm="sha1"):
        cdef InputView k = InputView()
        cdef uint8_t block[MAX_BLOCK]
        cdef uint8_t hashed[MAX_MD]
        cdef unsigned int hashed_len = 0
        cdef const uint8_t* kp
        cdef size_t klen
        cdef int bs, i
        self.inner = NULL
        self.outer = NULL
        self.work = NULL
        self.md = digest_by_name(algorithm)
        self.algorithm = algorithm
        self.digest_size = EVP_MD_size(self.md)
        bs = EVP_MD_block_size(self.md)
        k.acquire(key)
        kp = k.ptr
        klen = <size_t>k.length
        # RFC 2104 §2: a key longer than the block is hashed first.
        if klen > <size_t>bs:
            if not EVP_Digest(kp, klen, hashed, &hashed_len, self.md, NULL):
                raise MemoryError("OpenSSL digest failed while preparing the HMAC key")
            kp = hashed
            klen = hashed_len
        self.inner = EVP_MD_CTX_new()
        self.outer = EVP_MD_CTX_new()
        self.work = EVP_MD_CTX_new()
        if self.inner == NULL or self.outer == NULL or self.work == NULL:
            raise MemoryError("EVP_MD_CTX_new failed")
        try:
            memset(block, IPAD, bs)
            for i in range(<int>klen):
                block[i] ^= kp[i]
            if (not EVP_DigestInit_ex(self.inner, self.md, NULL)
                    or not EVP_DigestUpdate(self.inner, block, bs)):
                raise MemoryError("OpenSSL digest init failed")
            memset(block, OPAD, bs)
            for i in range(<int>klen):
                block[i] ^= kp[i]
            if (not EVP_DigestInit_ex(self.outer, self.md, NULL)
                    or not EVP_DigestUpdate(self.outer, block, bs)):
                raise MemoryError("OpenSSL digest init failed")
        finally:
            OPENSSL_cleanse(block, sizeof(block))
            OPENSSL_cleanse(hashed, sizeof(hashed))

    def __dealloc__(self):
        if self.inner != NULL:
            EVP_MD_CTX_free(self.inner)
        if self.outer != NULL:
            EVP_MD_CTX_free(self.outer)
        if self.work != NULL:
            EVP_MD_CTX_free(self.work)

    cdef int begin(self) noexcept nogil:
        return 0 if EVP_MD_CTX_copy_ex(self.work, self.inner) else -1

    cdef int update(self, const uint8_t* p, size_t n) noexcept nogil:
        return 0 if EVP_DigestUpdate(self.work, p, n) else -1

    cdef int finish(self, uint8_t* out) noexcept nogil:
        cdef uint8_t inner_digest[MAX_MD]
        cdef unsigned int n = 0
        if not EVP_DigestFinal_ex(self.work, inner_digest, &n):
            return -1
        if not EVP_MD_CTX_copy_ex(self.work, self.outer):
            return -1
        if not EVP_DigestUpdate(self.work, inner_digest, n):
            return -1
        if not EVP_DigestFinal_ex(self.work, out, &n):
            return -1
        return 0

    cdef int compute(self, const uint8_t* p, size_t n, uint8_t* out) noexcept nogil:
        if self.begin() < 0 or self.update(p, n) < 0:
            return -1
        return self.finish(out)

    def digest(self, data) -> bytes:
        """HMAC of ``data`` (any bytes-like object)."""
        cdef InputView v = InputView()
        cdef uint8_t out[MAX_MD]
        v.acquire(data)
        if self.compute(v.ptr, <size_t>v.length, out) < 0:
            raise MemoryError("OpenSSL HMAC failed")
        return out[:self.digest_size]

    def verify(self, data, mac) -> bool:
        """Constant-time check that ``mac`` (full or truncated, ≥ 4 bytes) is
        the HMAC of ``data``."""
        cdef InputView v = InputView()
        cdef InputView m = InputView()
        cdef uint8_t out[MAX_MD]
        v.acquire(data)
        m.acquire(mac)
        if m.length < 4 or m.length > self.digest_size:
            return False
        if self.compute(v.ptr, <size_t>v.length, out) < 0:
            raise MemoryError("OpenSSL HMAC failed")
        return CRYPTO_memcmp(out, m.ptr, <size_t>m.length) == 0

    def __repr__(self) -> str:
        return f"<HmacKey {self.algorithm}>"
