#ifndef CORSCOPE_CZLIB_SHIM_H
#define CORSCOPE_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit2 is a function-like macro, which Swift cannot import.
static inline int corscope_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
#endif
