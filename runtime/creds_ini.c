/* The shared config and credentials files as botocore's configloader reads them (Python's
 * RawConfigParser underneath), a profile's merged settings, and shell-style word splitting
 * (creds_sources.h). */
#include "creds_sources.h"

#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A config or credentials file we read: far more than any real one. */
#define LIMIT_INI_FILE (1024u * 1024u)
#define LIMIT_PATH 4096u

/* ---- files ----------------------------------------------------------------------------------- */

/* Reads fd to its end into out. */
static int read_all(int fd, const char *path, const char *what, struct sm_buf *out,
                    struct sm_err *err) {
    char chunk[4096];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = sm_err_set(err, SM_ERR_CONFIG, "cannot read %s %.300s: %s", what, path,
                            strerror(errno));
            break;
        }
        if (n == 0) {
            rc = sm_buf_ensure(out, err);
            break;
        }
        if (sm_buf_append(out, chunk, (size_t)n, err) != 0) {
            if (err->code == SM_ERR_TOO_LARGE) {
                sm_err_set(err, SM_ERR_CONFIG, "%s %.300s is larger than %zu bytes", what, path,
                           out->max);
            }
            rc = -1;
            break;
        }
    }
    sm_wipe(chunk, sizeof(chunk));
    return rc;
}

int creds_read_small_file(const char *path, struct sm_buf *out, const char *what,
                          struct sm_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return sm_err_set(err, SM_ERR_CONFIG, "cannot open %s %.300s: %s", what, path,
                          strerror(errno));
    }
    int rc = read_all(fd, path, what, out, err);
    close(fd);
    return rc;
}

/* path with a leading ~ replaced by the home directory (os.path.expanduser). */
static char *expand_home(const char *path) {
    if (path[0] != '~' || (path[1] != '/' && path[1] != '\0')) {
        return sm_strdup(path);
    }
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0') {
        struct passwd *pw = getpwuid(getuid());
        home = pw != NULL ? pw->pw_dir : "";
    }
    char buf[LIMIT_PATH];
    snprintf(buf, sizeof(buf), "%s%s", home, path + 1);
    return sm_strdup(buf);
}

int creds_ini_load(const char *path, bool config_file, struct creds_ini *out, struct sm_err *err) {
    memset(out, 0, sizeof(*out));
    char *full = expand_home(path);
    struct sm_buf text;
    sm_buf_init(&text, LIMIT_INI_FILE);
    int rc = -1;
    if (full == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading %.300s", path);
        goto out;
    }
    /* botocore: a path that is not a regular file is no file; one that cannot be opened is
     * skipped by configparser's read(). */
    struct stat st;
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        out->path = full;
        full = NULL;
        rc = 0;
        goto out;
    }
    rc = read_all(fd, full, config_file ? "config file" : "credentials file", &text, err);
    close(fd);
    if (rc == 0) {
        rc = creds_ini_parse(full, text.data, text.len, config_file, out, err);
    }
out:
    sm_free(full);
    sm_buf_clean_up(&text);
    return rc;
}

void creds_ini_clean_up(struct creds_ini *ini) {
    if (ini == NULL) {
        return;
    }
    for (size_t i = 0; i < ini->n_sections; i++) {
        sm_free(ini->sections[i].name);
        sm_free(ini->sections[i].profile);
    }
    for (size_t i = 0; i < ini->n_entries; i++) {
        sm_free(ini->entries[i].key);
        sm_free(ini->entries[i].value); /* wiped: may be a secret key */
    }
    sm_free(ini->sections);
    sm_free(ini->entries);
    sm_free(ini->path);
    memset(ini, 0, sizeof(*ini));
}

/* ---- parsing --------------------------------------------------------------------------------- */

struct parser {
    struct creds_ini *ini;
    bool config_file;
    unsigned line;
    long key_entry; /* the entry a continuation line extends, or -1 */
    size_t key_indent;
};

static int parse_error(struct parser *p, struct sm_err *err, const char *what) {
    return sm_err_set(err, SM_ERR_CONFIG, "%.300s line %u: %s", p->ini->path, p->line, what);
}

static int nomem(struct sm_err *err) {
    return sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the AWS config files");
}

/* The profile a section holds: botocore's build_profile_map for the config file ([default], or
 * "profile" followed by exactly one shell word), the section name itself for the credentials
 * file. Python's configparser keeps [DEFAULT] apart: it holds every section's defaults. */
