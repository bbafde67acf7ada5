/* CRC-32 (IEEE 802.3, reflected poly 0xEDB88320; STUN FINGERPRINT, RFC 8489
 * §14.7) and CRC-32c (Castagnoli, reflected poly 0x82F63B78; SCTP checksum,
 * RFC 9260 Appendix A/B), slicing-by-8 tables built at import, plus the
 * SSE4.2 crc32 instruction for CRC-32c on x86-64 when the CPU has it (three
 * interleaved streams combined with shift tables, see below). */
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

/* Three-stream CRC-32c.  One crc32 instruction chain is latency-bound (about
 * 3 cycles per 8 bytes) while the CPU can issue one per cycle, so a run of
 * 3*L bytes is split into blocks A, B, C of L bytes whose CRCs are computed
 * in one interleaved loop, A continuing from the running register and B and
 * C starting from zero.  On the raw (not inverted) register the CRC is
 * linear: running register r over data D gives shift(r, |D|) ^ crc(0, D),
 * where shift(r, k) is r fed k zero bytes.  Hence
 *     reg(r, A||B||C) = shift(shift(reg(r, A), L) ^ reg(0, B), L) ^ reg(0, C).
 * shift(., L) is a linear map on 32 bits, applied as four byte-indexed
 * lookups in a 4x256 table per L, built at init from the images of the 32
 * single-bit registers.  The pre/post inversion of rtce_crc32c_update stays
 * outside: this works on the register only. */
#define RTCE_CRC32C_NLEVELS 4
/* Ascending; each a multiple of 8 and of the one before it. */
static const size_t rtce_crc32c_level_len[RTCE_CRC32C_NLEVELS] = {
    64, 256, 1024, 8192};
static uint32_t rtce_crc32c_shift_table[RTCE_CRC32C_NLEVELS][4][256];

static inline uint32_t rtce_crc32c_shift(const uint32_t t[4][256], uint32_t c)
{
    return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^
           t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

static void rtce_crc32c_make_shift_tables(void)
{
    for (int lv = 0; lv < RTCE_CRC32C_NLEVELS; lv++) {
        uint32_t (*t)[256] = rtce_crc32c_shift_table[lv];
        size_t len = rtce_crc32c_level_len[lv];
        for (int bit = 0; bit < 32; bit++) {
            uint32_t c = (uint32_t)1 << bit;
            if (lv == 0) {
                for (size_t i = 0; i < len; i++)
                    c = rtce_crc32c_table[0][c & 0xff] ^ (c >> 8);
            } else {
                size_t reps = len / rtce_crc32c_level_len[lv - 1];
                for (size_t i = 0; i < reps; i++)
                    c = rtce_crc32c_shift(rtce_crc32c_shift_table[lv - 1], c);
            }
            t[bit >> 3][1u << (bit & 7)] = c;
        }
        for (int k = 0; k < 4; k++) {
            t[k][0] = 0;
            for (uint32_t b = 3; b < 256; b++)
                if (b & (b - 1))
                    t[k][b] = t[k][b & (b - 1)] ^ t[k][b & (0u - b)];
        }
    }
}

__attribute__((target("sse4.2")))
static uint32_t rtce_crc32c_sse42(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = crc;
    while (n && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        n--;
    }
    for (int lv = RTCE_CRC32C_NLEVELS - 1; lv >= 0; lv--) {
        const size_t len = rtce_crc32c_level_len[lv];
        while (n >= 3 * len) {
            uint64_t c1 = 0, c2 = 0;
            const uint8_t *end = p + len;
            do {
                uint64_t a, b, d;
                memcpy(&a, p, 8);
                memcpy(&b, p + len, 8);
                memcpy(&d, p + 2 * len, 8);
                c = __builtin_ia32_crc32di(c, a);
                c1 = __builtin_ia32_crc32di(c1, b);
                c2 = __builtin_ia32_crc32di(c2, d);
                p += 8;
            } while (p < end);
            c = rtce_crc32c_shift(rtce_crc32c_shift_table[lv], (uint32_t)c) ^ (uint32_t)c1;
            c = rtce_crc32c_shift(rtce_crc32c_shift_table[lv], (uint32_t)c) ^ (uint32_t)c2;
            p += 2 * len;
            n -= 3 * len;
        }
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
    if (rtce_crc32c_hw)
        rtce_crc32c_make_shift_tables();
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
