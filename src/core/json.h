#ifndef TP_SRC_JSON_H
#define TP_SRC_JSON_H

#include <stdio.h>

/* Writes s as a JSON string literal (quoted, escaped; invalid UTF-8 bytes
 * become U+FFFD). NULL writes null. */
void json_str(FILE *f, const char *s);
/* Writes a double with enough digits to round-trip; non-finite as null. */
void json_num(FILE *f, double v);

#endif /* TP_SRC_JSON_H */
