"""Keyed HMAC-SHA1 / HMAC-SHA-256 contexts (RFC 2104) over OpenSSL's digests.

A :class:`HmacKey` is built once per key (an ICE password, an SRTP session's
auth key) and reused for every message; it never allocates per MAC.  SHA-1
and SHA-256 keys use OpenSSL's plain-struct digest states (see
include/rtce_sha.h: OpenSSL 3.0's EVP context copy mallocs twice per MAC);
the other digests, and builds without the low-level API, use EVP contexts.  Not safe
to share between threads without a lock (each MAC uses one scratch context).
"""

from libc.stdint cimport uint8_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset

cdef extern from "rtce_live.h":
    # 1 in the debug build (RTCENGINE_DEBUG=1): live-object counting on.
    const int RTCE_LIVE

cdef Py_ssize_t _live_HmacKey = 0
from rtcengine._core.openssl cimport (
    EVP_MD_CTX_new, EVP_MD_CTX_free, EVP_MD_CTX_copy_ex, EVP_DigestInit_ex,
    EVP_DigestUpdate, EVP_DigestFinal_ex, EVP_MD_size, EVP_MD_block_size,
    EVP_Digest, EVP_md5, EVP_sha1, EVP_sha256, EVP_sha384, EVP_sha512,
    CRYPTO_memcmp, OPENSSL_cleanse)
from rtcengine._core.buffer cimport InputView

# Our own shim over OpenSSL's low-level SHA contexts (see rtce_sha.h for why);
# declared here, not in openssl.pxd, so modules cimporting hmac.pxd never
# compile the deprecated declarations.
cdef extern from "rtce_sha.h" nogil:
    int RTCE_HAVE_LOWLEVEL_SHA
    ctypedef struct rtce_sha1_ctx:
        pass
    ctypedef struct rtce_sha256_ctx:
        pass
    ctypedef struct rtce_hmac_state:
        int alg
        rtce_sha1_ctx i1, o1, w1
        rtce_sha256_ctx i256, o256, w256
    int rtce_sha1_init(rtce_sha1_ctx* c)
    int rtce_sha1_update(rtce_sha1_ctx* c, const void* p, size_t n)
    int rtce_sha1_final(unsigned char* o, rtce_sha1_ctx* c)
    int rtce_sha256_init(rtce_sha256_ctx* c)
    int rtce_sha256_update(rtce_sha256_ctx* c, const void* p, size_t n)
    int rtce_sha256_final(unsigned char* o, rtce_sha256_ctx* c)

cdef enum:
    FAST_SHA1 = 1
    FAST_SHA256 = 2

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


cdef int absorb_fast(rtce_hmac_state* f, const uint8_t* block, int bs,
                     bint inner) except -1:
    """Hash one key^pad block into the inner (ipad) or outer (opad) state."""
    cdef int ok
    if f.alg == FAST_SHA1:
        if inner:
            ok = rtce_sha1_init(&f.i1) and rtce_sha1_update(&f.i1, block, bs)
        else:
            ok = rtce_sha1_init(&f.o1) and rtce_sha1_update(&f.o1, block, bs)
    else:
        if inner:
            ok = rtce_sha256_init(&f.i256) and rtce_sha256_update(&f.i256, block, bs)
        else:
            ok = rtce_sha256_init(&f.o256) and rtce_sha256_update(&f.o256, block, bs)
    if not ok:
        raise MemoryError("OpenSSL SHA init failed")
    return 0


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
        global _live_HmacKey
        if RTCE_LIVE:
            _live_HmacKey += 1
        self.inner = NULL
        self.outer = NULL
        self.work = NULL
        self.fast = NULL
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
        if RTCE_HAVE_LOWLEVEL_SHA and algorithm in ("sha1", "sha256"):
            self.fast = malloc(sizeof(rtce_hmac_state))
            if self.fast == NULL:
                raise MemoryError("cannot allocate the HMAC state")
            (<rtce_hmac_state*>self.fast).alg = FAST_SHA1 if algorithm == "sha1" else FAST_SHA256
        try:
            memset(block, IPAD, bs)
            for i in range(<int>klen):
                block[i] ^= kp[i]
            if (not EVP_DigestInit_ex(self.inner, self.md, NULL)
                    or not EVP_DigestUpdate(self.inner, block, bs)):
                raise MemoryError("OpenSSL digest init failed")
            if self.fast != NULL:
                absorb_fast(<rtce_hmac_state*>self.fast, block, bs, True)
            memset(block, OPAD, bs)
            for i in range(<int>klen):
                block[i] ^= kp[i]
            if (not EVP_DigestInit_ex(self.outer, self.md, NULL)
                    or not EVP_DigestUpdate(self.outer, block, bs)):
                raise MemoryError("OpenSSL digest init failed")
            if self.fast != NULL:
                absorb_fast(<rtce_hmac_state*>self.fast, block, bs, False)
        finally:
            OPENSSL_cleanse(block, sizeof(block))
            OPENSSL_cleanse(hashed, sizeof(hashed))

    def __dealloc__(self):
        if self.inner != NULL:
            EVP_MD_CTX_free(self.inner)
        global _live_HmacKey
        if RTCE_LIVE:
            _live_HmacKey -= 1
        if self.outer != NULL:
            EVP_MD_CTX_free(self.outer)
        if self.work != NULL:
            EVP_MD_CTX_free(self.work)
        if self.fast != NULL:
            OPENSSL_cleanse(self.fast, sizeof(rtce_hmac_state))
            free(self.fast)

    cdef int begin(self) noexcept nogil:
        cdef rtce_hmac_state* f = <rtce_hmac_state*>self.fast
        if f != NULL:
            # Plain struct copies of the keyed inner state: no allocation.
            if f.alg == FAST_SHA1:
                f.w1 = f.i1
            else:
                f.w256 = f.i256
            return 0
        return 0 if EVP_MD_CTX_copy_ex(self.work, self.inner) else -1

    cdef int update(self, const uint8_t* p, size_t n) noexcept nogil:
        cdef rtce_hmac_state* f = <rtce_hmac_state*>self.fast
        if f != NULL:
            if f.alg == FAST_SHA1:
                return 0 if rtce_sha1_update(&f.w1, p, n) else -1
            return 0 if rtce_sha256_update(&f.w256, p, n) else -1
        return 0 if EVP_DigestUpdate(self.work, p, n) else -1

    cdef int finish(self, uint8_t* out) noexcept nogil:
        cdef uint8_t inner_digest[MAX_MD]
        cdef unsigned int n = 0
        cdef rtce_hmac_state* f = <rtce_hmac_state*>self.fast
        if f != NULL:
            # RFC 2104 §2: H(K ^ opad, H(K ^ ipad, text)).
            if f.alg == FAST_SHA1:
                if not rtce_sha1_final(inner_digest, &f.w1):
                    return -1
                f.w1 = f.o1
                if (not rtce_sha1_update(&f.w1, inner_digest, 20)
                        or not rtce_sha1_final(out, &f.w1)):
                    return -1
            else:
                if not rtce_sha256_final(inner_digest, &f.w256):
                    return -1
                f.w256 = f.o256
                if (not rtce_sha256_update(&f.w256, inner_digest, 32)
                        or not rtce_sha256_final(out, &f.w256)):
                    return -1
            return 0
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


def _live_objects():
    """Live instances per class in a debug build (RTCENGINE_DEBUG=1); None in
    a normal build.  See rtcengine._core.debug."""
    if not RTCE_LIVE:
        return None
    return {"HmacKey": _live_HmacKey}
