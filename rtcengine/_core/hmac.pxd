# Keyed HMAC contexts (RFC 2104) for STUN MESSAGE-INTEGRITY (RFC 8489 §14.5,
# §14.6) and SRTP authentication (RFC 3711 §4.2.1).  The key is absorbed once
# (the ipad/opad blocks are hashed at construction); each MAC then costs two
# context copies and the data, with no allocation.
from libc.stdint cimport uint8_t
from rtcengine._core.openssl cimport EVP_MD, EVP_MD_CTX


cdef class HmacKey:
    cdef const EVP_MD* md
    cdef EVP_MD_CTX* inner      # state after hashing key ^ ipad
    cdef EVP_MD_CTX* outer      # state after hashing key ^ opad
    cdef EVP_MD_CTX* work       # scratch, reused for every MAC
    # SHA-1/SHA-256 keys: plain-struct digest states (rtce_sha.h), copied per
    # MAC with no allocation; NULL for the other digests (EVP path above).
    cdef void* fast
    cdef readonly int digest_size
    cdef readonly str algorithm

    # Multi-part MAC: begin, update any number of times, finish.  Return 0, or
    # -1 if OpenSSL failed (no Python exception set: usable without the GIL).
    cdef int begin(self) noexcept nogil
    cdef int update(self, const uint8_t* p, size_t n) noexcept nogil
    cdef int finish(self, uint8_t* out) noexcept nogil
    # One-shot MAC of p[0:n] into out[0:digest_size].
    cdef int compute(self, const uint8_t* p, size_t n, uint8_t* out) noexcept nogil
