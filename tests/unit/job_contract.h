#ifndef TP_TESTS_UNIT_JOB_CONTRACT_H
#define TP_TESTS_UNIT_JOB_CONTRACT_H

struct catalog;

/* The job queue's contract with injected clocks (test_jobs.c), for every
 * backend (test_catalog_contract.c runs it on SQLite and PostgreSQL). */
void job_contract(struct catalog *c, int *unit_failed_);

#endif /* TP_TESTS_UNIT_JOB_CONTRACT_H */
