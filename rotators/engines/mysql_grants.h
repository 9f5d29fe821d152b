/*
 * mysql_grants: SHOW GRANTS lines read back into their parts, with the small tokenizer that does
 * it (shared with the grant planner, mysql_grant_plan.h). Pure functions, private to the MySQL
 * engine. Grant lines are copied from the server's own SHOW GRANTS output, so their privilege and
 * object text is valid SQL for that same session: nothing here rewrites it, it only finds where
 * each part starts and ends, which quotes, parentheses and keywords inside names make hard.
 */
#ifndef ROT_MYSQL_GRANTS_H
#define ROT_MYSQL_GRANTS_H

#include "errors.h"

#include <stdbool.h>
#include <stddef.h>

/* A token of a grant line: a word, a quoted name or string, or one punctuation character. */
enum rot_mysql_tok_type { ROT_MYSQL_TOK_WORD, ROT_MYSQL_TOK_QUOTED, ROT_MYSQL_TOK_PUNCT };

struct rot_mysql_tok {
    enum rot_mysql_tok_type type;
    size_t start; /* offset in the text */
    size_t len;
    int depth; /* parenthesis depth the token sits at ('(' and ')' at the outer depth) */
};

struct rot_mysql_toks {
    struct rot_mysql_tok *v;
    size_t n;
    size_t cap;
};

/* Splits s[0, len) into tokens (appended to out; release with rot_mysql_toks_clean_up, also
 * after a failure). -1 with ROT_ERR_DB_QUERY for an unterminated quote or unbalanced
 * parentheses, SM_ERR_NOMEM. */
int rot_mysql_tokenize(const char *s, size_t len, struct rot_mysql_toks *out, struct sm_err *err);

void rot_mysql_toks_clean_up(struct rot_mysql_toks *t);

/* Whether token t of s is the word `word` (any case). */
bool rot_mysql_tok_is(const char *s, const struct rot_mysql_tok *t, const char *word);

/* Whether token t of s is the punctuation character c. */
bool rot_mysql_tok_punct(const char *s, const struct rot_mysql_tok *t, char c);

/* One line of SHOW GRANTS output, parsed. */
enum rot_mysql_grant_kind {
    ROT_MYSQL_GRANT_PRIV,           /* GRANT <privileges> ON <object> TO <grantee> [...] */
    ROT_MYSQL_GRANT_ROLE,           /* GRANT <roles> TO <grantee> [WITH ADMIN OPTION] */
    ROT_MYSQL_GRANT_PARTIAL_REVOKE, /* REVOKE <privileges> ON <object> FROM <grantee> (MySQL 8) */
    ROT_MYSQL_GRANT_DEFAULT_ROLE,   /* SET DEFAULT ROLE <role> FOR <grantee> (MariaDB) */
};

struct rot_mysql_grant {
    enum rot_mysql_grant_kind kind;
    char *what;         /* privilege or role list, verbatim from the line */
    char *object;       /* the ON target verbatim ("*.*", "`db`.*", "PROCEDURE `d`.`p`"), or NULL */
    char *grantee_user; /* the grantee as quoted in the line (`u`, 'u' or "u") */
    char *grantee_host; /* likewise, or NULL when the line has no @host */
    bool grant_option;  /* WITH GRANT OPTION */
    bool admin_option;  /* WITH ADMIN OPTION */
};

/* Parses one SHOW GRANTS line. Everything after the grantee except GRANT OPTION and ADMIN OPTION
 * is dropped: IDENTIFIED BY PASSWORD '<hash>' / IDENTIFIED VIA ..., REQUIRE ... (copied from
 * mysql.user instead) and WITH MAX_... resource limits. On success *out owns its strings (free
 * with rot_mysql_grant_clean_up). Returns -1 with ROT_ERR_DB_QUERY for a line it does not
 * understand (the message quotes at most the statement's first words, never a password hash). */
int rot_mysql_grant_parse(const char *line, struct rot_mysql_grant *out, struct sm_err *err);

/* Frees (wiping) the strings of g. Accepts a zeroed struct. */
void rot_mysql_grant_clean_up(struct rot_mysql_grant *g);

/* Whether g's grantee is the account user@host (raw, unescaped names). Quoted names are decoded
 * with doubled quotes and, for '...' and "...", also with backslash escapes, either of which may
 * match. */
bool rot_mysql_grant_is_for(const struct rot_mysql_grant *g, const char *user, const char *host);

#endif
