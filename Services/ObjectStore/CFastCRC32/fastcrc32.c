#include "CFastCRC32.h"

#include <zlib.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

// Folding constants for the bit-reflected polynomial 0xEDB88320: K(e) is x^e mod P,
// bit-reversed over 32 bits and shifted left by one (the reflected 33-bit form), with e the
// fold distance in bits plus or minus 32 (the Intel white paper "Fast CRC Computation for
// Generic Polynomials Using PCLMULQDQ Instruction", 2009, section 4).
#define K544 0x154442bd4ULL /* fold by 512 bits, low half */
#define K480 0x1c6e41596ULL /* fold by 512 bits, high half */
#define K160 0x1751997d0ULL /* fold by 128 bits, low half */
#define K96 0x0ccaa009eULL  /* fold by 128 bits, high half; also 128 -> 64 bits */
#define K64 0x163cd6124ULL  /* 64 -> 32 bits */
#define P_REFLECTED 0x1db710641ULL /* P itself, reflected */
#define MU_REFLECTED 0x1f7011641ULL /* floor(x^64 / P), reflected (Barrett reduction) */

#define TARGET __attribute__((target("pclmul,sse4.1")))

/// x (128 bits of remainder) moved forward by the distance folded into `k`, plus `next`.
TARGET static inline __m128i fold(__m128i x, __m128i k, __m128i next) {
    const __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
    const __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

// VPCLMULQDQ: four 512-bit registers, 256 bytes per step, then down to one 128-bit
// remainder that crc32_reduce continues from.
#define K2080 0x11542778aULL /* fold by 2048 bits, low half */
#define K2016 0x1322d1430ULL /* fold by 2048 bits, high half */
#define K416 0x03db1ecdcULL  /* fold by 384 bits */
#define K352 0x174359406ULL
#define K288 0x0f1da05aaULL  /* fold by 256 bits */
#define K224 0x15a546366ULL

#define WIDE_TARGET __attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.1")))

WIDE_TARGET static inline __m512i fold512(__m512i x, __m512i k, __m512i next) {
    const __m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00);
    const __m512i hi = _mm512_clmulepi64_epi128(x, k, 0x11);
    return _mm512_ternarylogic_epi64(lo, hi, next, 0x96);
}

/// Folds `length` bytes (a multiple of 256, at least 256) into a 128-bit remainder.
WIDE_TARGET static __m128i crc32_fold_wide(uint32_t crc, const uint8_t *p, size_t length) {
    const __m512i k2048 = _mm512_set_epi64((long long)K2016, (long long)K2080, (long long)K2016, (long long)K2080,
                                           (long long)K2016, (long long)K2080, (long long)K2016, (long long)K2080);
    const __m512i k512 = _mm512_set_epi64((long long)K480, (long long)K544, (long long)K480, (long long)K544,
                                          (long long)K480, (long long)K544, (long long)K480, (long long)K544);
    __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)crc)));
    __m512i x1 = _mm512_loadu_si512(p + 64);
    __m512i x2 = _mm512_loadu_si512(p + 128);
    __m512i x3 = _mm512_loadu_si512(p + 192);
    for (p += 256, length -= 256; length >= 256; p += 256, length -= 256) {
        x0 = fold512(x0, k2048, _mm512_loadu_si512(p));
        x1 = fold512(x1, k2048, _mm512_loadu_si512(p + 64));
        x2 = fold512(x2, k2048, _mm512_loadu_si512(p + 128));
        x3 = fold512(x3, k2048, _mm512_loadu_si512(p + 192));
    }
    __m512i x = fold512(x0, k512, x1);
    x = fold512(x, k512, x2);
    x = fold512(x, k512, x3);
    // The four 128-bit lanes move forward by 384, 256, 128 and 0 bits onto the last one.
    const __m512i kLanes = _mm512_set_epi64(0, 0, (long long)K96, (long long)K160, (long long)K224, (long long)K288,
                                            (long long)K352, (long long)K416);
    const __m512i moved = _mm512_xor_si512(_mm512_clmulepi64_epi128(x, kLanes, 0x00), _mm512_clmulepi64_epi128(x, kLanes, 0x11));
    __m128i r = _mm512_extracti32x4_epi32(x, 3);
    r = _mm_xor_si128(r, _mm512_extracti32x4_epi32(moved, 0));
    r = _mm_xor_si128(r, _mm512_extracti32x4_epi32(moved, 1));
    return _mm_xor_si128(r, _mm512_extracti32x4_epi32(moved, 2));
}

