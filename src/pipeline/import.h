#ifndef TP_SRC_IMPORT_H
#define TP_SRC_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "ingest.h"

struct home;

/* Moving a library in: a Google Takeout export (zip/tgz parts read in
 * place with libarchive, or an unpacked folder) or a plain folder tree
 * with XMP sidecars.  Every original goes through ingest_data() (dedup,
 * proxies); what its sidecar knows and the file lacks goes into the
 * catalog (catalog_meta_put), with album memberships; each imported entry
 * is recorded (catalog_import_put) so a second or interrupted import skips
 * what is done.  Nothing is ever written outside the home: entries whose
 * names leave the export ("../", absolute) are refused. */

/* A list of "name: reason" lines; owned by the report. */
struct import_list {
    char **v;
    int n, cap;
};

struct import_report {
    int64_t media;             /* media entries found */
    int64_t imported;          /* new assets */
    int64_t duplicates;        /* content already in the catalog */
    int64_t resumed;           /* recorded by an earlier import: not read again */
    int64_t failed;            /* media that could not be ingested */
    int64_t sidecars;          /* sidecar files found */
    int64_t sidecars_matched;  /* matched to at least one media file */
    int64_t with_capture_time; /* assets whose capture time came from the sidecar */
    int64_t with_location;     /* assets whose location came from the sidecar */
    int64_t album_links;       /* album memberships recorded */
    int64_t pairs_linked;      /* motion photos linked still + video (now) */
    int64_t files_total, files_done;
    uint64_t bytes_total, bytes_done;
    struct import_list unmatched;  /* sidecars no media matched */
    struct import_list no_sidecar; /* media without a sidecar */
    struct import_list skipped;    /* files skipped, with the reason */
    struct import_list errors;     /* corrupt parts, failed media */
};

/* Called after each file with the running counts (progress). */
typedef void (*import_progress_fn)(void *ud, const struct import_report *r);

enum import_mode {
    IMPORT_TAKEOUT, /* JSON sidecars by Google's naming rules; albums */
    IMPORT_DIR,     /* NAME.xmp / NAME.EXT.xmp sidecars */
};

/* Imports paths[0..npaths) (archives or directories).  Returns 0 when
 * everything readable was imported, 1 when some part or file failed (the
 * rest is imported and r says which), negative when nothing could start.
 * Free r with import_report_free(). */
int import_run(struct home *h, enum import_mode mode, char *const *paths, int npaths,
               const struct ingest_opts *o, struct import_report *r,
               import_progress_fn progress, void *ud);
void import_report_free(struct import_report *r);

/* What a sidecar says (Takeout JSON or XMP): text fields valid UTF-8 when
 * the sidecar's were (cut at a character boundary), taken a valid ISO
 * time or "", lat/lon in range when has_geo. */
struct import_sidecar {
    int valid;
    char error[160];
    char title[256];
    char taken[CATALOG_TIME];  /* ISO, "" when absent */
    int has_geo;
    double lat, lon;
    char desc[CATALOG_DESC];
    int fav, archived, trashed;
};

/* Parses one sidecar's text (text[len] must be '\0'): JSON for
 * IMPORT_TAKEOUT (also an album's metadata.json), XMP for IMPORT_DIR.
 * Never fails: sc->valid 0 with sc->error saying why. */
void import_sidecar_parse(enum import_mode mode, const char *text, size_t len,
                          struct import_sidecar *sc);

/* The sidecar name rules, for tests: 1 when the JSON file name json
 * (without directory) is a sidecar of the media file name media by
 * Google's rules (both generations, truncated suffix, clipped name, moved
 * counter, -edited variants), else 0. */
int import_sidecar_matches(const char *media, const char *json);

#endif /* TP_SRC_IMPORT_H */
