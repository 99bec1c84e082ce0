// zlib (Debian's zlib1g-dev) for its fast CRC-32, used for block and x-amz-checksum-crc32 checksums.
#include <zlib.h>
