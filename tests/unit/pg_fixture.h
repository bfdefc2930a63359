#ifndef TP_TESTS_UNIT_PG_FIXTURE_H
#define TP_TESTS_UNIT_PG_FIXTURE_H

/* Fresh databases on the test server ($TP_TEST_PG, started by
 * scripts/test) for the PostgreSQL catalog tests. */
#include <stddef.h>
#include <stdint.h>

/* $TP_TEST_PG, or NULL when it is not set (the tests then skip). */
const char *pg_fixture_base(void);
/* Creates the empty database tp_<tag>_<pid> and writes its conninfo (a URI
 * when the base is one) to out.  0 or -1 (the reason printed as a TAP
 * comment). */
int pg_fixture_create(const char *tag, char *out, size_t n);
/* Drops the database pg_fixture_create made for tag (closing its sessions). */
void pg_fixture_drop(const char *tag);
/* Runs sql on conninfo; *out (when not NULL) gets the first column of the
 * first row as an integer.  0 or -1. */
int pg_fixture_exec(const char *conninfo, const char *sql, int64_t *out);

#endif /* TP_TESTS_UNIT_PG_FIXTURE_H */
