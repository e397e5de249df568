#include "notify/http.h"
#include "notify/net.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http {
	CURL *curl;
};

struct http *http_create(void)
{
	struct http *h = nt_xcalloc(1, sizeof(*h));

	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		fprintf(stderr, "notify: libcurl cannot start\n");
		abort();
	}
	return h;
}

void http_free(struct http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

void http_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_redact(const char *url, char *out, size_t n)
{
	const char *h = strstr(url, "://");
	size_t host;

	if (h == NULL) {
		snprintf(out, n, "(not a URL)");
		return;
	}
	h += 3;
	host = strcspn(h, "/?#@");
	if (h[host] == '@') /* user info: show nothing of it */
		host = 0;
	snprintf(out, n, "%.*s%.*s…", (int)(h - url), url, (int)host, h);
}

/* Keeps at most HTTP_BODY_MAX bytes of the reply; the rest is read and
 * dropped, so that a long answer is not an error. */
static size_t S_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct http_resp *r = ctx;
	size_t n = size * nmemb;
	size_t room = HTTP_BODY_MAX - r->len;
	size_t take = n < room ? n : room;

	memcpy(r->body + r->len, data, take);
	r->len += take;
	r->body[r->len] = '\0';
	return n;
}

static nt_rc S_check_url(const struct http_req *req, const char *where,
			 struct nt_err *err)
{
	if (strncmp(req->url, "https://", 8) == 0)
		return NT_OK;
	if (strncmp(req->url, "http://", 7) == 0 &&
	    (req->allow_http || net_url_is_loopback(req->url)))
		return NT_OK;
	return nt_fail(err, NT_EPERM,
		       "%s: only https:// (http:// to loopback or with "
		       "allow_http)",
		       where);
}

nt_rc http_curl_fate(int code)
{
	switch ((CURLcode)code) {
	case CURLE_OK:
		return NT_OK;
	/* what no later attempt changes: a URL or scheme refused, TLS that
	 * does not verify (a misconfiguration, or an attack) */
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_TOO_MANY_REDIRECTS:
		return NT_EPERM;
	/* everything else may pass: a reset stream, a proxy, a resolver */
	default:
		return NT_ETEMP;
	}
}

static struct curl_slist *S_headers(const struct http_req *req)
{
	struct curl_slist *l = NULL;

	l = curl_slist_append(l, "Content-Type: application/json; "
				 "charset=utf-8");
	l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
	if (req->bearer) {
		char *auth =
			nt_xasprintf("Authorization: Bearer %s", req->bearer);

		l = curl_slist_append(l, auth);
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	return l;
}

static void S_setup(CURL *c, const struct http_req *req, struct http_resp *resp,
		    struct curl_slist *hdrs, char *errbuf)
{
	curl_easy_reset(c); /* keeps the connection cache */
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_ms ? req->connect_ms : 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 req->total_ms ? req->total_ms : 20000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, S_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "notify");
	if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
				 req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->len : 0));
	}
}

nt_rc http_request(struct http *h, const struct http_req *req,
		   struct http_resp *resp, struct nt_err *err)
{
	char where[128], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs;
	curl_off_t retry = 0;
	curl_off_t upload = 0;
	CURLcode cc;
	nt_rc rc;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	http_redact(req->url, where, sizeof(where));
	rc = S_check_url(req, where, err);
	if (rc)
		return rc;
	hdrs = S_headers(req);
	S_setup(h->curl, req, resp, hdrs, errbuf);
	cc = curl_easy_perform(h->curl);
	curl_slist_free_all(hdrs);
	curl_easy_getinfo(h->curl, CURLINFO_SIZE_UPLOAD_T, &upload);
	resp->sent = upload > 0;
	if (cc != CURLE_OK)
		return nt_fail(err, http_curl_fate(cc), "%s: %s", where,
			       errbuf[0] ? errbuf : curl_easy_strerror(cc));
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &retry) ==
		    CURLE_OK &&
	    retry > 0)
		resp->retry_after = retry > 3600 ? 3600 : (long)retry;
	return NT_OK;
}

char *http_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *out;

	if (e == NULL) {
		fprintf(stderr, "notify: out of memory\n");
		abort();
	}
	out = nt_xstrdup(e);
	curl_free(e);
	return out;
}
