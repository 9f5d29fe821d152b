#include "fake_aws_process.h"

#include "harness.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LIVE 8
#define START_TIMEOUT_MS 15000

static pid_t s_live[MAX_LIVE];
static bool s_atexit_done;
static bool s_http_ready;

static void kill_pid(pid_t pid) {
    if (pid <= 0) {
        return;
    }
    kill(pid, SIGTERM);
    for (int i = 0; i < 200; i++) { /* up to 2 s for a clean exit */
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void kill_all_at_exit(void) {
    for (int i = 0; i < MAX_LIVE; i++) {
        kill_pid(s_live[i]);
        s_live[i] = 0;
    }
}

static void track(pid_t pid, bool add) {
    for (int i = 0; i < MAX_LIVE; i++) {
        if (add ? s_live[i] == 0 : s_live[i] == pid) {
            s_live[i] = add ? pid : 0;
            return;
        }
    }
}

static void mkdir_p(const char *path) {
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0700);
            *p = '/';
        }
    }
    mkdir(tmp, 0700);
}

static void print_log(const struct fake_aws *f) {
    char path[600];
    snprintf(path, sizeof(path), "%s/fake.log", f->dir);
    FILE *log = fopen(path, "r");
    if (log == NULL) {
        return;
    }
    fprintf(stderr, "--- emulator log (%s)\n", path);
    char line[512];
    while (fgets(line, sizeof(line), log) != NULL) {
        fputs(line, stderr);
    }
    fclose(log);
}

