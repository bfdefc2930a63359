#ifndef TP_SRC_JSON_H
#define TP_SRC_JSON_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* JSON output.  Objects are built with jansson (one serializer per object
 * type, shared by every command that prints it; the keys are documented in
 * docs/json.md) and printed one per line with json_print.  Text that may
 * hold any bytes (file names, EXIF strings) goes through json_text, so the
 * output is always valid UTF-8 (RFC 8259): a byte that is not part of
 * well-formed UTF-8 (also surrogates and overlong forms) becomes U+FFFD. */

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0 when the bytes
 * there are not one (n: bytes available). */
size_t json_utf8_seq(const unsigned char *p, size_t n);
/* A new jansson string of s with invalid bytes replaced; NULL or "" gives
 * json null.  Caller owns the reference (json_decref).  Returns NULL only
 * on out of memory. */
json_t *json_text(const char *s);
/* Sets key on obj to json_text(s) / an integer / a real (non-finite: null);
 * 0 or TP_ERR(ENOMEM). */
int json_set_text(json_t *obj, const char *key, const char *s);
int json_set_int(json_t *obj, const char *key, long long v);
int json_set_real(json_t *obj, const char *key, double v);
/* Sets key to true/false; 0 or TP_ERR(ENOMEM). */
int json_set_bool(json_t *obj, const char *key, int v);
/* Sets key to v rounded to `decimals` places, always a real (1.0, not 1:
 * figures the text output prints with a fraction); non-finite: null. */
int json_set_fixed(json_t *obj, const char *key, double v, int decimals);
/* Sets key to v, taking ownership of v also on failure; v NULL (a failed
 * constructor) gives TP_ERR(ENOMEM). */
int json_set_new(json_t *obj, const char *key, json_t *v);
/* Writes obj compactly and a newline, then drops the reference (takes
 * ownership; NULL prints nothing and returns TP_ERR(ENOMEM)). */
int json_print(FILE *f, json_t *obj);
/* The compact text of json_pack(fmt, ...) (jansson's format: "{s:s, s:I}"),
 * to free(); NULL on out of memory or a string argument that is not UTF-8. */
char *json_pack_text(const char *fmt, ...);

#endif /* TP_SRC_JSON_H */