static int section_profile(const struct parser *p, const char *name, char **out,
                           struct sm_err *err) {
    *out = NULL;
    if (strcmp(name, "DEFAULT") == 0) {
        return 0;
    }
    if (!p->config_file || strcmp(name, "default") == 0) {
        *out = sm_strdup(name);
        return *out != NULL ? 0 : nomem(err);
    }
    if (strncmp(name, "profile", 7) != 0) {
        return 0;
    }
    char **words = NULL;
    struct sm_err ignored;
    if (creds_split_command(name, &words, &ignored) != 0) {
        return ignored.code == SM_ERR_NOMEM ? nomem(err)
                                            : 0; /* botocore skips what shlex refuses */
    }
    if (words[1] != NULL && words[2] == NULL) {
        *out = sm_strdup(words[1]);
    }
    bool failed = words[1] != NULL && words[2] == NULL && *out == NULL;
    sm_free(words);
    return failed ? nomem(err) : 0;
}

static void *grow(void *array, size_t n, size_t size) {
    return sm_realloc(array, (n + 1) * size);
}

static int add_section(struct parser *p, const char *name, size_t len, struct sm_err *err) {
    struct creds_ini *ini = p->ini;
    for (size_t i = 0; i < ini->n_sections; i++) {
        if (strlen(ini->sections[i].name) == len && memcmp(ini->sections[i].name, name, len) == 0) {
            return parse_error(p, err, "a section is given twice");
        }
    }
    struct creds_ini_section *s = grow(ini->sections, ini->n_sections, sizeof(*s));
    if (s == NULL) {
        return nomem(err);
    }
    ini->sections = s;
    s = &ini->sections[ini->n_sections];
    memset(s, 0, sizeof(*s));
    s->name = sm_strndup(name, len);
    if (s->name == NULL) {
        return nomem(err);
    }
    ini->n_sections++;
    p->key_entry = -1;
    return section_profile(p, s->name, &s->profile, err);
}

static void trim(const char **start, const char **end) {
    while (*start < *end && (**start == ' ' || **start == '\t')) {
        (*start)++;
    }
    while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r')) {
        (*end)--;
    }
}

static int add_entry(struct parser *p, const char *line, const char *end, size_t indent,
                     struct sm_err *err) {
    struct creds_ini *ini = p->ini;
    if (ini->n_sections == 0) {
        return parse_error(p, err, "a setting comes before any [section]");
    }
    const char *delim = line;
    while (delim < end && *delim != '=' && *delim != ':') {
        delim++;
    }
    const char *k = line, *k_end = delim, *v = delim + 1, *v_end = end;
    if (delim == end) {
        return parse_error(p, err, "the line is neither a [section], a setting nor a comment");
    }
    trim(&k, &k_end);
    trim(&v, &v_end);
    if (k == k_end) {
        return parse_error(p, err, "a setting has no name");
    }
    struct creds_ini_entry *e = grow(ini->entries, ini->n_entries, sizeof(*e));
    if (e == NULL) {
        return nomem(err);
    }
    ini->entries = e;
    e = &ini->entries[ini->n_entries];
    e->section = ini->n_sections - 1;
    e->key = sm_strndup(k, (size_t)(k_end - k));
    e->value = sm_strndup(v, (size_t)(v_end - v));
    if (e->key == NULL || e->value == NULL) {
        sm_free(e->key);
        sm_free(e->value);
        return nomem(err);
    }
    ini->n_entries++;
    for (char *c = e->key; *c != '\0'; c++) {
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    }
    for (size_t i = 0; i + 1 < ini->n_entries; i++) {
        if (ini->entries[i].section == e->section && strcmp(ini->entries[i].key, e->key) == 0) {
            return parse_error(p, err, "a setting is given twice in its section");
        }
    }
    p->key_entry = (long)(ini->n_entries - 1);
    p->key_indent = indent;
    return 0;
}

/* An indented line under a setting: configparser appends it to the value after a newline. */
static int continue_entry(struct parser *p, const char *text, const char *end, struct sm_err *err) {
    struct creds_ini_entry *e = &p->ini->entries[p->key_entry];
    size_t old = strlen(e->value), add = (size_t)(end - text);
    char *value = sm_malloc(old + add + 2);
    if (value == NULL) {
        return nomem(err);
    }
    memcpy(value, e->value, old);
    value[old] = '\n';
    memcpy(value + old + 1, text, add);
    value[old + 1 + add] = '\0';
    sm_free(e->value);
    e->value = value;
    return 0;
}

static int parse_line(struct parser *p, const char *line, const char *end, struct sm_err *err) {
    const char *text = line, *text_end = end;
    trim(&text, &text_end);
    size_t indent = (size_t)(text - line);
    if (text == text_end || *text == '#' || *text == ';') {
        return 0; /* blank or a comment */
    }
    if (indent > 0 && p->key_entry >= 0 && indent > p->key_indent) {
        return continue_entry(p, text, text_end, err);
    }
    if (*text == '[') {
        const char *close = text_end;
        while (close > text + 1 && close[-1] != ']') {
            close--;
        }
        if (close > text + 2) { /* "[x]": the name runs to the last ']', as configparser's regex */
            return add_section(p, text + 1, (size_t)(close - 1 - (text + 1)), err);
        }
    }
    return add_entry(p, text, text_end, indent, err);
}

