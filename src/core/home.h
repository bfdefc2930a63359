#ifndef TP_SRC_HOME_H
#define TP_SRC_HOME_H

struct catalog;
struct store;

/* A tierpress home: DIR/catalog.db and the blob store DIR/blobs/. */
struct home {
    char *dir;              /* owned */
    struct catalog *cat;    /* owned */
    struct store *store;    /* owned */
};

/* Opens the home at dir, creating the directory, catalog and store on
 * first use.  On failure h is left empty (home_close is still safe). */
int home_open(struct home *h, const char *dir);
/* Accepts a zeroed or partially opened home. */
void home_close(struct home *h);

#endif /* TP_SRC_HOME_H */
