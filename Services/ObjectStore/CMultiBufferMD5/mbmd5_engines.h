// The engines behind mbmd5_update, one per instruction set; mbmd5.c picks one at run time.
#ifndef MBMD5_ENGINES_H
#define MBMD5_ENGINES_H

#include "CMultiBufferMD5.h"

/// Portable C, one message.
void mbmd5_blocks_scalar(mbmd5_state *state, const uint8_t *data, size_t blocks);

#if defined(__x86_64__)
/// Up to 16 messages (lanes <= 16); only call when the CPU has AVX-512F/VL.
void mbmd5_lanes_avx512(mbmd5_state *const states[], const uint8_t *const data[], size_t lanes, size_t blocks);
/// Up to 8 messages (lanes <= 8); only call when the CPU has AVX2.
void mbmd5_lanes_avx2(mbmd5_state *const states[], const uint8_t *const data[], size_t lanes, size_t blocks);
#endif

/// One 64-byte block of zeros: the input of unused lanes, whose results are thrown away.
extern const uint8_t mbmd5_zero_block[64];

#endif
