/* credential_process (creds_sources.h: creds_from_process), as botocore's ProcessProvider runs
 * it: the command line split like a POSIX shell would (no shell runs it), the program found on
 * PATH as Popen finds it, stdin and the environment inherited, stdout read as JSON Version 1, a
 * non-zero exit an error carrying what the program wrote to stderr. Unlike botocore it is bounded:
 * by the chain's deadline (the program is killed) and by the size of what it writes. */
#include "creds_sources.h"
#include "creds_testing.h"

#include "clock.h"
#include "json.h"
#include "mem.h"
#include "str.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a credential process may write: its JSON is well under 8 KB. */
#define LIMIT_PROCESS_STDOUT (64u * 1024u)
#define LIMIT_PROCESS_STDERR 2048u

struct child {
    pid_t pid;
    int out_fd, err_fd;
    struct sm_buf out; /* wiped: holds the secret key */
    struct sm_buf errs;
};

/* Closes the fds of a pipe pair that are still open. */
static void close_pair(int p[2]) {
    for (int i = 0; i < 2; i++) {
        if (p[i] >= 0) {
            close(p[i]);
            p[i] = -1;
        }
    }
}

/* fork and execvp, with stdout and stderr on pipes. An exec that fails reports its errno through
 * a close-on-exec pipe, so "no such program" is told apart from a program that exits 127
 * (posix_spawn cannot always tell: under valgrind it forks and the failure arrives as 127). */
static int spawn(char *const *argv, struct child *c, struct sm_err *err) {
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, exec_pipe[2] = {-1, -1};
    int rc = -1, e = 0;
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
        pipe2(exec_pipe, O_CLOEXEC) != 0 || (c->pid = fork()) < 0) {
        e = errno;
        c->pid = 0;
        goto out;
    }
    if (c->pid == 0) {
        /* The child: dup2 clears close-on-exec on stdout and stderr only. */
        if (dup2(out_pipe[1], STDOUT_FILENO) >= 0 && dup2(err_pipe[1], STDERR_FILENO) >= 0) {
            execvp(argv[0], argv);
        }
        int child_errno = errno;
        ssize_t ignored = write(exec_pipe[1], &child_errno, sizeof(child_errno));
        (void)ignored;
        _exit(127);
    }
    close(exec_pipe[1]);
    exec_pipe[1] = -1;
    ssize_t n;
    while ((n = read(exec_pipe[0], &e, sizeof(e))) < 0 && errno == EINTR) {
    }
    if (n == (ssize_t)sizeof(e)) { /* the exec failed: reap the child now */
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR) {
        }
        c->pid = 0;
        goto out;
    }
    e = 0;
    c->out_fd = out_pipe[0];
    c->err_fd = err_pipe[0];
    out_pipe[0] = err_pipe[0] = -1;
    rc = 0;
out:
    close_pair(out_pipe);
    close_pair(err_pipe);
    close_pair(exec_pipe);
    if (rc != 0) {
        sm_err_set(err, e == ENOMEM ? SM_ERR_NOMEM : SM_ERR_CONFIG, "cannot run %.200s: %s",
                   argv[0], strerror(e));
    }
    return rc;
}

/* Reads what is ready on fd into b; returns 0 at end of file (fd closed), 1 to go on, -1 with
 * err when b cannot take it (SM_ERR_TOO_LARGE past its ceiling, SM_ERR_NOMEM). Past stderr's
 * ceiling (drop_excess) the rest is read and dropped. */
static int drain(int *fd, struct sm_buf *b, bool drop_excess, struct sm_err *err) {
    char chunk[4096];
    ssize_t n = read(*fd, chunk, sizeof(chunk));
    int rc = 1;
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        rc = 1;
    } else if (n <= 0) {
        close(*fd);
        *fd = -1;
        rc = 0;
    } else {
        size_t take = drop_excess && b->len + (size_t)n > b->max ? b->max - b->len : (size_t)n;
        rc = sm_buf_append(b, chunk, take, err) == 0 ? 1 : -1;
    }
    sm_wipe(chunk, sizeof(chunk));
    return rc;
}

/* Collects the output until both pipes close, then reaps the child, both within left_ms (< 0: no
 * deadline; past it SM_ERR_DEADLINE, the child left to child_clean_up). *status gets its wait
 * status. */
