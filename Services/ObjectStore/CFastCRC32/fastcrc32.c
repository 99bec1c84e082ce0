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

/// The (non-inverted) CRC register after `length` bytes, `length` a multiple of 16, >= 64.
TARGET static uint32_t crc32_folded(uint32_t crc, const uint8_t *p, size_t length) {
    const __m128i k512 = _mm_set_epi64x((long long)K480, (long long)K544);
    const __m128i k128 = _mm_set_epi64x((long long)K96, (long long)K160);
    __m128i x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128((int)crc));
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    p += 64;
    length -= 64;
    for (; length >= 64; p += 64, length -= 64) {
        x0 = fold(x0, k512, _mm_loadu_si128((const __m128i *)p));
        x1 = fold(x1, k512, _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = fold(x2, k512, _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = fold(x3, k512, _mm_loadu_si128((const __m128i *)(p + 48)));
    }
    __m128i x = fold(x0, k128, x1);
    x = fold(x, k128, x2);
    x = fold(x, k128, x3);
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

static int detect_pclmul(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx >> 1 & 1) && (ecx >> 19 & 1); // PCLMULQDQ, SSE4.1
}
#else
static int detect_pclmul(void) { return 0; }
#endif

static int pclmul_cache = -1;

int fastcrc32_uses_pclmul(void) {
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
    if (length >= 64 && fastcrc32_uses_pclmul()) {
        const size_t folded = length & ~(size_t)15;
        crc = ~crc32_folded(~crc, data, folded);
        data += folded;
        length -= folded;
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
