/*
 * The engine conformance suite: what every engine must do the same way, against every real server
 * (db_server.h says which one; tests/CMakeLists.txt's sm_db_server() runs each case once per
 * server as ctest <server>_<case>). Logins go through the connection policy (db_connect.h), whose
 * decisions are unit-tested on their own (tests/unit/test_db_connect.c): here the real servers
 * and libraries show that an engine reports each situation as the policy expects. Set-up and
 * checks go through the engine family's client library (struct db_admin), never our engine.
 * Timing: the error class says which limit fired; elapsed times are checked only against bounds
 * that follow from our own arithmetic and against generous "does not hang" ceilings.
 */
#include "buf.h"
#include "clock.h"
#include "db_server.h"
#include "db_tls.h"
#include "harness.h"
#include "paths.h"

#include <unistd.h>

static const struct db_server *S(void) {
    return db_server();
}

/* ---- logins -------------------------------------------------------------------------------- */

SM_TEST(engine_login_and_check_work) {
    struct sm_err err;
    struct rot_conn *c = db_admin_conn();
    SM_ASSERT_OK(rot_db_check(c, &err), err);
    rot_db_disconnect(c);
    rot_db_disconnect(NULL);
}

SM_TEST(engine_wrong_password_is_db_login_without_the_password) {
    struct sm_err err;
    char endpoint[64];
    const char *user = db_uniq("wrongpw");
    struct rot_connect_opts o = db_opts(S()->ca_file);
    S()->admin->create_user(user, "Right-pa55", false);
    /* AUTO retries nothing but a server without TLS: a refused password is final too. */
    for (enum rot_tls tls = ROT_TLS_AUTO; tls <= ROT_TLS_REQUIRED; tls++) {
        struct rot_login l = db_login(user, "Wr0ng-pa55-xyzzy", tls);
        db_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
        snprintf(endpoint, sizeof(endpoint), "%s:%d", S()->host, S()->port);
        SM_ASSERT_STR_CONTAINS(err.msg, endpoint);
        SM_ASSERT_STR_CONTAINS(err.msg, user);
        SM_ASSERT_STR_NOT_CONTAINS(err.msg, "Right-pa55");
    }
    struct rot_login l = db_login(db_uniq("nobody"), "whatever-1", ROT_TLS_OFF);
    db_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    S()->admin->drop_user(user);
}

SM_TEST(engine_closed_port_is_db_unreachable_at_once) {
    struct sm_err err;
    int fd = -1;
    struct rot_login l = db_login(S()->admin_user, S()->admin_password, ROT_TLS_AUTO);
    struct rot_connect_opts o = db_opts(S()->ca_file);
    l.port = db_closed_port(&fd);
    int64_t ms = db_connect_fails(&l, &o, ROT_ERR_DB_UNREACHABLE, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "cannot reach");
    if (ms >= DB_HANG_GUARD_MS) {
        SM_FAIL("a refused connection took %lld ms to fail (connect timeout 30 s)", (long long)ms);
    }
    close(fd);
}

SM_TEST(engine_silent_server_fails_within_the_connect_timeout) {
    struct sm_err err;
    int fd = -1;
    struct rot_login l = db_login("u", "Secret-1", ROT_TLS_REQUIRED);
    struct rot_connect_opts o = db_opts(S()->ca_file);
    l.port = db_silent_listener(&fd);
    o.connect_timeout_ms = 2000;
    int64_t ms = db_connect_fails(&l, &o, ROT_ERR_DB_UNREACHABLE, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "did not answer within 2000 ms");
    /* An engine reports the timeout only after waiting for it (Connector/C's whole seconds: at
     * least 1750 ms by our own clock). */
    if (ms < 1750 || ms >= DB_HANG_GUARD_MS) {
        SM_FAIL("a silent server failed after %lld ms (connect timeout 2000 ms)", (long long)ms);
    }
    close(fd);
}

SM_TEST(engine_silent_server_is_cut_short_by_the_deadline) {
    struct sm_err err;
    int fd = -1;
    struct rot_login l = db_login("u", "Secret-1", ROT_TLS_AUTO);
    struct rot_connect_opts o = db_opts(S()->ca_file);
    l.port = db_silent_listener(&fd);
    o.deadline_ms = sm_now_ms() + 2999; /* an attempt starts with a second or more left */
    int64_t ms = db_connect_fails(&l, &o, SM_ERR_DEADLINE, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "before the invocation deadline");
    if (ms >= DB_HANG_GUARD_MS) {
        SM_FAIL("a silent server failed after %lld ms (deadline in 2999 ms, timeout 30 s)",
                (long long)ms);
    }
    close(fd);
}

