#ifndef TP_SRC_HOME_H
#define TP_SRC_HOME_H

struct catalog;
struct store;

/* A tierpress home: DIR/catalog.db and the blob store DIR/blobs/. */
struct home {
    char *dir;              /* owned */
    struct catalog *cat;    /* owned */
    struct store *store;    /* owned */
    int readonly;           /* opened with HOME_READONLY */
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

/* Opens the home at dir in the given mode.  On failure h is left empty
 * (home_close is still safe) and the detail names what is missing. */
int home_open_mode(struct home *h, const char *dir, enum home_mode mode);
/* home_open_mode(h, dir, HOME_OPEN). */
int home_open(struct home *h, const char *dir);
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
