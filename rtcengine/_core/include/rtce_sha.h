/* Low-level SHA-1 / SHA-256 contexts for HMAC without allocation.
 *
 * OpenSSL 3.0's EVP_MD_CTX_copy_ex duplicates the provider's digest state
 * with malloc on every call, so an HMAC built on EVP contexts allocates twice
 * per message.  The low-level SHA_CTX / SHA256_CTX are plain structs: copying
 * the keyed ipad/opad states is a memcpy.  They are deprecated in OpenSSL 3.0
 * (still present in every 3.x); only hmac.pyx includes this header, and it is
 * compiled with OPENSSL_SUPPRESS_DEPRECATED (setup.py).  Where they are gone
 * (a build with OPENSSL_NO_DEPRECATED_3_0, or a future major release),
 * RTCE_HAVE_LOWLEVEL_SHA is 0 and hmac.pyx keeps the EVP path.
 */
#ifndef RTCE_SHA_H
#define RTCE_SHA_H

#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <string.h>

#if defined(OPENSSL_NO_DEPRECATED_3_0) || (defined(OPENSSL_VERSION_MAJOR) && OPENSSL_VERSION_MAJOR >= 4)
#define RTCE_HAVE_LOWLEVEL_SHA 0
typedef struct { int unused; } rtce_sha1_ctx;
typedef struct { int unused; } rtce_sha256_ctx;
static inline int rtce_sha1_init(rtce_sha1_ctx *c) { (void)c; return 0; }
static inline int rtce_sha1_update(rtce_sha1_ctx *c, const void *p, size_t n) { (void)c; (void)p; (void)n; return 0; }
static inline int rtce_sha1_final(unsigned char *o, rtce_sha1_ctx *c) { (void)o; (void)c; return 0; }
static inline int rtce_sha256_init(rtce_sha256_ctx *c) { (void)c; return 0; }
static inline int rtce_sha256_update(rtce_sha256_ctx *c, const void *p, size_t n) { (void)c; (void)p; (void)n; return 0; }
static inline int rtce_sha256_final(unsigned char *o, rtce_sha256_ctx *c) { (void)o; (void)c; return 0; }
#else
#define RTCE_HAVE_LOWLEVEL_SHA 1
typedef SHA_CTX rtce_sha1_ctx;
typedef SHA256_CTX rtce_sha256_ctx;
static inline int rtce_sha1_init(rtce_sha1_ctx *c) { return SHA1_Init(c); }
static inline int rtce_sha1_update(rtce_sha1_ctx *c, const void *p, size_t n) { return SHA1_Update(c, p, n); }
static inline int rtce_sha1_final(unsigned char *o, rtce_sha1_ctx *c) { return SHA1_Final(o, c); }
static inline int rtce_sha256_init(rtce_sha256_ctx *c) { return SHA256_Init(c); }
static inline int rtce_sha256_update(rtce_sha256_ctx *c, const void *p, size_t n) { return SHA256_Update(c, p, n); }
static inline int rtce_sha256_final(unsigned char *o, rtce_sha256_ctx *c) { return SHA256_Final(o, c); }
#endif

/* The keyed states of one HMAC key (RFC 2104 §2): after key^ipad, after
 * key^opad, and a scratch state reused for every message. */
typedef struct {
    int alg;                 /* 1: SHA-1, 2: SHA-256 */
    rtce_sha1_ctx i1, o1, w1;
    rtce_sha256_ctx i256, o256, w256;
} rtce_hmac_state;

#endif