static int collect(struct child *c, int64_t left_ms, int *status, struct sm_err *err) {
    int64_t start = sm_monotonic_ms();
    while (c->out_fd >= 0 || c->err_fd >= 0) {
        struct pollfd fds[2] = {{c->out_fd, POLLIN, 0}, {c->err_fd, POLLIN, 0}};
        int64_t wait = left_ms < 0 ? -1 : left_ms - (sm_monotonic_ms() - start);
        if (left_ms >= 0 && wait <= 0) {
            return sm_err_set(err, SM_ERR_DEADLINE, "did not finish before the deadline");
        }
        int n = poll(fds, 2, wait < 0 || wait > 60000 ? 60000 : (int)wait);
        if (n < 0 && errno != EINTR) {
            return sm_err_set(err, SM_ERR_INTERNAL, "poll: %s", strerror(errno));
        }
        if ((c->out_fd >= 0 && fds[0].revents != 0 && drain(&c->out_fd, &c->out, false, err) < 0) ||
            (c->err_fd >= 0 && fds[1].revents != 0 && drain(&c->err_fd, &c->errs, true, err) < 0)) {
            if (err->code == SM_ERR_TOO_LARGE) {
                sm_err_set(err, SM_ERR_CONFIG, "wrote more than %u bytes", LIMIT_PROCESS_STDOUT);
            }
            return -1;
        }
    }
    /* A program may close its output and run on: within the deadline it is polled for */
    pid_t got;
    while ((got = waitpid(c->pid, status, left_ms < 0 ? 0 : WNOHANG)) != c->pid) {
        int64_t wait = left_ms - (sm_monotonic_ms() - start);
        if (got < 0 && errno != EINTR) {
            return sm_err_set(err, SM_ERR_INTERNAL, "waitpid: %s", strerror(errno));
        }
        if (got == 0 && wait <= 0) {
            return sm_err_set(err, SM_ERR_DEADLINE, "did not finish before the deadline");
        }
        if (got == 0) {
            poll(NULL, 0, wait < 10 ? (int)wait : 10);
        }
    }
    c->pid = 0;
    return 0;
}

static void child_clean_up(struct child *c) {
    if (c->pid > 0) { /* still running: a deadline or an error cut it short */
        kill(c->pid, SIGKILL);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    if (c->out_fd >= 0) {
        close(c->out_fd);
    }
    if (c->err_fd >= 0) {
        close(c->err_fd);
    }
    sm_buf_clean_up(&c->out);
    sm_buf_clean_up(&c->errs);
}

/* creds_testing.h */
int creds_process_read_answer(const char *json, size_t len, struct creds *out, struct sm_err *err) {
    cJSON *root = sm_json_parse(json, len, SM_ERR_CONFIG, "its output", err);
    int rc = -1;
    if (root == NULL) {
        return -1;
    }
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "Version");
    const char *akid = sm_json_string(root, "AccessKeyId");
    const char *secret = sm_json_string(root, "SecretAccessKey");
    const char *expiration = sm_json_string(root, "Expiration");
    int64_t expiration_ms = 0;
    if (!cJSON_IsNumber(version) || version->valuedouble != 1.0) {
        sm_err_set(err, SM_ERR_CONFIG, "its output's Version is not 1, the only one supported");
    } else if (akid == NULL || secret == NULL) {
        sm_err_set(err, SM_ERR_CONFIG, "its output lacks %s",
                   akid == NULL ? "AccessKeyId" : "SecretAccessKey");
    } else if (expiration != NULL && creds_parse_time(expiration, &expiration_ms) != 0) {
        sm_err_set(err, SM_ERR_CONFIG, "its output's Expiration is not an ISO 8601 time");
    } else if (creds_set(out, akid, secret, sm_json_string(root, "SessionToken"), err) == 0) {
        out->expiration_ms = expiration_ms;
        rc = 0;
    }
    cJSON_Delete(root);
    return rc;
}

/* Why the program failed, from its wait status and stderr (one line, printable). */
static void exit_error(int status, const struct sm_buf *errs, struct sm_err *err) {
    char text[400];
    sm_str_one_line(errs->data, text, sizeof(text));
    if (WIFSIGNALED(status)) {
        sm_err_set(err, SM_ERR_CONFIG, "was killed by signal %d%s%s", WTERMSIG(status),
                   text[0] != '\0' ? ": " : "", text);
    } else {
        sm_err_set(err, SM_ERR_CONFIG, "exited with status %d%s%s", WEXITSTATUS(status),
                   text[0] != '\0' ? ": " : "", text);
    }
}

int creds_from_process(struct creds_chain *ch, const char *profile, const char *command,
                       struct creds *out, struct sm_err *err) {
    char **argv = NULL;
    struct child c = {.out_fd = -1, .err_fd = -1};
    sm_buf_init(&c.out, LIMIT_PROCESS_STDOUT);
    sm_buf_init(&c.errs, LIMIT_PROCESS_STDERR);
    char program[200] = "";
    int status = 0, rc = -1;
    int64_t left = -1;
    if (ch->deadline_ms != 0) {
        left = ch->deadline_ms - ch->sys->ops->now_ms(ch->sys->impl);
        left = left > 0 ? left : 0;
    }
    if (creds_split_command(command, &argv, err) != 0) {
        goto out;
    }
    sm_str_printable(argv[0], program, sizeof(program)); /* never its arguments: they may hold a
                                                            secret */
    if (spawn(argv, &c, err) != 0 || collect(&c, left, &status, err) != 0) {
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        exit_error(status, &c.errs, err);
        goto out;
    }
    if (sm_buf_ensure(&c.out, err) != 0 ||
        creds_process_read_answer(c.out.data, c.out.len, out, err) != 0) {
        goto out;
    }
    creds_describe(ch, "profile %.100s: credential_process %s", profile, program);
    rc = 1;
out:
    if (rc < 0) {
        sm_err_prefix(err, "profile %.100s (credential_process %s)", profile,
                      program[0] != '\0' ? program : "");
    }
    child_clean_up(&c);
    sm_free(argv);
    return rc;
}
