/*
 * net.h - the one answer to "is this the loopback?", which decides where
 * plain http:// and SMTP AUTH without TLS are allowed.  Config checks,
 * HTTP requests and SMTP sessions all ask here, so they cannot disagree.
 */
#ifndef NOTIFY_NET_H
#define NOTIFY_NET_H

#include <stdbool.h>
#include <stddef.h>

/* Is host[0..n) exactly the loopback: "localhost", "::1", "[::1]" or a
 * dotted IPv4 address in 127.0.0.0/8?  "127.0.0.1.evil.example" is not. */
bool net_host_is_loopback(const char *host, size_t n);

/* Is the host of the http(s) URL 'url' the loopback?  False for a URL
 * with user info ("http://127.1@evil.example/"), whatever follows. */
bool net_url_is_loopback(const char *url);

#endif
