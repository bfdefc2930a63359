/* JSON output: always valid UTF-8 (RFC 8259), through jansson. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "unit.h"

static int seq(const char *s)
{
    return (int)json_utf8_seq((const unsigned char *)s, strlen(s));
}

/* json_text(s) as its UTF-8 bytes, compared with want */
static int text_is(const char *s, const char *want)
{
    json_t *j = json_text(s);
    int ok = j && json_is_string(j) && !strcmp(json_string_value(j), want);
    if (!ok)
        printf("#   json_text(%s) gave %s\n", s, j && json_is_string(j) ? json_string_value(j) : "?");
    json_decref(j);
    return ok;
}

TEST(json_utf8_validation)
{
    CHECK(seq("a") == 1);
    CHECK(seq("\xC3\xA9") == 2);                 /* é */
    CHECK(seq("\xE2\x82\xAC") == 3);             /* € */
    CHECK(seq("\xF0\x9F\x98\x80") == 4);         /* U+1F600 */
    CHECK(seq("\xED\x9F\xBF") == 3);             /* U+D7FF: the last before the surrogates */
    CHECK(seq("\xED\xA0\x80") == 0);             /* U+D800: a surrogate */
    CHECK(seq("\xED\xBF\xBF") == 0);             /* U+DFFF */
    CHECK(seq("\xC0\xAF") == 0 && seq("\xC1\xBF") == 0); /* overlong 2-byte */
    CHECK(seq("\xE0\x80\xAF") == 0);             /* overlong 3-byte */
    CHECK(seq("\xF0\x80\x80\xAF") == 0);         /* overlong 4-byte */
    CHECK(seq("\xF4\x90\x80\x80") == 0);         /* above U+10FFFF */
    CHECK(seq("\xF5\x80\x80\x80") == 0 && seq("\xFF") == 0 && seq("\x80") == 0);
    CHECK(seq("\xE2\x82") == 0);                 /* cut short */
}

TEST(json_text_replaces_invalid_bytes)
{
    CHECK(text_is("x\xED\xA0\x80y", "x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDy"));
    CHECK(text_is("caf\xC3\xA9", "caf\xC3\xA9"));
    CHECK(text_is("\xE2\x82", "\xEF\xBF\xBD\xEF\xBF\xBD"));
    json_t *n = json_text("");
    CHECK(json_is_null(n));
    json_decref(n);
    /* printed through the same path: one line, parsed back by jansson */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    REQUIRE(f);
    json_t *o = json_object();
    CHECK(json_set_text(o, "file", "a\xED\xA0\x80\n") == 0 && json_set_real(o, "x", 0.5) == 0 &&
          json_set_int(o, "n", 7) == 0);
    CHECK(json_print(f, o) == 0);
    fclose(f);
    json_error_t e;
    json_t *back = json_loads(buf, 0, &e);
    CHECK(back && !strcmp(json_string_value(json_object_get(back, "file")),
                          "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\n"));
    CHECK(len && buf[len - 1] == '\n' && !strchr(buf, '\n')[1]);
    json_decref(back);
    free(buf);
}
