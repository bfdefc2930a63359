/* Time parsing and formatting (UTC only, no dependence on TZ). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "timeutil.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, unsigned m)
{
    static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

/* Reads exactly n digits at *p into *v; advances *p. */
static int digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return 0;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return 1;
}

#define BAD(why) do { tp_err_set("bad time '%s': %s", s, why); return TP_ERR_INVALIDDATA; } while (0)

int time_parse(const char *s, int64_t *t_out)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0;
    char sep;
    if (!s || !*s)
        BAD("empty");
    if (*p == '@') {
        char *end;
        errno = 0;
        long long v = strtoll(p + 1, &end, 10);
        if (end == p + 1 || *end || errno)
            BAD("expected @ followed by unix seconds");
        *t_out = v;
        return 0;
    }
    if (!digits(&p, 4, &y))
        BAD("expected YYYY-MM-DD[THH:MM[:SS][Z|+HH:MM]] or @unixseconds");
    sep = *p;
    if (sep != '-' && sep != ':')
        BAD("expected '-' after the year");
    p++;
    if (!digits(&p, 2, &mo) || *p++ != sep || !digits(&p, 2, &d))
        BAD("expected YYYY-MM-DD");
    if (mo < 1 || mo > 12)
        BAD("month out of range 1..12");
    if (d < 1 || d > days_in_month(y, (unsigned)mo))
        BAD("day out of range for the month");
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
            BAD("expected HH:MM after the date");
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &se))
                BAD("expected two digits of seconds");
            if (*p == '.' || *p == ',') {
                p++;
                if (!isdigit((unsigned char)*p))
                    BAD("expected digits after the decimal point");
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
        if (h > 23 || mi > 59 || se > 60)
            BAD("time of day out of range");
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om = 0, sign = *p == '-' ? -1 : 1;
        p++;
        if (!digits(&p, 2, &oh))
            BAD("expected a zone offset +HH:MM");
        if (*p == ':')
            p++;
        if (*p && !digits(&p, 2, &om))
            BAD("expected a zone offset +HH:MM");
        if (oh > 23 || om > 59)
            BAD("zone offset out of range");
        off = sign * (oh * 3600 + om * 60);
    }
    if (*p)
        BAD("unexpected characters at the end");
    *t_out = days_from_civil(y, (unsigned)mo, (unsigned)d) * TIME_DAY + h * 3600 + mi * 60 + se -
             off;
    return 0;
}

const char *time_format(int64_t t, char *buf, size_t len)
{
    int64_t days = t >= 0 ? t / TIME_DAY : -((-t + TIME_DAY - 1) / TIME_DAY);
    int64_t sec = t - days * TIME_DAY, y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (len)
        snprintf(buf, len, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02dZ", y, m, d,
                 (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
    return buf;
}

const char *time_exif_to_iso(const char *e, char *out, size_t n)
{
    int y, mo, d, hh, mi, ss, used = 0;
    char sep;
    out[0] = '\0';
    if (sscanf(e, "%4d%c%2d%*[:-]%2d%*[ T]%2d:%2d:%2d%n", &y, &sep, &mo, &d, &hh, &mi, &ss,
               &used) != 7 || (sep != ':' && sep != '-') || y <= 1800 || mo < 1 || mo > 12 ||
        d < 1 || d > 31 || hh > 23 || mi > 59 || ss > 60)
        return out;
    /* a zone after the seconds (and their fraction) stays: Z or +hh:mm */
    const char *z = e + used;
    while (*z == '.' || (*z >= '0' && *z <= '9'))
        z++;
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d%.6s", y % 10000, mo % 100, d % 100,
             hh % 100, mi % 100, ss % 100, (*z == 'Z' || *z == '+' || *z == '-') ? z : "");
    return out;
}

int64_t time_days_between(int64_t from, int64_t to)
{
    int64_t s = to - from;
    return s >= 0 ? s / TIME_DAY : -((-s + TIME_DAY - 1) / TIME_DAY);
}

int64_t time_now(void)
{
    return (int64_t)time(NULL);
}

int time_parse_duration(const char *s, int64_t *secs_out)
{
    char *end;
    long long v;
    int64_t unit = 1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (end != s && *end && !end[1]) {
        switch (*end) {
        case 's': unit = 1; end++; break;
        case 'm': unit = 60; end++; break;
        case 'h': unit = 3600; end++; break;
        case 'd': unit = TIME_DAY; end++; break;
        default: break;
        }
    }
    RETURN_ERR_IF(end == s || *end || *s == '-' || *s == '+' || errno || v < 0 ||
                  v > INT64_MAX / unit / 2, TP_ERR_INVALIDDATA,
                  "'%.40s' is not a duration (N, Ns, Nm, Nh or Nd)", s);
    *secs_out = (int64_t)v * unit;
    return 0;
}
