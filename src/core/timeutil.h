#ifndef TP_SRC_TIMEUTIL_H
#define TP_SRC_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define TIME_DAY 86400

/* Parses a point in time into unix seconds (UTC).  Accepted forms:
 *   @1798761600                    unix seconds (may be negative)
 *   2027-01-01                     midnight UTC
 *   2027-01-01T12:30:00Z           also with a space instead of 'T', without
 *   2027-01-01T12:30:00+02:00      seconds, with fractional seconds (ignored),
 *                                  and with no zone (taken as UTC)
 *   2027:01:01 12:30:00            the EXIF DateTimeOriginal form (UTC)
 * Returns 0, or TP_ERR_INVALIDDATA with a detail message naming s. */
int time_parse(const char *s, int64_t *t_out);

/* Writes t as "YYYY-MM-DDTHH:MM:SSZ" into buf (len >= 21 for years 0..9999;
 * always NUL-terminated).  Returns buf. */
const char *time_format(int64_t t, char *buf, size_t len);

/* A camera's EXIF time "YYYY:MM:DD HH:MM:SS" as ISO 8601 without a zone
 * (the camera's wall clock, not an instant): "YYYY-MM-DDTHH:MM:SS"; a time
 * already in ISO 8601 form ("2019-12-20T20:08:34.000000Z", a video's) is
 * cut to whole seconds, its zone kept; "" when malformed.  Returns out. */
const char *time_exif_to_iso(const char *e, char *out, size_t n);

/* Whole days from `from` to `to` (floor), e.g. for ages; negative when
 * from is after to. */
int64_t time_days_between(int64_t from, int64_t to);

/* Parses a duration into seconds: a non-negative number with an optional
 * unit s, m, h or d ("0", "90s", "15m", "24h", "7d"; no unit = seconds).
 * Returns 0, or TP_ERR_INVALIDDATA with a detail message naming s. */
int time_parse_duration(const char *s, int64_t *secs_out);
/* The current time in unix seconds. */
int64_t time_now(void);

#endif /* TP_SRC_TIMEUTIL_H */