/* ---- TLS ----------------------------------------------------------------------------------- */

SM_TEST(engine_tls_auto_and_required_use_verified_tls) {
    const char *user = db_uniq("tlsonly");
    S()->admin->create_user(user, "Tls-pa55", true); /* proves the transport */
    SM_ASSERT(db_engine_can_login(user, "Tls-pa55", ROT_TLS_AUTO));
    SM_ASSERT(db_engine_can_login(user, "Tls-pa55", ROT_TLS_REQUIRED));
    /* The certificate names localhost as well. */
    struct rot_login l = db_login(user, "Tls-pa55", ROT_TLS_REQUIRED);
    struct rot_connect_opts o = db_opts(S()->ca_file);
    l.host = "localhost";
    rot_db_disconnect(db_connect_ok(&l, &o));
    S()->admin->drop_user(user);
}

SM_TEST(engine_tls_off_never_uses_tls) {
    struct sm_err err;
    const char *user = db_uniq("tlsoff");
    S()->admin->create_user(user, "Off-pa55", true);
    struct rot_login l = db_login(user, "Off-pa55", ROT_TLS_OFF);
    struct rot_connect_opts o = db_opts(S()->ca_file);
    db_connect_fails(&l, &o, S()->admin->tls_only_refusal, &err);
    S()->admin->create_user(user, "Off-pa55", false);
    SM_ASSERT(db_engine_can_login(user, "Off-pa55", ROT_TLS_OFF));
    S()->admin->drop_user(user);
}

SM_TEST(engine_tls_against_a_server_without_tls_plaintext_only_when_auto) {
    struct sm_err err;
    struct rot_login l = db_login(S()->admin_user, S()->admin_password, ROT_TLS_REQUIRED);
    struct rot_connect_opts o = db_opts(S()->ca_file);
    l.port = S()->port_notls;
    for (int verify = ROT_TLS_VERIFY_FULL; verify <= ROT_TLS_VERIFY_CA; verify++) {
        o.tls_verify = (enum rot_tls_verify)verify;
        l.tls = ROT_TLS_REQUIRED;
        db_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
        SM_ASSERT_STR_CONTAINS(err.msg, "does not offer TLS, which the secret requires");
        /* No `ssl` key: plaintext, said once. */
        l.tls = ROT_TLS_AUTO;
        db_log_capture_begin();
        struct rot_conn *c = db_connect_ok(&l, &o);
        char *log = db_log_capture_end();
        SM_ASSERT_OK(rot_db_check(c, &err), err);
        rot_db_disconnect(c);
        SM_ASSERT_INT_EQ(db_count(log, "does not offer TLS; connecting without TLS"), 1);
        free(log);
    }
}

SM_TEST(engine_tls_untrusted_certificate_is_db_tls_never_plaintext) {
    struct sm_err err;
    /* The TLS instance also takes plaintext logins: a downgrade would have worked. */
    struct rot_login l = db_login(S()->admin_user, S()->admin_password, ROT_TLS_AUTO);
    struct rot_connect_opts o = db_opts(S()->bad_ca_file);
    for (enum rot_tls tls = ROT_TLS_AUTO; tls <= ROT_TLS_REQUIRED; tls++) {
        l.tls = tls;
        db_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
        SM_ASSERT_STR_CONTAINS(err.msg, "never retried without TLS");
        SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
        SM_ASSERT_STR_CONTAINS(err.msg, S()->bad_ca_file);
    }
}

