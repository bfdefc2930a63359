#ifndef TP_SRC_FACTS_H
#define TP_SRC_FACTS_H

/* The bridge between the catalog and the policy evaluator. */
#include "catalog.h"
#include "policy.h"

/* Fills f from the asset row a and its access statistics in c. */
int facts_from_asset(struct catalog *c, const struct catalog_asset *a, struct asset_facts *f);

/* A Live Photo's / motion photo's clip goes where its still goes (the
 * pair is one asset: README "Components"): when asset_id is a video linked
 * to a still (catalog_pair_get), f is replaced by the still's facts and 1
 * is returned; otherwise f is left as it is and 0 returned.  Negative on a
 * catalog error. */
int facts_pair_lead(struct catalog *c, int64_t asset_id, const char *kind, struct asset_facts *f);

/* Fills f from a scan row (the asset joined with its access statistics):
 * the same facts as facts_from_asset, without a query. */
void facts_from_scan(const struct catalog_scan_row *r, struct asset_facts *f);

/* Fills the facts of the condition 'health' (camera make, imported
 * location, capture-time conflict) from a scan row. */
void facts_health_from_scan(const struct catalog_scan_row *r, struct asset_facts *f);

#endif /* TP_SRC_FACTS_H */
