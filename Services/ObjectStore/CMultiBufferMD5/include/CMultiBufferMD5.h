// Multi-buffer MD5: advances the MD5 state of several independent messages at once, one
// message per SIMD lane (AVX-512: 16 lanes, AVX2: 8), so that many bodies hashed side by
// side cost little more CPU than one. A single message still goes at scalar speed: MD5's
// rounds are one long dependency chain, only independent messages run in parallel.
//
// Only whole 64-byte blocks are hashed here; buffering of partial blocks and the final
// padding belong to the caller (see MD5Stream in the ObjectStore module).
#ifndef CMULTIBUFFERMD5_H
#define CMULTIBUFFERMD5_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The MD5 chaining value of one message: words A, B, C, D (RFC 1321 section 3.3).
typedef struct {
    uint32_t word[4];
} mbmd5_state;

/// Sets `state` to MD5's initial chaining value.
void mbmd5_state_init(mbmd5_state *state);

/// How many messages one call hashes in lockstep on this CPU: 16 (AVX-512), 8 (AVX2) or
/// 1 (portable C). Calls with more lanes than this run them in groups.
int mbmd5_lane_width(void);

/// The engine chosen for this CPU: "avx512", "avx2" or "scalar".
const char *mbmd5_engine_name(void);

/// Hashes `blocks` consecutive 64-byte blocks of each of `lanes` messages: lane i reads
/// from `data[i]` and updates `states[i]`. The states and data of different lanes must not
/// overlap. `lanes` may be any count; `blocks` may be 0.
void mbmd5_update(mbmd5_state *const states[], const uint8_t *const data[], size_t lanes, size_t blocks);

/// The same with a given engine (`lane_width` 16, 8 or 1, clamped to what the CPU runs),
/// so tests can check every engine the CPU supports against the others.
void mbmd5_update_with_width(int lane_width, mbmd5_state *const states[], const uint8_t *const data[],
                             size_t lanes, size_t blocks);

#ifdef __cplusplus
}
#endif

#endif
