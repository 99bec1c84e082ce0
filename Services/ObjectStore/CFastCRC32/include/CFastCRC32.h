// CRC-32 (the IEEE 802.3 polynomial, as zlib's crc32()) by carry-less multiplication:
// VPCLMULQDQ on ZMM registers folds 256 bytes per step (~60 GB/s here, against ~4-7 GB/s
// for zlib 1.2's tables), PCLMULQDQ alone 64 bytes (~9 GB/s). Without either (other CPUs,
// other architectures) it calls zlib.
#ifndef CFASTCRC32_H
#define CFASTCRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Same contract and values as zlib's `crc32(crc, data, length)`: `crc` is the CRC of the
/// bytes before `data` (0 for none) and the result the CRC including `data`.
uint32_t fastcrc32_update(uint32_t crc, const uint8_t *data, size_t length);

/// The path this CPU takes: 2 VPCLMULQDQ (AVX-512), 1 PCLMULQDQ, 0 zlib.
int fastcrc32_engine(void);

#ifdef __cplusplus
}
#endif

#endif
