/*
 * bootstrap: the process Lambda starts on provided.al2023.
 *
 * Owns the command line (--version: ours and the linked libraries' versions; --help), process
 * set-up (allocator hooks, logging, libcurl), the init phase (configuration; a failure is posted to
 * /runtime/init/error and the process exits non-zero) and the handler handed to the Runtime API
 * loop (runtime/lambda_api.h).
 *
 * The rotation function itself (configuration built once per execution environment, one rotation
 * step per invocation) is bootstrap/function.h.
 */
#include "check_cli.h"
#include "clock.h"
#include "err.h"
#include "function.h"
#include "http.h"
#include "lambda_api.h"
#include "log.h"
#include "mem.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <expat.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SMROTATE_VERSION
#define SMROTATE_VERSION "0.0.0"
#endif

/* Printed by --help; README's configuration reference says the same at more length. */
static const char s_help[] =
    "usage: bootstrap [--version | --help]\n"
    "       bootstrap check --secret-id ID [--region R] [--strategy S] [--json]\n"
    "  --version  smrotate's version and the versions of the libraries linked in\n"
    "\n"
    "smrotate: a custom AWS Lambda runtime (provided.al2023) that rotates database credentials\n"
    "for AWS Secrets Manager (PostgreSQL, MySQL, MariaDB). Lambda starts it without arguments.\n"
    "\n"
    "Preflight check (read-only; README: Before you enable rotation):\n"
    "  bootstrap check --secret-id ID   from a shell: will this secret's rotation work? A table,\n"
    "                               or the JSON report with --json; exit 0 all passed, 1 a check\n"
    "                               failed, 2 usage (bootstrap check --help)\n"
    "  {\"Action\": \"check\", \"SecretId\": \"<id>\"}   the same check invoked in Lambda, in\n"
    "                               the function's VPC and role; answers the JSON report\n"
    "\n"
    "Lambda:\n"
    "  AWS_LAMBDA_RUNTIME_API       host:port of the Runtime API (required; set by Lambda)\n"
    "  _HANDLER                     strategy: single-user (default when empty),\n"
    "                               single-user-via-master, multi-user or alternating-users\n"
    "                               (the same strategy), or auto (per secret: its\n"
    "                               smrotate:strategy tag, else alternating users for secrets\n"
    "                               with masterarn)\n"
    "  AWS_LAMBDA_LOG_FORMAT        JSON or Text (default Text)\n"
    "  AWS_LAMBDA_LOG_LEVEL         TRACE, DEBUG, INFO, WARN, ERROR or FATAL (default INFO)\n"
    "  _X_AMZN_TRACE_ID             set per invocation from Lambda-Runtime-Trace-Id\n"
    "AWS (Secrets Manager; RDS for RDS-managed masters and replica hosts):\n"
    "  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN   credentials (set by Lambda)\n"
    "  AWS_REGION, AWS_DEFAULT_REGION                                region\n"
    "  SECRETS_MANAGER_ENDPOINT, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL\n"
    "                               endpoint override, first set wins (default\n"
    "                               https://secretsmanager.<region>.amazonaws.com)\n"
    "  AWS_ENDPOINT_URL_RDS, AWS_ENDPOINT_URL\n"
    "                               RDS endpoint override (default https://rds.<region>...)\n"
    "  AWS_USE_FIPS_ENDPOINT        true: the FIPS endpoints\n"
    "  SMROTATE_CA_FILE             CA bundle for HTTPS to AWS\n"
    "  HTTPS_PROXY, HTTP_PROXY, NO_PROXY (or lower case)\n"
    "                               proxy for AWS calls; never for the Runtime API\n"
    "Password policy (GetRandomPassword):\n"
    "  EXCLUDE_CHARACTERS           default :/@\"'\\ (PostgreSQL) or /@\"'\\ (MySQL)\n"
    "  PASSWORD_LENGTH              default 32\n"
    "  EXCLUDE_NUMBERS, EXCLUDE_PUNCTUATION, EXCLUDE_UPPERCASE, EXCLUDE_LOWERCASE   default false\n"
    "  REQUIRE_EACH_INCLUDED_TYPE   default true (true, 1, y, yes count as true)\n"
    "  SMROTATE_PASSWORD_LIFETIME_DAYS  new passwords expire after this many days (default never)\n"
    "  (a secret's smrotate:<setting> tags override these for that secret: see README)\n"
    "Databases:\n"
    "  SMROTATE_DB_CA_FILE          CA bundle for database TLS (default: the packaged RDS bundle\n"
    "                               and the system store, combined)\n"
    "  SMROTATE_DB_TLS_VERIFY       full (chain and host name, default) or ca (chain only)\n"
    "  SMROTATE_DB_CONNECT_TIMEOUT_MS   per login attempt, default 5000 (capped by the deadline)\n"
    "  PASSWORD_ENCRYPTION          PostgreSQL: md5 or scram-sha-256 (default: the server's),\n"
    "                               or server (the server hashes; cleartext may reach its logs)\n"
    "  PG_OWNER_ROLE                PostgreSQL alternating users: shared owner role\n"
    "  USERNAME_CHARACTER_LIMIT     MySQL alternating users: longest user name (default 32)\n"
    "  SMROTATE_MYSQL_PLUGIN_DIR    MySQL auth plugins that are not built in (the package has\n"
    "                               caching_sha2, sha256 and ed25519 built in)\n"
    "  SMROTATE_MYSQL_SERVER_PUBLIC_KEY  MySQL: RSA key file for caching_sha2_password without "
    "TLS\n"
    "  SMROTATE_MYSQL_DUAL_PASSWORD  MySQL 8.0.14+ single user: true keeps the old password as\n"
    "                               the secondary one until the next rotation (default false)\n";

