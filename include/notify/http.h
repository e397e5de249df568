/*
 * http.h - HTTP requests for the chat channels (libcurl): one handle per
 * channel, reused so that its connection is kept alive.
 *
 * URLs are secrets (a Slack webhook URL is its credential): nothing here
 * logs one, and error texts name only scheme://host (http_redact()).
 * TLS is always verified.  Plain http:// is refused unless the host is
 * the loopback or the caller allows it.
 */
#ifndef NOTIFY_HTTP_H
#define NOTIFY_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "notify/result.h"

/* Bytes of a response body kept: Slack and Matrix answer in a few. */
#define HTTP_BODY_MAX 4096

struct http;

struct http_req {
	const char *method; /* "POST", "PUT", "GET" */
	const char *url;    /* borrowed; a secret */
	const char *bearer; /* Authorization: Bearer token, or NULL; a secret */
	const char *body;   /* NULL for none */
	size_t len;
	bool allow_http; /* plain http to a host that is not loopback */
	long connect_ms; /* 0: 5000 */
	long total_ms;	 /* 0: 20000 */
};

struct http_resp {
	long status;		      /* 0 when no response came */
	char body[HTTP_BODY_MAX + 1]; /* NUL-terminated, cut */
	size_t len;
	long retry_after; /* seconds from Retry-After, or -1 */
	bool sent;	  /* the request body went out (a retry may
			   * then duplicate it) */
};

/* A new handle; never fails but on OOM (aborts). */
struct http *http_create(void);
void http_free(struct http *h);

/* Performs 'req'.  NT_OK when a response came, whatever its status (read
 * resp->status).  NT_ETEMP for a transport failure worth retrying
 * (resolve, connect, timeout, reset, TLS handshake); NT_EPERM for one
 * that is not (a URL refused: bad scheme, http:// not allowed, TLS
 * certificate not trusted).  'err' names scheme://host, never the URL. */
nt_rc http_request(struct http *h, const struct http_req *req,
		   struct http_resp *resp, struct nt_err *err);

/* What libcurl's result 'code' (a CURLcode) means for a delivery: NT_OK,
 * NT_EPERM for the few that no later attempt changes (a URL or scheme
 * refused, TLS that does not verify), NT_ETEMP for every other (a reset
 * HTTP/2 stream, a timeout, a refused connection...): a failure not
 * known to be permanent is retried. */
nt_rc http_curl_fate(int code);

/* "scheme://host…" of 'url' into out (at most n bytes), for messages. */
void http_redact(const char *url, char *out, size_t n);

/* Percent-encoding of 's' for a URL path segment, owned (free(3)). */
char *http_escape(const char *s);

/* The global libcurl init, once, before any other thread exists. */
void http_global_init(void);

#endif
