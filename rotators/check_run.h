/*
 * check_run: what the preflight check's two files share, private to them: check.c (the report,
 * the checks of Secrets Manager, the settings, the password policy and the master secret) and
 * check_db.c (the checks of the database: the network, TLS, the logins, the master's privileges,
 * the alternate user's plan).
 */
#ifndef ROT_CHECK_RUN_H
#define ROT_CHECK_RUN_H

#include "check.h"
#include "steps.h"

/* One check run's state. */
struct check {
    struct run run; /* as a step's: the context, a check event, the deadline, the description,
                       the settings */
    struct rot_event ev;
    const struct rot_check_opts *opts;
    struct rot_check_report *r;
    bool nomem;                /* a result could not be recorded */
    struct rot_secret current; /* AWSCURRENT, once secret-valid passed */
    struct rot_secret master;  /* once master-host passed */
    bool settings_ok;          /* settings passed: run.settings holds the strategy */
    bool alternate_ok;         /* alternate-user passed: alt is the user set next */
    bool master_ok;            /* master-host passed */
    char alt[512];             /* alternating users: the user the next rotation sets */
};

/* Appends a check's result with a printf-formatted detail. */
void rot_check_result(struct check *c, const char *name, bool ok, const char *fmt, ...)
    SM_PRINTF(4, 5);

/* Appends a failed check: e's message, then advice (may be "") and, from a shell, what an
 * unreachable database means there. */
void rot_check_failed(struct check *c, const char *name, const struct sm_err *e,
                      const char *advice);

/* The database's checks (check_db.c), after the secret's: dns, tcp, tls, login, and for the
 * strategies with a master master-login, master-privileges and alternate-user-plan. */
void rot_check_database(struct check *c);

#endif
