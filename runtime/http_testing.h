/*
 * http_testing: the header-line reader behind http_perform, for the fuzz target. Only http.c,
 * which defines it, and tests include it.
 */
#ifndef SM_HTTP_TESTING_H
#define SM_HTTP_TESTING_H

#include "http.h"

/* Adds one raw header line as libcurl delivers it ("Name: value\r\n") to resp->headers: the name
 * lower-cased, the value trimmed. A status line ("HTTP/...") starts a new header block (after a
 * 100 Continue) and clears the headers kept so far; a line without a name and colon, or holding a
 * NUL byte, is ignored. Returns 0, or -1 with err set (SM_ERR_TOO_LARGE past SM_LIMIT_HEADERS,
 * SM_ERR_NOMEM), leaving the headers kept before the line intact. Used by http_perform. */
int http_response_add_header_line(struct http_response *resp, const char *line, size_t n,
                                  struct sm_err *err);

#endif
