#include "CMultiBufferMD5.h"
#include "mbmd5_engines.h"
#include "md5_schedule.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

const uint8_t mbmd5_zero_block[64] = {0};

void mbmd5_state_init(mbmd5_state *state) {
    state->word[0] = 0x67452301;
    state->word[1] = 0xefcdab89;
    state->word[2] = 0x98badcfe;
    state->word[3] = 0x10325476;
}

static inline uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t rotl32(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

// One message is a single dependency chain through b, so each step first adds the terms
// that do not depend on b; the empty asm keeps the compiler from re-associating those sums
// back onto the chain (which costs ~15% here). G's halves share no bits, so + stands for |.
#define OFF_CHAIN(v) __asm__("" : "+r"(v))
#define STEP_F(a, b, c, d, k, t, s) a += x[k] + (uint32_t)(t); OFF_CHAIN(a); a = b + rotl32(a + ((d) ^ ((b) & ((c) ^ (d)))), s);
#define STEP_G(a, b, c, d, k, t, s) a += x[k] + (uint32_t)(t) + ((c) & ~(d)); OFF_CHAIN(a); a = b + rotl32(a + ((b) & (d)), s);
#define STEP_H(a, b, c, d, k, t, s) a += x[k] + (uint32_t)(t); OFF_CHAIN(a); a = b + rotl32(a + ((b) ^ ((c) ^ (d))), s);
#define STEP_I(a, b, c, d, k, t, s) a += x[k] + (uint32_t)(t); OFF_CHAIN(a); a = b + rotl32(a + ((c) ^ ((b) | ~(d))), s);

void mbmd5_blocks_scalar(mbmd5_state *state, const uint8_t *data, size_t blocks) {
    uint32_t a = state->word[0], b = state->word[1], c = state->word[2], d = state->word[3];
    for (size_t n = 0; n < blocks; n++, data += 64) {
        uint32_t x[16];
        for (int i = 0; i < 16; i++) x[i] = load_le32(data + 4 * i);
        const uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
        MD5_STEPS(STEP_F, STEP_G, STEP_H, STEP_I)
        a += a0;
        b += b0;
        c += c0;
        d += d0;
    }
    state->word[0] = a;
    state->word[1] = b;
    state->word[2] = c;
    state->word[3] = d;
}

/// The widest engine the CPU and the OS support: AVX-512 needs the CPUID feature bits and
/// the OS saving the opmask and ZMM registers (XCR0 bits 5-7), AVX2 the YMM ones (bits 1-2).
static int detect_lane_width(void) {
#if defined(__x86_64__)
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 1;
    const int osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if (!osxsave || !avx) return 1;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 1;
    const int avx2 = (ebx >> 5) & 1, avx512f = (ebx >> 16) & 1, avx512vl = (ebx >> 31) & 1;
    if (avx512f && avx512vl && (xcr0_lo & 0xE6) == 0xE6) return 16;
    if (avx2 && (xcr0_lo & 0x6) == 0x6) return 8;
#endif
    return 1;
}

static int lane_width_cache = 0;

int mbmd5_lane_width(void) {
    // A benign race: every thread computes the same value.
    int width = __atomic_load_n(&lane_width_cache, __ATOMIC_RELAXED);
    if (width == 0) {
        width = detect_lane_width();
        __atomic_store_n(&lane_width_cache, width, __ATOMIC_RELAXED);
    }
    return width;
}

const char *mbmd5_engine_name(void) {
    switch (mbmd5_lane_width()) {
    case 16: return "avx512";
    case 8: return "avx2";
    default: return "scalar";
    }
}

void mbmd5_update_with_width(int lane_width, mbmd5_state *const states[], const uint8_t *const data[],
                             size_t lanes, size_t blocks) {
    const int supported = mbmd5_lane_width();
    if (lane_width > supported) lane_width = supported;
    if (blocks == 0) return;
    size_t first = 0;
#if defined(__x86_64__)
    // A lone message takes the scalar engine: one SIMD lane runs the same dependency chain
    // with longer vector latencies (~480 against ~840 MB/s here).
    while (lanes - first > 1 && lane_width >= 8) {
        size_t group = lanes - first;
        if (group > (size_t)lane_width) group = (size_t)lane_width;
        if (lane_width == 16) {
            mbmd5_lanes_avx512(states + first, data + first, group, blocks);
        } else {
            mbmd5_lanes_avx2(states + first, data + first, group, blocks);
        }
        first += group;
    }
#endif
    for (; first < lanes; first++) mbmd5_blocks_scalar(states[first], data[first], blocks);
}

void mbmd5_update(mbmd5_state *const states[], const uint8_t *const data[], size_t lanes, size_t blocks) {
    mbmd5_update_with_width(mbmd5_lane_width(), states, data, lanes, blocks);
}