/// Folds `length` bytes (a multiple of 64, at least 64) into a 128-bit remainder.
TARGET static __m128i crc32_fold_narrow(uint32_t crc, const uint8_t *p, size_t length) {
    const __m128i k512 = _mm_set_epi64x((long long)K480, (long long)K544);
    const __m128i k128 = _mm_set_epi64x((long long)K96, (long long)K160);
    __m128i x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128((int)crc));
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    for (p += 64, length -= 64; length >= 64; p += 64, length -= 64) {
        x0 = fold(x0, k512, _mm_loadu_si128((const __m128i *)p));
        x1 = fold(x1, k512, _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = fold(x2, k512, _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = fold(x3, k512, _mm_loadu_si128((const __m128i *)(p + 48)));
    }
    __m128i x = fold(x0, k128, x1);
    x = fold(x, k128, x2);
    return fold(x, k128, x3);
}

/// Continues the remainder `x` over `length` more bytes (a multiple of 16) and reduces it
/// to the 32-bit CRC register.
TARGET static uint32_t crc32_reduce(__m128i x, const uint8_t *p, size_t length) {
    const __m128i k128 = _mm_set_epi64x((long long)K96, (long long)K160);
    for (; length >= 16; p += 16, length -= 16) x = fold(x, k128, _mm_loadu_si128((const __m128i *)p));

    const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
    // 128 -> 64 bits: the low half moves forward by 64 bits onto the high half.
    x = _mm_xor_si128(_mm_clmulepi64_si128(x, k128, 0x10), _mm_srli_si128(x, 8));
    // 64 -> 32 bits.
    const __m128i k64 = _mm_set_epi64x(0, (long long)K64);
    x = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x, mask32), k64, 0x00), _mm_srli_si128(x, 4));
    // Barrett reduction to the 32-bit remainder.
    const __m128i poly = _mm_set_epi64x((long long)MU_REFLECTED, (long long)P_REFLECTED);
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x, mask32), poly, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), poly, 0x00);
    return (uint32_t)_mm_extract_epi32(_mm_xor_si128(x, t), 1);
}

/// 0: zlib, 1: PCLMULQDQ, 2: also VPCLMULQDQ on ZMM registers (AVX-512F, with the OS
/// saving ZMM state: XCR0 bits 5-7 and 1-2).
static int detect_pclmul(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ecx >> 1 & 1) || !(ecx >> 19 & 1)) return 0; // PCLMULQDQ, SSE4.1
    if (!(ecx >> 27 & 1)) return 1;                     // OSXSAVE
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 1;
    const int avx512f = ebx >> 16 & 1, vpclmulqdq = ecx >> 10 & 1;
    return avx512f && vpclmulqdq && (xcr0_lo & 0xE6) == 0xE6 ? 2 : 1;
}
#else
static int detect_pclmul(void) { return 0; }
#endif

static int pclmul_cache = -1;

int fastcrc32_engine(void) {
    // A benign race: every thread computes the same value.
    int uses = __atomic_load_n(&pclmul_cache, __ATOMIC_RELAXED);
    if (uses < 0) {
        uses = detect_pclmul();
        __atomic_store_n(&pclmul_cache, uses, __ATOMIC_RELAXED);
    }
    return uses;
}

uint32_t fastcrc32_update(uint32_t crc, const uint8_t *data, size_t length) {
#if defined(__x86_64__)
    const int engine = fastcrc32_engine();
    if (length >= 64 && engine > 0) {
        // The bulk in 256-byte steps on ZMM registers (or 64-byte steps on XMM ones), then
        // 16-byte steps; the last 0-15 bytes go to zlib.
        size_t bulk;
        __m128i x;
        if (engine == 2 && length >= 256) {
            bulk = length & ~(size_t)255;
            x = crc32_fold_wide(~crc, data, bulk);
        } else {
            bulk = length & ~(size_t)63;
            x = crc32_fold_narrow(~crc, data, bulk);
        }
        const size_t steps = (length - bulk) & ~(size_t)15;
        crc = ~crc32_reduce(x, data + bulk, steps);
        data += bulk + steps;
        length -= bulk + steps;
    }
#endif
    // zlib takes at most 4 GiB per call (uInt); the tail here is under 16 bytes unless
    // the fast path is unavailable.
    while (length > 0) {
        const size_t n = length > 0x40000000 ? 0x40000000 : length;
        crc = (uint32_t)crc32(crc, data, (uInt)n);
        data += n;
        length -= n;
    }
    return crc;
}
