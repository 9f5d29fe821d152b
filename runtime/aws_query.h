/*
 * aws_query: what the AWS Query protocol services share (RDS, STS): form-encoded request bodies,
 * and the XML reader for their answers and error bodies.
 *
 * The XML is read with libexpat: namespaces are matched by local name, a document type
 * declaration is refused (no entities of any kind), and only the elements a caller names are
 * kept, at their exact paths below a record element, so nesting an answer adds (tags, security
 * groups, policies) cannot be mistaken for a field. Element texts longer than
 * AWS_QUERY_TEXT_MAX bytes and nesting deeper than AWS_QUERY_DEPTH_MAX below the record are
 * refused. Texts may be credentials (STS answers): the reader's buffers are wiped (sm_ allocator).
 */
#ifndef SM_AWS_QUERY_H
#define SM_AWS_QUERY_H

#include "aws.h"
#include "buf.h"
#include "err.h"

#include <stddef.h>

/* Longest text of one element we keep: host names are at most 253 bytes, messages a few hundred;
 * STS session tokens have no documented size and are usually 1-2 KB (larger with session tags
 * and policies), hence the margin. */
#define AWS_QUERY_TEXT_MAX 16384u
#define AWS_QUERY_DEPTH_MAX 16

/* Reads the first element named record (at any depth) of a document of len bytes: for every
 * element inside it, enter() (may be NULL) on its start and field() on its end get the element's
 * path relative to the record ("Endpoint/Address") and, for field(), its text. Both return 0,
 * or -1 when out of memory. what names the document in messages ("the AssumeRole response").
 * Returns 0; -1 with err SM_ERR_PROTOCOL when the body is not well-formed XML, holds a document
 * type declaration, nests or runs past the limits above or holds no record; SM_ERR_NOMEM. */
int aws_query_read_xml(const char *xml, size_t len, const char *record, const char *what,
                       int (*enter)(void *ctx, const char *path),
                       int (*field)(void *ctx, const char *path, const char *text), void *ctx,
                       struct sm_err *err);

/* An aws_service read_error for Query services: <Code> and <Message> of
 * <ErrorResponse><Error>. A body that is not such XML (a proxy's HTML page) leaves the fields
 * empty. Returns 0, or -1 when out of memory. */
int aws_query_read_error(const char *body, size_t len, struct aws_error_fields *out);

/* Appends "&<name>=<value>" with value form-encoded (RFC 3986 unreserved characters kept,
 * every other byte %XX), as botocore's Query serializer writes it. Returns 0 or -1 with err set
 * (sm_buf_append's errors). */
int aws_query_append_param(struct sm_buf *b, const char *name, const char *value,
                           struct sm_err *err);

#endif
