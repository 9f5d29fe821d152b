#include "check_cli.h"

#include "check.h"
#include "clock.h"
#include "credentials.h"
#include "function.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "strategy.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole check's bound: every call and login within it, however slow the network. */
#define CLI_DEADLINE_MS 120000
/* Table layout: status and check name, then the detail wrapped at CLI_WIDTH columns. */
#define CLI_WIDTH 100
#define CLI_INDENT 30

static const char s_usage[] =
    "usage: bootstrap check --secret-id ID [--region R] [--strategy S] [--json]\n"
    "\n"
    "The read-only preflight check of one secret from this shell: will its rotation work?\n"
    "It reads the secret, its settings and its master, asks for a random password (discarded\n"
    "unseen), reaches and logs in to the database, and inspects the master's privileges and\n"
    "what alternating users would create, grant or revoke. It never writes.\n"
    "\n"
    "  --secret-id ID   the secret's ARN or name\n"
    "  --region R       the region (default: AWS_REGION, AWS_DEFAULT_REGION)\n"
    "  --strategy S     single-user, multi-user, alternating-users, single-user-via-master or\n"
    "                   auto (default: auto, as the secret's tags and masterarn decide)\n"
    "  --json           print the JSON report instead of a table\n"
    "\n"
    "Credentials: as the AWS CLI finds them (environment, AWS_PROFILE and the shared files with\n"
    "role_arn, credential_process or web identity, the container endpoint, instance metadata);\n"
    "the report's first check says which. Endpoints, the password policy and the database\n"
    "settings come from this shell's environment, as in the function (bootstrap --help lists\n"
    "them). A private database is reachable only from the\n"
    "function's VPC: run the check in Lambda too, with the event\n"
    "{\"Action\": \"check\", \"SecretId\": \"<id>\"}.\n"
    "Exit status: 0 every check passed, 1 a check failed, 2 usage error.\n";

struct cli_args {
    const char *secret_id, *region, *strategy;
    bool json;
};

/* 0 with a parsed, 1 for --help, 2 for a usage error (said on stderr). */
static int parse_args(int argc, char **argv, struct cli_args *a) {
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char **value = strcmp(argv[i], "--secret-id") == 0  ? &a->secret_id
                             : strcmp(argv[i], "--region") == 0   ? &a->region
                             : strcmp(argv[i], "--strategy") == 0 ? &a->strategy
                                                                  : NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return 1;
        }
        if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if (value != NULL && i + 1 < argc && argv[i + 1][0] != '\0') {
            *value = argv[++i];
        } else {
            fprintf(stderr, "bootstrap check: %s \"%.64s\"; try bootstrap check --help\n",
                    value != NULL ? "no value for" : "unknown argument", argv[i]);
            return 2;
        }
    }
    if (a->secret_id == NULL) {
        fprintf(stderr, "bootstrap check: --secret-id is required; try bootstrap check --help\n");
        return 2;
    }
    if (a->strategy != NULL && rot_strategy_find(a->strategy) == NULL) {
        fprintf(stderr, "bootstrap check: --strategy \"%.64s\" is unknown; accepted: %s\n",
                a->strategy, rot_strategy_accepted());
        return 2;
    }
    return 0;
}

/* The shell's AWS configuration and credentials, into cfg: the AWS CLI's chain (credentials.h),
 * over http, within the check's deadline; source says where the credentials came from (never a
 * secret). The one place the shell's credentials are found. */
static int cli_credentials(struct aws_config *cfg, const char *region, struct http_client *http,
                           int64_t deadline_ms, char *source, size_t cap, struct sm_err *err) {
    struct aws_system sys = aws_system_real(http);
    if (aws_config_settings_from_env(cfg, err) != 0 ||
        (region != NULL && aws_config_set_region(cfg, region, "--region", err) != 0)) {
        return -1;
    }
    return creds_resolve(cfg, &sys, deadline_ms, source, cap, err);
}

/* Builds the function's configuration, credentials and clients as a shell has them, recording
 * the credentials (or what failed) as the report's first check. Returns 0, or -1 when the check
 * cannot go on (the report says why; err set for SM_ERR_NOMEM). */