SM_TEST(engine_tls_host_name_mismatch_is_db_tls_unless_verify_ca) {
    struct sm_err err;
    const char *user = db_uniq("vca");
    S()->admin->create_user(user, "Vca-pa55", true);
    struct rot_login l = db_login(user, "Vca-pa55", ROT_TLS_AUTO);
    struct rot_connect_opts o = db_opts(S()->ca_file);
    l.host = S()->host_mismatch;
    db_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_TLS_VERIFY=ca");
    SM_ASSERT_STR_CONTAINS(err.msg, S()->host_mismatch);
    /* The chain only: the same host works, over TLS (a tls_only user). */
    o.tls_verify = ROT_TLS_VERIFY_CA;
    for (enum rot_tls tls = ROT_TLS_AUTO; tls <= ROT_TLS_REQUIRED; tls++) {
        l.tls = tls;
        rot_db_disconnect(db_connect_ok(&l, &o));
    }
    /* ... and the chain is still verified. */
    o.ca_file = S()->bad_ca_file;
    db_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "SMROTATE_DB_TLS_VERIFY=ca");
    S()->admin->drop_user(user);
}

SM_TEST(engine_tls_default_trust_is_the_packaged_bundle_and_the_system_store) {
    struct sm_err err;
    struct rot_db_trust trust;
    /* The fixture's test CA plays the packaged RDS bundle. */
    struct rot_db_trust_sources src = {.packaged = S()->ca_file,
                                       .system = sm_system_ca_bundle(),
                                       .tmp_dir = getenv("SMR_STATE_DIR")};
    SM_ASSERT(src.system != NULL);
    SM_ASSERT_OK(rot_db_trust_resolve(&src, &trust, &err), err);
    SM_ASSERT(trust.temp_file != NULL);
    struct rot_login l = db_login(S()->admin_user, S()->admin_password, ROT_TLS_REQUIRED);
    struct rot_connect_opts o = db_opts(trust.ca_file);
    o.ca_origin = trust.origin;
    rot_db_disconnect(db_connect_ok(&l, &o));
    rot_db_trust_clean_up(&trust);
    /* An unrelated "packaged" CA: the system store does not hold the test CA either. */
    src.packaged = S()->bad_ca_file;
    SM_ASSERT_OK(rot_db_trust_resolve(&src, &trust, &err), err);
    o = db_opts(trust.ca_file);
    o.ca_origin = trust.origin;
    db_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "not trusted by the packaged RDS bundle");
    SM_ASSERT_STR_CONTAINS(err.msg, "and the system store");
    rot_db_trust_clean_up(&trust);
}

SM_TEST(engine_without_a_ca_bundle_tls_is_refused_and_plaintext_needs_a_server_without_tls) {
    struct sm_err err;
    struct rot_login l = db_login(S()->admin_user, S()->admin_password, ROT_TLS_AUTO);
    struct rot_connect_opts o = db_opts(NULL); /* none packaged, no system store */
    /* A server that offers TLS: nothing to verify it with, never a library default. */
    for (enum rot_tls tls = ROT_TLS_AUTO; tls <= ROT_TLS_REQUIRED; tls++) {
        l.tls = tls;
        db_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
        SM_ASSERT_STR_CONTAINS(err.msg, "no CA bundle");
        SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    }
    l.tls = ROT_TLS_OFF;
    rot_db_disconnect(db_connect_ok(&l, &o));
    /* A server without TLS: README's plaintext, unless TLS is required. */
    l.port = S()->port_notls;
    l.tls = ROT_TLS_AUTO;
    rot_db_disconnect(db_connect_ok(&l, &o));
    l.tls = ROT_TLS_REQUIRED;
    db_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "does not offer TLS");
}

/* ---- passwords ----------------------------------------------------------------------------- */

SM_TEST(engine_set_own_password_hostile_names_and_passwords) {
    static const char *const tags[] = {"q'u\"o`te;x", "sp ace\\", "\xc3\xbc\xe2\x82\xac%_",
                                       "MiXeD"};
    const char *old_pw = "o'ld\\pw%$\"`;-- x", *new_pw = "N\xe2\x82\xac w'\\\\%_$\"`;/*x*/ \\'";
    struct sm_err err;
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        const char *user = db_uniq(tags[i]);
        S()->admin->create_user(user, old_pw, false);
        struct rot_login l = db_login(user, old_pw, ROT_TLS_AUTO);
        struct rot_connect_opts o = db_opts(S()->ca_file);
        struct rot_conn *c = db_connect_ok(&l, &o);
        SM_ASSERT_OK(rot_db_set_own_password(c, user, old_pw, new_pw, NULL, &err), err);
        /* Idempotent, and the session goes on. */
        SM_ASSERT_OK(rot_db_set_own_password(c, user, new_pw, new_pw, NULL, &err), err);
        SM_ASSERT_OK(rot_db_check(c, &err), err);
        rot_db_disconnect(c);
        SM_ASSERT(db_engine_can_login(user, new_pw, ROT_TLS_AUTO));
        db_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
        S()->admin->drop_user(user);
    }
}

