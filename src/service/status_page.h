#ifndef TP_SRC_STATUS_PAGE_H
#define TP_SRC_STATUS_PAGE_H

struct home;

/* The operators' read-only status page (server-rendered HTML): assets and
 * bytes by tier and storage class, bytes saved, the job queue, recent
 * failures, the latest simulate report.  Caller owns the string (free());
 * NULL on failure. */
char *status_page_html(struct home *h);

#endif /* TP_SRC_STATUS_PAGE_H */
