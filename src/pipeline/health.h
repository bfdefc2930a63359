#ifndef TP_SRC_HEALTH_H
#define TP_SRC_HEALTH_H

#include <stdint.h>

struct home;

/* `tierpress health`: a catalog-wide report of metadata problems, each
 * with a count, a few examples and what would fix it.  Reads the catalog
 * and (unless told not to) every original, as fsck does. */

enum health_problem {
    HEALTH_NO_CAPTURE_TIME,      /* none from EXIF, container or sidecar */
    HEALTH_IMPLAUSIBLE_TIME,     /* 1970-01-01, in the future, < 1990 on a phone, camera default */
    HEALTH_NO_TIME_ZONE,         /* EXIF time without OffsetTimeOriginal */
    HEALTH_BAD_GPS,              /* 0,0 or out of range */
    HEALTH_ORIENTATION_CONFLICT, /* EXIF Orientation vs the HEIF/AVIF container's irot/imir */
    HEALTH_TIME_CONFLICT,        /* the same content under different capture times */
    HEALTH_UNREADABLE,           /* original missing, truncated, or not its hash */
    HEALTH_PROXIES_MISSING,      /* no proxies, or a proxy blob missing */
    HEALTH_NPROBLEMS
};

#define HEALTH_EXAMPLES 5

struct health_example {
    int64_t asset_id;
    char detail[200];
};

struct health_item {
    const char *key;    /* "no_capture_time", ... (static) */
    const char *title;  /* "no capture time" (static) */
    const char *fix;    /* what would fix it (static) */
    int64_t count;
    int nexamples;
    struct health_example ex[HEALTH_EXAMPLES];
};

struct health_report {
    int64_t assets;
    int64_t originals_read;
    struct health_item item[HEALTH_NPROBLEMS];
};

/* Checks every asset at time now (unix s).  read_originals: 1 to read and
 * hash every original and probe its metadata (time zone, EXIF GPS, truncated
 * files); 0 for the catalog alone.  Returns 0, or negative when the catalog
 * cannot be read. */
int health_check(struct home *h, int64_t now, int read_originals, struct health_report *r);

/* 1 when an EXIF Make is a phone maker's (a capture before 1990 is then
 * implausible); also the policy condition 'health' (policy_eval.c). */
int health_phone_make(const char *make);

#endif /* TP_SRC_HEALTH_H */
