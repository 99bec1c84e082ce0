// Google's snappy (Debian's libsnappy-dev) through its C interface: the compressor. The
// decoder stays Vigil's own Swift one, which names the problem in a damaged block.
#include <snappy-c.h>
