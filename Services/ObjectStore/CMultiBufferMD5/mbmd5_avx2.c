// 8 messages in the 32-bit lanes of YMM registers. Each message's block is loaded as two
// rows of 8 words; two 8x8 transpositions give words 0-7 and 8-15 of all 8 messages.
#if defined(__x86_64__)
#include <immintrin.h>

#include "mbmd5_engines.h"
#include "md5_schedule.h"

#define TARGET __attribute__((target("avx2")))

#define V256_F(b, c, d) _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
#define V256_G(b, c, d) _mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c)))
#define V256_H(b, c, d) _mm256_xor_si256(_mm256_xor_si256(b, c), d)
#define V256_I(b, c, d) _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones)))
#define V256_ROTL(v, s) _mm256_or_si256(_mm256_slli_epi32(v, s), _mm256_srli_epi32(v, 32 - (s)))

#define V256_STEP(fn, a, b, c, d, k, t, s)                                                     \
    a = _mm256_add_epi32(a, _mm256_add_epi32(x[k], _mm256_set1_epi32((int)(t))));           \
    __asm__("" : "+v"(a));                                                                  \
    a = _mm256_add_epi32(a, fn(b, c, d));                                                   \
    a = _mm256_add_epi32(b, V256_ROTL(a, s));
#define STEP_F(a, b, c, d, k, t, s) V256_STEP(V256_F, a, b, c, d, k, t, s)
#define STEP_G(a, b, c, d, k, t, s) V256_STEP(V256_G, a, b, c, d, k, t, s)
#define STEP_H(a, b, c, d, k, t, s) V256_STEP(V256_H, a, b, c, d, k, t, s)
#define STEP_I(a, b, c, d, k, t, s) V256_STEP(V256_I, a, b, c, d, k, t, s)

/// Rows r[i] (8 words of message i) become columns x[j] (word j of every message).
TARGET static inline void transpose8(const __m256i r[8], __m256i x[8]) {
    __m256i t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    }
    // Within 128-bit half h of u[4q + m]: word 4h + m of messages 4q .. 4q + 3.
    for (int q = 0; q < 2; q++) {
        const __m256i *p = t + 4 * q;
        u[4 * q + 0] = _mm256_unpacklo_epi64(p[0], p[2]);
        u[4 * q + 1] = _mm256_unpackhi_epi64(p[0], p[2]);
        u[4 * q + 2] = _mm256_unpacklo_epi64(p[1], p[3]);
        u[4 * q + 3] = _mm256_unpackhi_epi64(p[1], p[3]);
    }
    for (int m = 0; m < 4; m++) {
        x[m] = _mm256_permute2x128_si256(u[m], u[4 + m], 0x20);
        x[4 + m] = _mm256_permute2x128_si256(u[m], u[4 + m], 0x31);
    }
}

TARGET void mbmd5_lanes_avx2(mbmd5_state *const states[], const uint8_t *const data[], size_t lanes, size_t blocks) {
    const uint8_t *p[8];
    size_t stride[8];
    uint32_t init[4][8];
    for (size_t i = 0; i < 8; i++) {
        const int used = i < lanes;
        p[i] = used ? data[i] : mbmd5_zero_block;
        stride[i] = used ? 64 : 0;
        for (int w = 0; w < 4; w++) init[w][i] = used ? states[i]->word[w] : 0;
    }
    const __m256i ones = _mm256_set1_epi32(-1);
    __m256i a = _mm256_loadu_si256((const __m256i *)init[0]), b = _mm256_loadu_si256((const __m256i *)init[1]);
    __m256i c = _mm256_loadu_si256((const __m256i *)init[2]), d = _mm256_loadu_si256((const __m256i *)init[3]);
    for (size_t n = 0; n < blocks; n++) {
        __m256i lo[8], hi[8], x[16];
        for (int i = 0; i < 8; i++) {
            lo[i] = _mm256_loadu_si256((const __m256i *)p[i]);
            hi[i] = _mm256_loadu_si256((const __m256i *)(p[i] + 32));
            p[i] += stride[i];
        }
        transpose8(lo, x);
        transpose8(hi, x + 8);
        const __m256i a0 = a, b0 = b, c0 = c, d0 = d;
        MD5_STEPS(STEP_F, STEP_G, STEP_H, STEP_I)
        a = _mm256_add_epi32(a, a0);
        b = _mm256_add_epi32(b, b0);
        c = _mm256_add_epi32(c, c0);
        d = _mm256_add_epi32(d, d0);
    }
    _mm256_storeu_si256((__m256i *)init[0], a);
    _mm256_storeu_si256((__m256i *)init[1], b);
    _mm256_storeu_si256((__m256i *)init[2], c);
    _mm256_storeu_si256((__m256i *)init[3], d);
    for (size_t i = 0; i < lanes; i++) {
        for (int w = 0; w < 4; w++) states[i]->word[w] = init[w][i];
    }
}
#endif