SM_TEST(engine_set_password_changes_only_the_password_and_names_a_missing_user) {
    struct sm_err err;
    const char *user = db_uniq("setpw"), *table = db_uniq("setpw_t"), *ghost = db_uniq("ghost");
    S()->admin->create_user(user, "Old-pa55", false);
    S()->admin->create_table(table, user);
    struct rot_conn *a = db_admin_conn();
    for (int k = 0; k < 2; k++) { /* idempotent */
        SM_ASSERT_OK(rot_db_set_password(a, user, "N\\ew'pa55%", NULL, &err), err);
    }
    SM_ASSERT(S()->admin->can_read(user, "N\\ew'pa55%", table)); /* its grants are untouched */
    SM_ASSERT(!S()->admin->can_login(user, "Old-pa55"));
    /* A user that does not exist is named, and the session is still usable. */
    SM_ASSERT_INT_EQ(rot_db_set_password(a, ghost, "Pa55-word", NULL, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_STR_CONTAINS(err.msg, ghost);
    SM_ASSERT_OK(rot_db_check(a, &err), err);
    rot_db_disconnect(a);
    S()->admin->drop_table(table);
    S()->admin->drop_user(user);
}

SM_TEST(engine_sync_alternate_user_rotates_clone_then_original_then_clone) {
    struct sm_err err;
    char clone[96];
    const char *orig = db_uniq("alt"), *table = db_uniq("alt_t");
    snprintf(clone, sizeof(clone), "%s_clone", orig);
    S()->admin->drop_user(clone);
    S()->admin->create_user(orig, "Orig-pa55", false);
    S()->admin->create_table(table, orig);
    struct rot_conn *a = db_admin_conn();
    struct rot_user_pair users = {.original = orig, .clone = clone, .target = clone};
    /* 1st rotation: the clone is made, with the original's privileges and the new password. */
    SM_ASSERT_OK(rot_db_sync_alternate_user(a, &users, "Clone-pa55'1", NULL, &err), err);
    SM_ASSERT(S()->admin->can_read(clone, "Clone-pa55'1", table));
    SM_ASSERT(S()->admin->can_login(orig, "Orig-pa55"));
    /* 2nd: the original's password; the clone keeps its own. */
    users.target = orig;
    SM_ASSERT_OK(rot_db_sync_alternate_user(a, &users, "Orig-pa55'2", NULL, &err), err);
    SM_ASSERT(S()->admin->can_read(orig, "Orig-pa55'2", table));
    SM_ASSERT(!S()->admin->can_login(orig, "Orig-pa55"));
    SM_ASSERT(S()->admin->can_login(clone, "Clone-pa55'1"));
    /* 3rd: the clone again, still reading what the original reads. */
    users.target = clone;
    SM_ASSERT_OK(rot_db_sync_alternate_user(a, &users, "Clone-pa55'3", NULL, &err), err);
    SM_ASSERT(S()->admin->can_read(clone, "Clone-pa55'3", table));
    SM_ASSERT(!S()->admin->can_login(clone, "Clone-pa55'1"));
    rot_db_disconnect(a);
    S()->admin->drop_table(table);
    S()->admin->drop_user(clone);
    S()->admin->drop_user(orig);
}

SM_TEST(engine_sync_alternate_user_refusals_change_nothing) {
    struct sm_err err;
    char clone[96];
    const char *orig = db_uniq("ghost"), *weak = db_uniq("weak");
    snprintf(clone, sizeof(clone), "%s_clone", orig);
    struct rot_user_pair users = {.original = orig, .clone = clone, .target = clone};
    /* No original: a rotation error, and the session is still usable. */
    struct rot_conn *a = db_admin_conn();
    SM_ASSERT_INT_EQ(rot_db_sync_alternate_user(a, &users, "Pa55-word", NULL, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_OK(rot_db_check(a, &err), err);
    rot_db_disconnect(a);
    SM_ASSERT(!S()->admin->can_login(clone, "Pa55-word"));
    /* An "administrator" without the privileges: the server's refusal, without the password. */
    S()->admin->create_user(orig, "Orig-pa55", false);
    S()->admin->create_user(weak, "Weak-pa55", false);
    struct rot_login l = db_login(weak, "Weak-pa55", ROT_TLS_AUTO);
    struct rot_connect_opts o = db_opts(S()->ca_file);
    a = db_connect_ok(&l, &o);
    SM_ASSERT_INT_EQ(rot_db_sync_alternate_user(a, &users, "Secret-Pa55", NULL, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_QUERY);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "Secret-Pa55");
    rot_db_disconnect(a);
    SM_ASSERT(!S()->admin->can_login(clone, "Secret-Pa55"));
    S()->admin->drop_user(weak);
    S()->admin->drop_user(orig);
}

/* The preflight check's questions (engine.h's check_rights and plan_alternate_user): they read
 * and change nothing, and the plan is what the sync then does. */
SM_TEST(engine_inspection_reads_rights_and_plans_without_changing_anything) {
    struct sm_err err;
    struct sm_buf out;
    char clone[96];
    bool allowed = false;
    const char *orig = db_uniq("insp"), *weak = db_uniq("inspw"), *table = db_uniq("insp_t");
    snprintf(clone, sizeof(clone), "%s_clone", orig);
    sm_buf_init(&out, 65536);
    S()->admin->drop_user(clone);
    S()->admin->create_user(orig, "Orig-pa55", false);
    S()->admin->create_user(weak, "Weak-pa55", false);
    S()->admin->create_table(table, orig);
    struct rot_user_pair users = {.original = orig, .clone = clone, .target = clone};
    struct rot_rights_request make_clone = {.clone = &users};
    struct rot_rights_request set_both = {.users = {orig, clone}};
    struct rot_conn *a = db_admin_conn();
    /* The superuser may; the plan creates the clone, shows no password, and creates nothing. */
    SM_ASSERT_OK(rot_db_check_rights(a, &make_clone, &allowed, &out, &err), err);
    SM_ASSERT(allowed);
    sm_buf_reset(&out);
    SM_ASSERT_OK(rot_db_plan_alternate_user(a, &users, &out, &err), err);
    SM_ASSERT_STR_CONTAINS(out.data, clone);
    SM_ASSERT_STR_CONTAINS(out.data, "<new password>");
    sm_buf_reset(&out);
    SM_ASSERT_OK(rot_db_check_rights(a, &set_both, &allowed, &out, &err), err);
    SM_ASSERT(!allowed); /* the clone does not exist: the plan made nothing */
    SM_ASSERT_STR_CONTAINS(out.data, clone);
    /* Once the sync made it, the next rotation's plan creates nothing, and both users exist. */
    SM_ASSERT_OK(rot_db_sync_alternate_user(a, &users, "Clone-pa55'1", NULL, &err), err);
    users.target = orig;
    sm_buf_reset(&out);
    SM_ASSERT_OK(rot_db_plan_alternate_user(a, &users, &out, &err), err);
    SM_ASSERT_STR_NOT_CONTAINS(out.data, "CREATE USER");
    SM_ASSERT_STR_NOT_CONTAINS(out.data, "CREATE ROLE");
    SM_ASSERT_STR_CONTAINS(out.data, "<new password>");
    sm_buf_reset(&out);
    SM_ASSERT_OK(rot_db_check_rights(a, &set_both, &allowed, &out, &err), err);
    SM_ASSERT(allowed);
    SM_ASSERT(S()->admin->can_login(orig, "Orig-pa55"));
    rot_db_disconnect(a);
    /* A user without privileges may not, and is told so. */
    struct rot_login l = db_login(weak, "Weak-pa55", ROT_TLS_AUTO);
    struct rot_connect_opts o = db_opts(S()->ca_file);
    a = db_connect_ok(&l, &o);
    sm_buf_reset(&out);
    SM_ASSERT_OK(rot_db_check_rights(a, &make_clone, &allowed, &out, &err), err);
    SM_ASSERT(!allowed);
    SM_ASSERT(out.len > 0);
    rot_db_disconnect(a);
    sm_buf_clean_up(&out);
    S()->admin->drop_table(table);
    S()->admin->drop_user(clone);
    S()->admin->drop_user(weak);
    S()->admin->drop_user(orig);
}
