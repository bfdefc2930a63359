#ifndef TP_SRC_MEM_H
#define TP_SRC_MEM_H

#include <stddef.h>
#include <stdint.h>

/* All allocation goes through these (see mem.c for failure injection). */
void *tp_malloc(size_t n);
void *tp_calloc(size_t n, size_t size);
void *tp_realloc(void *p, size_t n);
void tp_free(void *p);
/* Frees *pp and sets it to NULL; pp is a pointer to a pointer. */
void tp_freep(void *pp);
/* Caller owns the result; free with tp_free(). NULL on allocation failure. */
char *tp_strdup(const char *s);

/* A growable byte buffer.  Zero-initialise; release with buf_free(). */
struct tp_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};

int buf_reserve(struct tp_buf *b, size_t n);
int buf_append(struct tp_buf *b, const void *data, size_t n);
/* Replaces the contents with a copy of data. */
int buf_set(struct tp_buf *b, const void *data, size_t n);
/* Accepts NULL; leaves b empty and reusable. */
void buf_free(struct tp_buf *b);

#endif /* TP_SRC_MEM_H */
