/* CRC-32 (IEEE 802.3, reflected poly 0xEDB88320; STUN FINGERPRINT, RFC 8489
 * §14.7) and CRC-32c (Castagnoli, reflected poly 0x82F63B78; SCTP checksum,
 * RFC 9260 Appendix A/B), slicing-by-8 tables built at import, plus the
 * SSE4.2 crc32 instruction for CRC-32c on x86-64 when the CPU has it. */
#ifndef RTCE_CRC_H
#define RTCE_CRC_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

static uint32_t rtce_crc32_table[8][256];
static uint32_t rtce_crc32c_table[8][256];
static int rtce_crc32c_hw = 0;

static void rtce_crc_make_table(uint32_t table[8][256], uint32_t poly)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];
        for (int t = 1; t < 8; t++) {
            c = table[0][c & 0xff] ^ (c >> 8);
            table[t][n] = c;
        }
    }
}

/* Update a running (pre-inverted) register with slicing-by-8. */
static uint32_t rtce_crc_sw(uint32_t table[8][256], uint32_t crc,
                            const uint8_t *p, size_t n)
{
    while (n && ((uintptr_t)p & 7)) {
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        n--;
    }
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= crc;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
              table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
              table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RTCE_HAVE_SSE42_PATH 1
__attribute__((target("sse4.2")))
static uint32_t rtce_crc32c_sse42(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = crc;
    while (n && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return (uint32_t)c;
}
#endif

static void rtce_crc_init(void)
{
    rtce_crc_make_table(rtce_crc32_table, 0xEDB88320u);
    rtce_crc_make_table(rtce_crc32c_table, 0x82F63B78u);
#ifdef RTCE_HAVE_SSE42_PATH
    __builtin_cpu_init();
    rtce_crc32c_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
}

/* Continue a CRC: pass 0 to start; the result is the final CRC value. */
static inline uint32_t rtce_crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    return ~rtce_crc_sw(rtce_crc32_table, ~crc, p, n);
}

static inline uint32_t rtce_crc32c_update(uint32_t crc, const uint8_t *p, size_t n)
{
#ifdef RTCE_HAVE_SSE42_PATH
    if (rtce_crc32c_hw)
        return ~rtce_crc32c_sse42(~crc, p, n);
#endif
    return ~rtce_crc_sw(rtce_crc32c_table, ~crc, p, n);
}

static inline uint32_t rtce_crc32c_update_sw(uint32_t crc, const uint8_t *p, size_t n)
{
    return ~rtce_crc_sw(rtce_crc32c_table, ~crc, p, n);
}

#endif
