/*
 * cold_floor: the floor of bootstrap's cold start, for tests/bench/bench.py. A trivial program
 * that needs nothing but glibc makes the one Runtime API request bootstrap must make before it
 * can take an event - GET /2018-06-01/runtime/invocation/next - over a plain TCP connection to
 * AWS_LAMBDA_RUNTIME_API (host:port, an IPv4 address), and then waits for the event until it is
 * killed. bench.py times it like bootstrap: process spawn -> the fake Lambda seeing /next.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what) {
    perror(what);
    return 1;
}

static int send_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, buf, len, 0);
        if (n <= 0) {
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one HTTP response (headers and a Content-Length body); returns 0 or -1. */
static int read_response(int fd) {
    char buf[8192];
    size_t have = 0;
    char *end = NULL;
    while (end == NULL) {
        if (have == sizeof(buf) - 1) {
            return -1;
        }
        ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
        if (n <= 0) {
            return -1;
        }
        have += (size_t)n;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    long body = 0;
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    if (cl != NULL) {
        body = strtol(cl + strlen("\r\nContent-Length:"), NULL, 10);
    }
    long got = (long)(have - (size_t)(end + 4 - buf));
    while (got < body) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            return -1;
        }
        got += n;
    }
    return 0;
}

int main(void) {
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    const char *colon = api != NULL ? strrchr(api, ':') : NULL;
    if (colon == NULL || (size_t)(colon - api) >= 64) {
        fprintf(stderr, "cold_floor: AWS_LAMBDA_RUNTIME_API must be ipv4:port\n");
        return 2;
    }
    char host[64];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - api), api);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((unsigned short)strtol(colon + 1, NULL, 10))};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "cold_floor: %s is not an IPv4 address\n", host);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return fail("socket");
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        return fail("connect");
    }
    char req[512];
    int n;
    n = snprintf(req, sizeof(req),
                 "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n", api);
    if (send_all(fd, req, (size_t)n) != 0) {
        return fail("next");
    }
    read_response(fd); /* the event, if one comes before the benchmark kills us */
    close(fd);
    return 0;
}
