#ifndef TP_SRC_ICC_H
#define TP_SRC_ICC_H

#include <stddef.h>
#include <stdint.h>

/* Copies the profile description ('desc' tag, v2 text or v4 mluc) into out
 * as UTF-8; returns 0, or negative when there is none. */
int icc_description(const uint8_t *icc, size_t len, char *out, size_t outlen);

#endif /* TP_SRC_ICC_H */
