#ifndef CORSCOPE_CZLIB_SHIM_H
#define CORSCOPE_CZLIB_SHIM_H
#include <stdio.h>
#include <sys/types.h>
#include <errno.h>
#include <zlib.h>

// inflateInit2 is a function-like macro, which Swift cannot import.
static inline int corscope_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

// These helpers let libpcap read a gzip file through a FILE* (glibc fopencookie) without unpacking
// it. glibc declares fopencookie only under _GNU_SOURCE, and defining that here would make this
// module's view of the system headers differ from CPcap's (clang rejects the mix), so without it
// the declaration is spelled out; the callback struct has glibc's layout (four function pointers).
#ifdef __USE_GNU
typedef cookie_io_functions_t corscope_cookie_io_functions;
#else
typedef struct {
    ssize_t (*read)(void *cookie, char *buffer, size_t size);
    ssize_t (*write)(void *cookie, const char *buffer, size_t size);
    int (*seek)(void *cookie, long long *position, int whence);  // off64_t: a 64-bit signed integer
    int (*close)(void *cookie);
} corscope_cookie_io_functions;
extern FILE *fopencookie(void *cookie, const char *mode, corscope_cookie_io_functions functions);
#endif

static inline ssize_t corscope_gz_cookie_read(void *cookie, char *buffer, size_t size) {
    // gzread takes an unsigned count: read at most 1 GiB per call.
    unsigned chunk = size > (1u << 30) ? (1u << 30) : (unsigned)size;
    int n = gzread((gzFile)cookie, buffer, chunk);
    if (n < 0) {
        errno = EIO;
        return -1;
    }
    return n;
}

static inline int corscope_gz_cookie_close(void *cookie) {
    return gzclose_r((gzFile)cookie) == Z_OK ? 0 : EOF;
}

/// Wraps an open gzip stream in a read-only FILE*; fclose on it closes the gzip stream.
static inline FILE *corscope_gz_fopen_cookie(gzFile file) {
    corscope_cookie_io_functions functions = {
        .read = corscope_gz_cookie_read,
        .write = NULL,
        .seek = NULL,
        .close = corscope_gz_cookie_close,
    };
    return fopencookie(file, "r", functions);
}

// deflateInit2 is a macro too (tests compress fixtures with it).
static inline int corscope_deflateInit2(z_streamp stream, int level, int windowBits) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
#endif
