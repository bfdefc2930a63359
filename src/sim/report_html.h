#ifndef TP_SRC_REPORT_HTML_H
#define TP_SRC_REPORT_HTML_H

#include "prices.h"
#include "sim.h"

/* Writes the simulation as one self-contained HTML file (inline CSS and
 * inline SVG charts made here; no scripts, no network references) to path,
 * atomically.  Charts: bytes and monthly cost by tier, before/after (bars),
 * and the projection over time (lines); then the tables, the prices and
 * the assumptions. */
int report_html_write(const char *path, const struct sim_result *r, const char *policy_path,
                      const struct prices *pr);
struct health_report;
/* The same, with a "Metadata health" section after them (health NULL: none). */
int report_html_write_health(const char *path, const struct sim_result *r,
                             const char *policy_path, const struct prices *pr,
                             const struct health_report *health);

#endif /* TP_SRC_REPORT_HTML_H */
