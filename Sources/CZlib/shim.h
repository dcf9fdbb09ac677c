#ifndef CORSCOPE_CZLIB_SHIM_H
#define CORSCOPE_CZLIB_SHIM_H
#include <stdio.h>
#include <stdlib.h>
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

// A stream that cannot seek (a pipe, a FIFO, standard input): read through zlib, which passes
// bytes that are not gzip through unchanged, with its first bytes read ahead so the caller can
// tell a capture from a HAR before handing the stream on. The reader gets the read-ahead bytes
// first, then the rest; it counts what it delivered (for a progress bar without a file size).
typedef struct {
    gzFile gz;
    unsigned char prefix[64];
    size_t prefix_length;
    size_t prefix_position;
    long long delivered;
    /// Sees every byte the reader gets, in order, as it gets them (CorscopeCapture's pcapng
    /// Decryption Secrets Block walker); NULL for none.
    void (*tap)(void *context, const unsigned char *bytes, long count);
    void *tap_context;
} corscope_stream;

/// Takes ownership of `fd` (closed with the stream). NULL when zlib cannot open it.
static inline corscope_stream *corscope_stream_open(int fd) {
    gzFile gz = gzdopen(fd, "rb");
    if (gz == NULL) return NULL;
    gzbuffer(gz, 256 * 1024);
    corscope_stream *stream = (corscope_stream *)calloc(1, sizeof(corscope_stream));
    if (stream == NULL) { gzclose_r(gz); return NULL; }
    stream->gz = gz;
    while (stream->prefix_length < sizeof(stream->prefix)) {
        int n = gzread(gz, stream->prefix + stream->prefix_length, (unsigned)(sizeof(stream->prefix) - stream->prefix_length));
        if (n <= 0) break;
        stream->prefix_length += (size_t)n;
    }
    return stream;
}

/// Whether the stream is gzip-compressed (zlib decompresses it) rather than passed through.
static inline int corscope_stream_is_gzip(corscope_stream *stream) { return gzdirect(stream->gz) == 0; }

static inline ssize_t corscope_stream_read(void *cookie, char *buffer, size_t size) {
    corscope_stream *stream = (corscope_stream *)cookie;
    size_t copied = 0;
    while (copied < size && stream->prefix_position < stream->prefix_length) {
        buffer[copied++] = (char)stream->prefix[stream->prefix_position++];
    }
    if (copied == size) {
        stream->delivered += (long long)copied;
        if (stream->tap != NULL && copied > 0) stream->tap(stream->tap_context, (const unsigned char *)buffer, (long)copied);
        return (ssize_t)copied;
    }
    unsigned chunk = (size - copied) > (1u << 30) ? (1u << 30) : (unsigned)(size - copied);
    int n = gzread(stream->gz, buffer + copied, chunk);
    if (n < 0) {
        if (copied > 0) {
            stream->delivered += (long long)copied;
            if (stream->tap != NULL) stream->tap(stream->tap_context, (const unsigned char *)buffer, (long)copied);
            return (ssize_t)copied;
        }
        errno = EIO;
        return -1;
    }
    stream->delivered += (long long)copied + n;
    if (stream->tap != NULL && copied + (size_t)n > 0) stream->tap(stream->tap_context, (const unsigned char *)buffer, (long)(copied + (size_t)n));
    return (ssize_t)(copied + (size_t)n);
}

/// How far into the underlying file zlib has read (the compressed offset of a gzip file).
static inline long long corscope_stream_offset(corscope_stream *stream) {
    return (long long)gzoffset(stream->gz);
}

/// zlib's Z_BUF_ERROR: the input ended inside a gzip stream (cut short).
static inline int corscope_stream_ended_early(corscope_stream *stream) {
    int code = 0;
    gzerror(stream->gz, &code);
    return code == Z_BUF_ERROR;
}

static inline int corscope_stream_close(void *cookie) {
    corscope_stream *stream = (corscope_stream *)cookie;
    int result = gzclose_r(stream->gz) == Z_OK ? 0 : EOF;
    free(stream);
    return result;
}

/// A read-only FILE* over the stream for libpcap; fclose (pcap_close) closes the stream.
static inline FILE *corscope_stream_fopen(corscope_stream *stream) {
    corscope_cookie_io_functions functions = {
        .read = corscope_stream_read,
        .write = NULL,
        .seek = NULL,
        .close = corscope_stream_close,
    };
    return fopencookie(stream, "r", functions);
}

// deflateInit2 is a macro too (tests compress fixtures with it).
static inline int corscope_deflateInit2(z_streamp stream, int level, int windowBits) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
#endif