int creds_ini_parse(const char *path, const char *text, size_t len, bool config_file,
                    struct creds_ini *out, struct sm_err *err) {
    memset(out, 0, sizeof(*out));
    struct parser p = {.ini = out, .config_file = config_file, .key_entry = -1};
    out->path = sm_strdup(path);
    if (out->path == NULL) {
        return nomem(err);
    }
    if (memchr(text, '\0', len) != NULL) {
        return sm_err_set(err, SM_ERR_CONFIG, "%.300s holds a NUL byte", path);
    }
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3; /* a UTF-8 byte order mark */
        len -= 3;
    }
    const char *end = text + len;
    for (const char *line = text; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *line_end = nl != NULL ? nl : end;
        p.line++;
        if (parse_line(&p, line, line_end, err) != 0) {
            return -1;
        }
        line = nl != NULL ? nl + 1 : end;
    }
    return 0;
}

/* ---- lookups --------------------------------------------------------------------------------- */

/* The index of the last section holding profile, or -1. */
static long find_section(const struct creds_ini *ini, const char *profile) {
    for (size_t i = ini->n_sections; i > 0; i--) {
        const char *p = ini->sections[i - 1].profile;
        if (p != NULL && strcmp(p, profile) == 0) {
            return (long)(i - 1);
        }
    }
    return -1;
}

bool creds_ini_has_profile(const struct creds_ini *ini, const char *profile) {
    return find_section(ini, profile) >= 0;
}

static const char *section_get(const struct creds_ini *ini, size_t section, const char *key) {
    for (size_t i = 0; i < ini->n_entries; i++) {
        if (ini->entries[i].section == section && strcmp(ini->entries[i].key, key) == 0) {
            return ini->entries[i].value;
        }
    }
    return NULL;
}

const char *creds_ini_get(const struct creds_ini *ini, const char *profile, const char *key) {
    long s = find_section(ini, profile);
    if (s < 0) {
        return NULL;
    }
    const char *v = section_get(ini, (size_t)s, key);
    for (size_t i = 0; v == NULL && i < ini->n_sections; i++) {
        if (strcmp(ini->sections[i].name, "DEFAULT") == 0) {
            v = section_get(ini, i, key);
        }
    }
    return v;
}

/* botocore's Session.full_config: the credentials file's settings update the config file's. */
const char *creds_profile_get(const struct creds_files *f, const char *profile, const char *key,
                              const char **where) {
    const char *v = creds_ini_get(&f->credentials, profile, key);
    const struct creds_ini *from = &f->credentials;
    if (v == NULL) {
        v = creds_ini_get(&f->config, profile, key);
        from = &f->config;
    }
    if (where != NULL) {
        *where = v != NULL ? from->path : NULL;
    }
    return v;
}

/* ---- words ----------------------------------------------------------------------------------- */

/* One word of a POSIX shell-style line from *p into *out; returns 1 for a word, 0 at the end,
 * -1 for an unterminated quote or escape. */
static int next_word(const char **p, char **out) {
    const char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++;
    }
    if (*s == '\0') {
        *p = s;
        return 0;
    }
    char *w = *out;
    for (; *s != '\0' && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r'; s++) {
        if (*s == '\\') {
            if (*++s == '\0') {
                return -1;
            }
            *w++ = *s;
        } else if (*s == '\'') {
            for (s++; *s != '\'' && *s != '\0'; s++) {
                *w++ = *s;
            }
            if (*s == '\0') {
                return -1;
            }
        } else if (*s == '"') {
            for (s++; *s != '"' && *s != '\0'; s++) {
                if (*s == '\\' && s[1] != '\0' && strchr("\\\"$`\n", s[1]) != NULL) {
                    s++;
                }
                *w++ = *s;
            }
            if (*s == '\0') {
                return -1;
            }
        } else {
            *w++ = *s;
        }
    }
    *w++ = '\0';
    *out = w;
    *p = s;
    return 1;
}

int creds_split_command(const char *line, char ***argv, struct sm_err *err) {
    size_t len = strlen(line);
    /* Every word takes at least one byte and a separator, so len + 2 slots and len + 1 bytes of
     * text (one NUL a word) are always enough. */
    size_t slots = len + 2;
    char **words = sm_malloc(slots * sizeof(char *) + len + 1);
    *argv = NULL;
    if (words == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory splitting a command line");
    }
    char *text = (char *)(words + slots);
    const char *p = line;
    size_t n = 0;
    int got;
    for (char *start = text; (got = next_word(&p, &text)) == 1; start = text) {
        words[n++] = start;
    }
    words[n] = NULL;
    if (got < 0 || n == 0) {
        sm_free(words);
        return sm_err_set(err, SM_ERR_CONFIG, "%s",
                          got < 0 ? "the command line has an unterminated quote or escape"
                                  : "the command line is empty");
    }
    *argv = words;
    return 0;
}