static void start(struct fake_aws *f, const char *script_rel, const char *access_key,
                  const char *secret_key, const char *const *extra_args) {
    memset(f, 0, sizeof(*f));
    if (!s_http_ready) {
        struct sm_err err;
        SM_ASSERT_OK(http_global_init(&err), err);
        s_http_ready = true;
    }
    if (!s_atexit_done) {
        atexit(kill_all_at_exit);
        s_atexit_done = true;
    }
    const char *state = getenv("SMR_STATE_DIR");
    char base[400];
    snprintf(base, sizeof(base), "%s", state != NULL && state[0] != '\0' ? state : "/tmp");
    mkdir_p(base);
    snprintf(f->dir, sizeof(f->dir), "%s/fake-aws-XXXXXX", base);
    if (mkdtemp(f->dir) == NULL) {
        SM_FAIL("mkdtemp %s: %s", f->dir, strerror(errno));
    }
    char port_file[600], log_file[600], script[4096];
    snprintf(port_file, sizeof(port_file), "%s/port", f->dir);
    snprintf(log_file, sizeof(log_file), "%s/fake.log", f->dir);
    snprintf(script, sizeof(script), "%s", sm_test_path(script_rel));
    const char *python = getenv("SMR_PYTHON");
    if (python == NULL || python[0] == '\0') {
        python = "/usr/bin/python3";
    }

    const char *argv[32];
    size_t n = 0;
    argv[n++] = python;
    argv[n++] = script;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = port_file;
    argv[n++] = "--access-key";
    argv[n++] = access_key;
    argv[n++] = "--secret-key";
    argv[n++] = secret_key;
    for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL; i++) {
        if (n + 2 >= sizeof(argv) / sizeof(argv[0])) {
            SM_FAIL("too many emulator arguments");
        }
        argv[n++] = extra_args[i];
    }
    argv[n] = NULL;

    int log_fd = open(log_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        SM_FAIL("cannot create %s: %s", log_file, strerror(errno));
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        SM_FAIL("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. Die with the test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
        }
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        execv(python, (char *const *)argv);
        _exit(127);
    }
    close(log_fd);
    f->pid = pid;
    track(pid, true);

    /* Wait for the port file (written atomically by the emulator). */
    for (int waited = 0;; waited += 20) {
        FILE *pf = fopen(port_file, "r");
        if (pf != NULL) {
            int port = 0;
            int got = fscanf(pf, "%d", &port);
            fclose(pf);
            if (got == 1 && port > 0) {
                f->port = port;
                break;
            }
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            track(pid, false);
            f->pid = 0;
            print_log(f);
            SM_FAIL("the emulator exited before listening");
        }
        if (waited >= START_TIMEOUT_MS) {
            print_log(f);
            SM_FAIL("the emulator did not start within %d ms", START_TIMEOUT_MS);
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    snprintf(f->endpoint, sizeof(f->endpoint), "http://127.0.0.1:%d", f->port);
    struct sm_err err;
    SM_ASSERT_OK(http_client_init(&f->control, &err), err);
}

void fake_aws_start_secretsmanager(struct fake_aws *f, const char *access_key,
                                   const char *secret_key, const char *const *extra_args) {
    start(f, "fakes/fake_secretsmanager.py", access_key, secret_key, extra_args);
}

void fake_aws_start_rds(struct fake_aws *f, const char *access_key, const char *secret_key,
                        const char *const *extra_args) {
    start(f, "fakes/fake_rds.py", access_key, secret_key, extra_args);
}

void fake_aws_start_sts(struct fake_aws *f, const char *access_key, const char *secret_key,
                        const char *const *extra_args) {
    start(f, "fakes/fake_sts.py", access_key, secret_key, extra_args);
}

void fake_aws_start_imds(struct fake_aws *f, const char *access_key, const char *secret_key,
                         const char *const *extra_args) {
    start(f, "fakes/fake_imds.py", access_key, secret_key, extra_args);
}

void fake_aws_start_container_creds(struct fake_aws *f, const char *access_key,
                                    const char *secret_key, const char *const *extra_args) {
    start(f, "fakes/fake_container_creds.py", access_key, secret_key, extra_args);
}

cJSON *fake_aws_control(struct fake_aws *f, const char *method, const char *path,
                        const char *json) {
    char url[256];
    snprintf(url, sizeof(url), "%s%s", f->endpoint, path);
    const char *headers[] = {"Content-Type: application/json"};
    struct http_request req = {
        .method = method,
        .url = url,
        .headers = headers,
        .n_headers = 1,
        .body = json,
        .body_len = json != NULL ? strlen(json) : 0,
        .connect_timeout_ms = 5000,
        .timeout_ms = 30000,
    };
    struct http_response resp;
    struct sm_err err;
    http_response_init(&resp, 16u * 1024u * 1024u);
    if (http_perform(&f->control, &req, &resp, &err) != 0) {
        print_log(f);
        SM_FAIL("control %s %s: %s", method, path, err.msg);
    }
    if (resp.status != 200) {
        SM_FAIL("control %s %s: HTTP %ld: %s", method, path, resp.status, resp.body.data);
    }
    cJSON *doc = sm_json_parse(resp.body.data, resp.body.len, SM_ERR_PROTOCOL, "control", &err);
    if (doc == NULL) {
        SM_FAIL("control %s %s: %s", method, path, err.msg);
    }
    http_response_clean_up(&resp);
    return doc;
}

void fake_aws_fault(struct fake_aws *f, const char *operation, const char *error, int count) {
    char body[256];
    snprintf(body, sizeof(body), "{\"operation\":\"%s\",\"error\":\"%s\",\"count\":%d}", operation,
             error, count);
    cJSON_Delete(fake_aws_control(f, "POST", "/_fake/faults", body));
}

int fake_aws_count_calls(struct fake_aws *f, const char *operation) {
    cJSON *calls = fake_aws_control(f, "GET", "/_fake/calls", NULL);
    int n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, calls) {
        const char *op = sm_json_string(c, "operation");
        if (operation == NULL || (op != NULL && strcmp(op, operation) == 0)) {
            n++;
        }
    }
    cJSON_Delete(calls);
    return n;
}

int fake_aws_wait_calls(struct fake_aws *f, const char *operation, int want) {
    for (int waited = 0; waited < 3000; waited += 10) {
        if (fake_aws_count_calls(f, operation) >= want) {
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return fake_aws_count_calls(f, operation);
}

void fake_aws_stop(struct fake_aws *f) {
    if (f == NULL || f->pid <= 0) {
        return;
    }
    http_client_clean_up(&f->control);
    kill_pid(f->pid);
    track(f->pid, false);
    f->pid = 0;
    char path[600];
    snprintf(path, sizeof(path), "%s/port", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/fake.log", f->dir);
    unlink(path);
    rmdir(f->dir);
}

static double zero(void *impl) {
    (void)impl;
    return 0.0;
}

void fake_aws_no_jitter(struct aws_client *c) {
    static struct aws_system_ops no_jitter;
    no_jitter = *c->system.ops; /* the real transport and clock aws_client_init installed */
    no_jitter.random01 = zero;
    c->system.ops = &no_jitter;
}
