#ifndef TP_SRC_HOME_H
#define TP_SRC_HOME_H

struct catalog;
struct config;
struct store;

/* A tierpress home: the catalog and the blob store its configuration
 * names (by default DIR/catalog.db and DIR/blobs/, see config.h). */
struct home {
    char *dir;                 /* owned: the home directory */
    const struct config *cfg;  /* borrowed: valid while the home is open */
    struct catalog *cat;       /* owned */
    struct store *store;       /* owned */
    int readonly;              /* opened with HOME_READONLY */
};

enum home_mode {
    /* an existing home, read-write; a missing one is refused
     * (TP_ERR_NOTFOUND, "no tierpress home") */
    HOME_OPEN = 0,
    /* the same, but a missing home is created, private to its owner
     * (0700 directories, 0600 catalog; blobs are 0400): ingest, catalog synth */
    HOME_CREATE = 1,
    /* an existing home, without writing anything: the catalog is opened
     * read-only (immutable when its -shm cannot be created, as on a
     * read-only mount or a full disk): ls, get, fsck, policy explain */
    HOME_READONLY = 2,
};

/* Opens the backends cfg names (config_setup() made it) in the given mode.
 * cfg is borrowed and must outlive the home.  On failure h is left empty
 * (home_close is still safe) and the message names what is missing or the
 * backend URI (passwords redacted). */
int home_open_mode(struct home *h, const struct config *cfg, enum home_mode mode);
/* home_open_mode(h, cfg, HOME_OPEN). */
int home_open(struct home *h, const struct config *cfg);
/* The home keeps DIR/reserve, HOME_RESERVE_BYTES of allocated space, so
 * that gc can still write the catalog on a full disk: it releases the
 * reserve when the catalog cannot be opened for writing, and makes it
 * again when it is done.  home_reserve_release: 1 released, 0 there was
 * none.  home_reserve_make: 0 made or present, negative when there is no
 * room (nothing is left behind). */
#define HOME_RESERVE_BYTES (1 << 20)
int home_reserve_release(const char *dir);
int home_reserve_make(const char *dir);
/* Accepts a zeroed or partially opened home. */
void home_close(struct home *h);

#endif /* TP_SRC_HOME_H */
