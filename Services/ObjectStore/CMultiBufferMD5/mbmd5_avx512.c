// 16 messages in the 32-bit lanes of ZMM registers. Each message's block is loaded as one
// row and a 16x16 transposition turns the rows into the 16 message words, each word
// holding that word of all 16 messages.
#if defined(__x86_64__)
#include <immintrin.h>

#include "mbmd5_engines.h"
#include "md5_schedule.h"

#define TARGET __attribute__((target("avx512f,avx512vl")))

// vpternlogd truth tables (bit index = b << 2 | c << 1 | d) for MD5's four functions.
#define TERN_F 0xCA /* b ? c : d */
#define TERN_G 0xE4 /* d ? b : c */
#define TERN_H 0x96 /* b ^ c ^ d */
#define TERN_I 0x39 /* c ^ (b | ~d) */

#define V512_STEP(tern, a, b, c, d, k, t, s)                                                   \
    a = _mm512_add_epi32(a, _mm512_add_epi32(x[k], _mm512_set1_epi32((int)(t))));           \
    __asm__("" : "+v"(a));                                                                  \
    a = _mm512_add_epi32(a, _mm512_ternarylogic_epi32(b, c, d, tern));                      \
    a = _mm512_add_epi32(b, _mm512_rol_epi32(a, s));
#define STEP_F(a, b, c, d, k, t, s) V512_STEP(TERN_F, a, b, c, d, k, t, s)
#define STEP_G(a, b, c, d, k, t, s) V512_STEP(TERN_G, a, b, c, d, k, t, s)
#define STEP_H(a, b, c, d, k, t, s) V512_STEP(TERN_H, a, b, c, d, k, t, s)
#define STEP_I(a, b, c, d, k, t, s) V512_STEP(TERN_I, a, b, c, d, k, t, s)

/// Rows r[i] (message i's 16 words) become columns x[j] (word j of every message).
TARGET static inline void transpose16(const __m512i r[16], __m512i x[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    // Within every 128-bit lane k of u[4q + m]: word 4k + m of messages 4q .. 4q + 3.
    for (int q = 0; q < 4; q++) {
        const __m512i *p = t + 4 * q;
        u[4 * q + 0] = _mm512_unpacklo_epi64(p[0], p[2]);
        u[4 * q + 1] = _mm512_unpackhi_epi64(p[0], p[2]);
        u[4 * q + 2] = _mm512_unpacklo_epi64(p[1], p[3]);
        u[4 * q + 3] = _mm512_unpackhi_epi64(p[1], p[3]);
    }
    for (int m = 0; m < 4; m++) {
        const __m512i lo01 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x44);
        const __m512i hi01 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xEE);
        const __m512i lo23 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x44);
        const __m512i hi23 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xEE);
        x[m] = _mm512_shuffle_i32x4(lo01, lo23, 0x88);
        x[4 + m] = _mm512_shuffle_i32x4(lo01, lo23, 0xDD);
        x[8 + m] = _mm512_shuffle_i32x4(hi01, hi23, 0x88);
        x[12 + m] = _mm512_shuffle_i32x4(hi01, hi23, 0xDD);
    }
}

TARGET void mbmd5_lanes_avx512(mbmd5_state *const states[], const uint8_t *const data[], size_t lanes, size_t blocks) {
    const uint8_t *p[16];
    size_t stride[16];
    uint32_t init[4][16];
    for (size_t i = 0; i < 16; i++) {
        const int used = i < lanes;
        p[i] = used ? data[i] : mbmd5_zero_block;
        stride[i] = used ? 64 : 0;
        for (int w = 0; w < 4; w++) init[w][i] = used ? states[i]->word[w] : 0;
    }
    __m512i a = _mm512_loadu_si512(init[0]), b = _mm512_loadu_si512(init[1]);
    __m512i c = _mm512_loadu_si512(init[2]), d = _mm512_loadu_si512(init[3]);
    for (size_t n = 0; n < blocks; n++) {
        __m512i r[16], x[16];
        for (int i = 0; i < 16; i++) {
            r[i] = _mm512_loadu_si512(p[i]);
            p[i] += stride[i];
        }
        transpose16(r, x);
        const __m512i a0 = a, b0 = b, c0 = c, d0 = d;
        MD5_STEPS(STEP_F, STEP_G, STEP_H, STEP_I)
        a = _mm512_add_epi32(a, a0);
        b = _mm512_add_epi32(b, b0);
        c = _mm512_add_epi32(c, c0);
        d = _mm512_add_epi32(d, d0);
    }
    _mm512_storeu_si512(init[0], a);
    _mm512_storeu_si512(init[1], b);
    _mm512_storeu_si512(init[2], c);
    _mm512_storeu_si512(init[3], d);
    for (size_t i = 0; i < lanes; i++) {
        for (int w = 0; w < 4; w++) states[i]->word[w] = init[w][i];
    }
}
#endif