static int cli_setup(struct function *fn, const struct cli_args *a, struct http_client *http,
                     int64_t deadline_ms, struct rot_check_report *r, struct sm_err *err) {
    char source[512], detail[SM_ERR_MSG_MAX + 800];
    struct sm_err e;
    if (rot_config_from_env(a->strategy != NULL ? a->strategy : "auto", &fn->config, &e) != 0) {
        rot_check_report_add(r, "configuration", false, e.msg, err);
        return -1;
    }
    if (cli_credentials(&fn->aws, a->region, http, deadline_ms, source, sizeof(source), &e) != 0) {
        snprintf(detail, sizeof(detail),
                 "%s; the check finds credentials as the AWS CLI does (README: Credentials for "
                 "bootstrap check from a shell), and the region in --region, AWS_REGION or the "
                 "profile",
                 e.msg);
        rot_check_report_add(r, "credentials", false, detail, err);
        return -1;
    }
    if (function_bind(fn, http, &e) != 0) {
        rot_check_report_add(r, "credentials", false, e.msg, err);
        return -1;
    }
    snprintf(detail, sizeof(detail), "from %s; region %s; Secrets Manager at %s", source,
             fn->aws.region, fn->secrets_endpoint);
    return rot_check_report_add(r, "credentials", true, detail, err);
}

/* Prints text wrapped at CLI_WIDTH, every line but the first indented by CLI_INDENT. */
static void print_wrapped(FILE *out, const char *text) {
    const size_t width = CLI_WIDTH - CLI_INDENT;
    while (strlen(text) > width) {
        size_t cut = width;
        while (cut > 0 && text[cut] != ' ') {
            cut--;
        }
        cut = cut == 0 ? strcspn(text, " ") : cut;
        fprintf(out, "%.*s\n%*s", (int)cut, text, CLI_INDENT, "");
        text += cut + (text[cut] == ' ');
    }
    fprintf(out, "%s\n", text);
}

static void print_table(FILE *out, const struct rot_check_report *r) {
    size_t failed = 0;
    fprintf(out, "smrotate check of %s\nstrategy %s, engine %s\n\n", r->secret_id,
            r->strategy != NULL ? r->strategy : "unknown",
            r->engine != NULL ? r->engine : "unknown");
    for (size_t i = 0; i < r->n; i++) {
        failed += !r->items[i].ok;
        fprintf(out, "  %-5s %-*s", r->items[i].ok ? "ok" : "FAIL", CLI_INDENT - 8,
                r->items[i].name);
        print_wrapped(out, r->items[i].detail);
    }
    if (failed == 0) {
        fprintf(out, "\nall %zu checks passed\n", r->n);
    } else {
        fprintf(out,
                "\n%zu of %zu checks failed; the checks after a failure in its branch did not "
                "run\n",
                failed, r->n);
    }
}

/* Log lines go to stderr at WARN and above unless AWS_LAMBDA_LOG_LEVEL says otherwise: the
 * report is the output. */
static void cli_logging(void) {
    if (getenv("AWS_LAMBDA_LOG_LEVEL") != NULL) {
        sm_log_init_from_env();
    } else {
        sm_log_configure(false, SM_LOG_WARN);
    }
}

int check_cli_main(int argc, char **argv) {
    struct cli_args a;
    struct function fn;
    struct http_client http = {0};
    struct rot_check_report r;
    struct sm_buf json;
    struct sm_err err;
    int code = parse_args(argc, argv, &a);
    if (code != 0) {
        fputs(code == 1 ? s_usage : "", stdout);
        return code == 1 ? 0 : 2;
    }
    memset(&fn, 0, sizeof(fn));
    sm_buf_init(&json, SM_LIMIT_RESPONSE);
    sm_err_clear(&err);
    sm_mem_install_hooks();
    cli_logging();
    code = 1;
    if (rot_check_report_init(&r, a.secret_id, &err) != 0 || http_global_init(&err) != 0 ||
        http_client_init(&http, &err) != 0) {
        goto out;
    }
    int64_t deadline_ms = sm_now_ms() + CLI_DEADLINE_MS;
    if (cli_setup(&fn, &a, &http, deadline_ms, &r, &err) == 0 &&
        rot_check_run(&fn.rotation, &(struct rot_check_opts){.from_shell = true}, deadline_ms, &r,
                      &err) != 0) {
        goto out;
    }
    if (err.code == SM_ERR_NOMEM || (a.json && rot_check_report_json(&r, &json, &err) != 0)) {
        goto out;
    }
    if (a.json) {
        printf("%s\n", json.data);
    } else {
        print_table(stdout, &r);
    }
    code = r.ok ? 0 : 1;
out:
    if (err.code != NULL && err.code != SM_ERR_OK) {
        fprintf(stderr, "bootstrap check: %s\n", err.msg);
    }
    sm_buf_clean_up(&json);
    rot_check_report_clean_up(&r);
    function_clean_up(&fn);
    http_client_clean_up(&http);
    return code;
}