/* The Debian source package each library of the package was built from ("name version", from
 * cmake/deps.lock through cmake/package.cmake); NULL in a build on the system's shared libraries.
 */
#ifndef SM_DEPS_OPENSSL
#define SM_DEPS_OPENSSL NULL
#define SM_DEPS_CURL NULL
#define SM_DEPS_POSTGRESQL NULL
#define SM_DEPS_MARIADB NULL
#define SM_DEPS_EXPAT NULL
#define SM_DEPS_CJSON NULL
#endif

/* --version: ours, then each library as it reports its own version at run time (what is linked,
 * not what a header said), with its Debian source package in the package. */
static void print_version(void) {
    char pq[32];
    int pqv = PQlibVersion();
    snprintf(pq, sizeof(pq), "%d.%d", pqv / 10000, pqv % 10000);
    const char *expat = XML_ExpatVersion();
    const struct {
        const char *name;
        const char *version;
        const char *source;
    } libs[] = {
        {"OpenSSL", OpenSSL_version(OPENSSL_VERSION_STRING), SM_DEPS_OPENSSL},
        {"libcurl", curl_version_info(CURLVERSION_NOW)->version, SM_DEPS_CURL},
        {"libpq", pq, SM_DEPS_POSTGRESQL},
        {"MariaDB Connector/C", MARIADB_PACKAGE_VERSION, SM_DEPS_MARIADB},
        {"expat", strncmp(expat, "expat_", 6) == 0 ? expat + 6 : expat, SM_DEPS_EXPAT},
        {"cJSON", cJSON_Version(), SM_DEPS_CJSON},
    };
    printf("smrotate %s\n", SMROTATE_VERSION);
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        if (libs[i].source != NULL) {
            printf("  %-20s %-10s (Debian %s)\n", libs[i].name, libs[i].version, libs[i].source);
        } else {
            printf("  %-20s %s\n", libs[i].name, libs[i].version);
        }
    }
#ifdef SM_DEPS_NOT_FOR_RELEASE
    printf("NOT FOR RELEASE: built with dependencies cmake/deps.lock does not pin\n");
#endif
}

static void print_help(FILE *out) {
    fprintf(out, "%s", s_help);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "check") == 0) {
        return check_cli_main(argc - 1, argv + 1);
    }
    if (argc > 1) {
        if (argc == 2 && strcmp(argv[1], "--version") == 0) {
            print_version();
            return 0;
        }
        if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            print_help(stdout);
            return 0;
        }
        fprintf(stderr, "bootstrap: unknown argument \"%.64s\"; try --help\n", argv[1]);
        return 2;
    }
    const char *runtime_api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (runtime_api == NULL || runtime_api[0] == '\0') {
        fprintf(stderr, "bootstrap: AWS_LAMBDA_RUNTIME_API is not set; this program runs inside "
                        "AWS Lambda or under a Runtime API emulator (see --help)\n");
        return 1;
    }

    int code = 1;
    struct sm_err err;
    struct http_client http = {0};
    struct lambda_client rt;
    struct function fn;
    memset(&fn, 0, sizeof(fn));
    sm_err_clear(&err);

    sm_mem_install_hooks();
    sm_log_init_from_env();
    if (lambda_client_init(&rt, runtime_api, &http, &err) != 0) {
        fprintf(stderr, "bootstrap: %s\n", err.msg);
        goto out;
    }
    if (http_global_init(&err) != 0 || http_client_init(&http, &err) != 0) {
        SM_FATAL("%s", err.msg);
        goto out;
    }
    if (function_init(&fn, getenv("_HANDLER"), &http, &err) != 0) {
        struct sm_err perr;
        SM_FATAL("init failed: %s: %s", sm_err_type(&err), err.msg);
        if (lambda_post_init_error(&rt, &err, &perr) != 0) {
            SM_ERROR("could not report the init error: %s", perr.msg);
        }
        goto out;
    }
    SM_INFO("smrotate %s ready (strategy %s, Secrets Manager at %s)", SMROTATE_VERSION,
            fn.config.strategy->name, fn.secrets_endpoint);
    code = lambda_run(&rt, function_handle, &fn);
out:
    function_clean_up(&fn);
    http_client_clean_up(&http);
    return code;
}
