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
};

/* Opens the backends cfg names (config_setup() made it), creating the
 * home directory, catalog and store on first use.  cfg is borrowed and
 * must outlive the home.  On failure h is left empty (home_close is still
 * safe) and the message names the backend URI (passwords redacted). */
int home_open(struct home *h, const struct config *cfg);
/* Accepts a zeroed or partially opened home. */
void home_close(struct home *h);

#endif /* TP_SRC_HOME_H */
