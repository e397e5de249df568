/*
 * smtp.c - one libESMTP session per smtp_send() call.
 *
 * libESMTP runs the whole dialogue inside smtp_start_session() and tells
 * little about it afterwards, so three callbacks watch it:
 * - the event callback: connection, STARTTLS, certificate checks;
 * - the protocol monitor: which command went out (its verb only: the rest
 *   of an AUTH line is the credentials) and each reply that came back, to
 *   know the phase, the AUTH outcome and the reply that ended a session;
 * - the message callback: feeds each item's bytes and can cancel DATA.
 * A session that must not deliver (AUTH failed or missing, TLS required
 * but absent) is stopped at DATA: the callback fails, libESMTP drops the
 * connection before the final dot and the server discards the message.
 *
 * TLS uses our SSL_CTX (smtp_starttls_set_ctx): OpenSSL verifies the chain
 * against ca_file or the system store, and the configured host name or
 * IPv4 address, during the handshake.  libESMTP's own checks still run
 * after it; see S_cert_name() for the one we overrule, S_tls_ctx() and
 * S_settle_tls13() for two libESMTP 1.1 stalls we avoid.
 */
#include "notify/smtp.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* <openssl/ssl.h> first, or libesmtp.h hides smtp_starttls_set_ctx();
 * <auth-client.h> before <libesmtp.h>, or smtp_auth_set_context() too. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <auth-client.h>
#include <libesmtp.h>

#include "notify/log.h"
#include "notify/net.h"

#define SMTP_MAX_TIMEOUT_S 3600	 /* seconds; more is a configuration typo */
#define SMTP_HOST_MAX 253	 /* bytes in a DNS name */
#define SMTP_ADDR_MAX 254	 /* bytes in a path, RFC 5321 4.5.3.1.3 */
#define SMTP_LINE_MAX 998	 /* bytes per line without CRLF, RFC 5322 */
#define SMTP_CHUNK (64 * 1024)	 /* bytes handed to libESMTP per callback */
#define SMTP_REPLY_MAX 512	 /* bytes kept of one reply line */
#define SMTP_TLS13_SETTLE_MS 100 /* ms at most to wait for TLS 1.3 tickets */
#define SMTP_FD_SCAN_MAX 4096	 /* fds looked at for libESMTP's socket */

/* Where the session is, from what the client last sent. */
enum S_phase {
	PH_CONNECT,  /* resolving, connecting */
	PH_GREETING, /* connected, waiting for 220 */
	PH_EHLO,     /* EHLO or HELO, again after STARTTLS */
	PH_STARTTLS, /* STARTTLS sent: its reply, then the handshake */
	PH_AUTH,     /* AUTH and its challenges */
	PH_MAIL,     /* transactions: MAIL, RCPT, DATA, RSET */
	PH_QUIT,
};

static const char *const S_phase_names[] = {
	"connect", "greeting",	  "EHLO", "STARTTLS",
	"AUTH",	   "transaction", "QUIT",
};

struct S_sess;

/* The message callback's view of one item. */
struct S_msg {
	struct S_sess *ss;
	struct smtp_item *it;
	size_t i; /* its index, for opts.done */
	smtp_message_t m;
	size_t pos;    /* next byte of the message to hand out */
	bool reported; /* opts.done was called */
};

struct S_sess {
	const struct smtp_opts *o;
	char server[SMTP_HOST_MAX + 8]; /* "host:port" */
	smtp_session_t session;
	auth_context_t auth;
	SSL_CTX *tls;
	struct S_msg *msgs;
	enum S_phase phase;
	bool tls_up;	   /* STARTTLS done and the certificate accepted */
	bool auth_pending; /* AUTH sent, no final reply yet */
	bool authed;
	bool auth_failed;
	bool abort;    /* cancel every DATA from now on */
	bool saw_421;  /* the server closed the session */
	int errnum;    /* smtp_errno() after the session */
	nt_rc fail_rc; /* first session failure seen by a callback */
	char fail[200];
	int err_code; /* last 4xx/5xx reply, and the phase it ended */
	enum S_phase err_phase;
	char err_text[SMTP_REPLY_MAX];
	char tls_detail[128];	   /* why OpenSSL rejected the certificate */
	char line[SMTP_REPLY_MAX]; /* reply line being read */
	size_t line_len;
	int tickets; /* TLS 1.3 session tickets received */
};

/* ---- checks before connecting ---------------------------------------- */

static bool S_valid_host(const char *h)
{
	size_t i, n;

	if (h == NULL)
		return false;
	n = strlen(h);
	if (n == 0 || n > SMTP_HOST_MAX)
		return false;
	/* no ':' either: libESMTP cuts "host:port" at the first one */
	for (i = 0; i < n; i++)
		if (!(h[i] >= 'a' && h[i] <= 'z') &&
		    !(h[i] >= 'A' && h[i] <= 'Z') &&
		    !(h[i] >= '0' && h[i] <= '9') && !strchr("-._", h[i]))
			return false;
	return true;
}

static bool S_is_ipv4(const char *h)
{
	struct in_addr a;

	return inet_pton(AF_INET, h, &a) == 1;
}

/* A bare address that cannot break out of "MAIL FROM:<%s>". */
static bool S_valid_addr(const char *a)
{
	const char *at;
	size_t i, n;

	if (a == NULL)
		return false;
	n = strlen(a);
	at = strrchr(a, '@');
	if (n < 3 || n > SMTP_ADDR_MAX || at == NULL || at == a ||
	    at[1] == '\0')
		return false;
	for (i = 0; i < n; i++)
		if (a[i] < 0x21 || a[i] > 0x7e || a[i] == '<' || a[i] == '>')
			return false;
	return true;
}

static nt_rc S_check_opts(const struct smtp_opts *o, struct nt_err *err)
{
	if (!S_valid_host(o->host))
		return nt_fail(err, NT_EINVAL,
			       "smtp: bad host: a name or an IPv4 address");
	if (o->port < 1 || o->port > 65535)
		return nt_fail(err, NT_EINVAL, "smtp: bad port %d", o->port);
	if (o->starttls != STARTTLS_NONE &&
	    o->starttls != STARTTLS_OPPORTUNISTIC &&
	    o->starttls != STARTTLS_REQUIRED)
		return nt_fail(err, NT_EINVAL, "smtp: bad starttls mode");
	if (!S_valid_addr(o->mail_from))
		return nt_fail(err, NT_EINVAL, "smtp: bad envelope sender");
	if (o->timeout_s > SMTP_MAX_TIMEOUT_S)
		return nt_fail(err, NT_EINVAL, "smtp: timeout over %d s",
			       SMTP_MAX_TIMEOUT_S);
	if (o->username == NULL)
		return NT_OK;
	if (o->username[0] == '\0' || o->password == NULL)
		return nt_fail(err, NT_EINVAL,
			       "smtp: AUTH needs a username and a password");
	if (o->starttls != STARTTLS_REQUIRED &&
	    !net_host_is_loopback(o->host, strlen(o->host)))
		return nt_fail(err, NT_EPERM,
			       "smtp %s: AUTH only goes over TLS: set starttls "
			       "to required (or use a loopback relay)",
			       o->host);
	return NT_OK;
}

/* NULL when 'd' is lines that all end in CRLF, none over SMTP_LINE_MAX
 * and no NUL; else what is wrong, at byte *at.  A bare CR or LF would let
 * a "." line end DATA on servers that accept either alone. */
static const char *S_scan_data(const char *d, size_t len, size_t *at)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		*at = i;
		if (d[i] == '\0')
			return "a NUL byte";
		if (d[i] == '\n')
			return "a bare LF";
		if (d[i] != '\r')
			continue;
		if (i + 1 == len || d[i + 1] != '\n')
			return "a bare CR";
		if (i - start > SMTP_LINE_MAX)
			return "a line over 998 bytes";
		start = ++i + 1;
	}
	*at = len;
	return start == len ? NULL : "no CRLF at the end";
}

/* *checked is the data last found good: items sharing it are not
 * scanned again (10,000 recipients of one body). */
static nt_rc S_check_item(const struct smtp_item *it, size_t i,
			  const char **checked, struct nt_err *err)
{
	const char *bad = NULL;
	size_t at = 0;

	if (!S_valid_addr(it->rcpt))
		return nt_fail(err, NT_EINVAL, "smtp: item %zu: bad recipient",
			       i);
	if (it->data == NULL || it->len == 0)
		return nt_fail(err, NT_EINVAL, "smtp: item %zu: no data", i);
	if (it->ins_len > 0 &&
	    (it->ins == NULL || it->ins_at > it->len ||
	     (it->ins_at > 0 && it->data[it->ins_at - 1] != '\n')))
		bad = "an insertion off a line start";
	else if (it->ins_len > 0)
		bad = S_scan_data(it->ins, it->ins_len, &at);
	if (bad == NULL && it->data != *checked)
		bad = S_scan_data(it->data, it->len, &at);
	if (bad != NULL)
		return nt_fail(err, NT_EINVAL,
			       "smtp: item %zu (%s): %s at byte %zu", i,
			       it->rcpt, bad, at);
	*checked = it->data;
	return NT_OK;
}

/* ---- what the server says -------------------------------------------- */

/* Copies untrusted server text: printable ASCII, whitespace runs made one
 * space, trimmed, cut to fit 'size'. */
static void S_sanitize(char *dst, size_t size, const char *src)
{
	size_t j = 0;
	bool space = false;

	for (; *src != '\0' && j + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = j > 0;
			continue;
		}
		if (space && j + 2 < size)
			dst[j++] = ' ';
		space = false;
		dst[j++] = c >= 0x21 && c <= 0x7e ? (char)c : '?';
	}
	dst[j] = '\0';
}

static void S_copy_status(struct smtp_item *it, const smtp_status_t *st)
{
	char raw[SMTP_REPLY_MAX];
	const char *text = st->text != NULL ? st->text : "";

	it->status = st->code;
	if (st->enh_class > 0)
		snprintf(raw, sizeof(raw), "%d.%d.%d %s", st->enh_class,
			 st->enh_subject, st->enh_detail, text);
	else
		snprintf(raw, sizeof(raw), "%s", text);
	S_sanitize(it->text, sizeof(it->text), raw);
}

static void S_enter(struct S_sess *ss, enum S_phase phase)
{
	if (ss->phase == phase)
		return;
	log_debug("smtp %s: %s -> %s", ss->server, S_phase_names[ss->phase],
		  S_phase_names[phase]);
	ss->phase = phase;
}

static void S_set_fail(struct S_sess *ss, nt_rc rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first session failure; later ones are consequences. */
static void S_set_fail(struct S_sess *ss, nt_rc rc, const char *fmt, ...)
{
	va_list ap;

	if (ss->fail_rc != NT_OK)
		return;
	ss->fail_rc = rc;
	va_start(ap, fmt);
	vsnprintf(ss->fail, sizeof(ss->fail), fmt, ap);
	va_end(ap);
}

/* Nothing may be delivered in this session any more. */
static void S_abort(struct S_sess *ss, nt_rc rc, const char *why)
{
	S_set_fail(ss, rc, "%s", why);
	ss->abort = true;
}

static void S_auth_done(struct S_sess *ss, int code, const char *reply)
{
	ss->auth_pending = false;
	if (code / 100 == 2) {
		ss->authed = true;
		return;
	}
	ss->auth_failed = true;
	ss->abort = true;
	/* 454 is "temporary authentication failure" */
	S_set_fail(ss, code / 100 == 4 ? NT_ETEMP : NT_EPERM,
		   "AUTH as %s rejected: %s", ss->o->username, reply);
}

/* One complete reply line (CRLF stripped) in ss->line. */
static void S_on_line(struct S_sess *ss)
{
	const char *l = ss->line;
	char text[SMTP_REPLY_MAX];
	int code;

	if (ss->line_len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' ||
	    l[1] > '9' || l[2] < '0' || l[2] > '9')
		return;
	if (l[3] == '-')
		return; /* more lines follow; the last one decides */
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	S_sanitize(text, sizeof(text), l);
	log_debug("smtp %s: < %s", ss->server, text);
	if (code == 421)
		ss->saw_421 = true;
	if (code >= 400) {
		ss->err_code = code;
		ss->err_phase = ss->phase;
		memcpy(ss->err_text, text, sizeof(text));
	} else if (ss->phase < PH_MAIL) {
		ss->err_code = 0; /* recovered: HELO after a refused EHLO */
	}
	if (ss->auth_pending && code != 334)
		S_auth_done(ss, code, text);
}

static void S_on_read(struct S_sess *ss, const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			if (ss->line_len > 0 &&
			    ss->line[ss->line_len - 1] == '\r')
				ss->line_len--;
			ss->line[ss->line_len] = '\0';
			S_on_line(ss);
			ss->line_len = 0;
		} else if (ss->line_len + 1 < sizeof(ss->line)) {
			ss->line[ss->line_len++] = buf[i];
		}
	}
}

/* Called before the first byte of each message: libESMTP moves on to MAIL
 * even when AUTH failed or was not offered. */
static void S_gate_data(struct S_sess *ss)
{
	if (ss->o->starttls == STARTTLS_REQUIRED && !ss->tls_up)
		S_abort(ss, NT_EPERM, "TLS required but not in use");
	else if (ss->o->username != NULL && !ss->authed)
		S_abort(ss, NT_EPERM,
			"AUTH not offered or no usable mechanism; "
			"not sending unauthenticated");
}

/* What the client sends, by its verb only: never look further into the
 * buffer, an AUTH line carries the credentials. */
static void S_on_write(struct S_sess *ss, const char *buf, size_t len)
{
	static const struct {
		const char *verb;
		enum S_phase phase;
	} verbs[] = {
		{"EHLO ", PH_EHLO},	     {"HELO ", PH_EHLO},
		{"STARTTLS\r", PH_STARTTLS}, {"AUTH ", PH_AUTH},
		{"MAIL ", PH_MAIL},	     {"QUIT\r", PH_QUIT},
	};
	size_t i, n;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		n = strlen(verbs[i].verb);
		if (len < n || strncasecmp(buf, verbs[i].verb, n) != 0)
			continue;
		S_enter(ss, verbs[i].phase);
		if (verbs[i].phase == PH_AUTH)
			ss->auth_pending = true;
		return;
	}
}

static void S_monitor_cb(const char *buf, int len, int writing, void *arg)
{
	struct S_sess *ss = arg;

	if (len <= 0)
		return;
	if (writing == SMTP_CB_WRITING)
		S_on_write(ss, buf, (size_t)len);
	else if (writing == SMTP_CB_READING)
		S_on_read(ss, buf, (size_t)len);
}

/* ---- TLS --------------------------------------------------------------- */

/* Keeps why OpenSSL rejected the chain or the name (the handshake fails:
 * SSL_VERIFY_PEER). */
static int S_verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl;
	struct S_sess *ss;

	if (ok)
		return 1;
	ssl = X509_STORE_CTX_get_ex_data(x,
					 SSL_get_ex_data_X509_STORE_CTX_idx());
	ss = ssl != NULL ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
	if (ss != NULL && ss->tls_detail[0] == '\0')
		snprintf(ss->tls_detail, sizeof(ss->tls_detail),
			 "%s (depth %d)",
			 X509_verify_cert_error_string(
				 X509_STORE_CTX_get_error(x)),
			 X509_STORE_CTX_get_error_depth(x));
	return 0;
}

/* Our own check of the configured host against the verified peer. */
static bool S_peer_matches(const struct S_sess *ss, SSL *ssl)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	const char *h = ss->o->host;

	if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		return false;
	if (S_is_ipv4(h))
		return X509_check_ip_asc(cert, h, 0) == 1;
	return X509_check_host(cert, h, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
			       NULL) == 1;
}

/* SMTP_EV_WRONG_PEER_CERTIFICATE: int *ok, const char *name, SSL *ssl.
 * libESMTP matches the canonical name (a CNAME target, which DNS alone
 * decides) and no IP address.  What must match is the configured host,
 * which OpenSSL already checked during the handshake; confirm that here
 * independently before overriding libESMTP's verdict. */
static void S_cert_name(struct S_sess *ss, va_list ap)
{
	int *ok = va_arg(ap, int *);
	const char *name = va_arg(ap, const char *);
	SSL *ssl = va_arg(ap, SSL *);

	(void)name;
	if (ok != NULL && ssl != NULL && S_peer_matches(ss, ssl)) {
		*ok = 1;
		return;
	}
	S_set_fail(ss, NT_ETEMP, "TLS: certificate does not match %s",
		   ss->o->host);
}

/* SMTP_EV_INVALID_PEER_CERTIFICATE: long result, int *ok, SSL *ssl.
 * Unreachable with SSL_VERIFY_PEER, kept as a second lock; *ok stays 0. */
static void S_cert_invalid(struct S_sess *ss, va_list ap)
{
	long result = va_arg(ap, long);

	S_set_fail(ss, NT_ETEMP, "TLS: certificate not trusted: %s",
		   X509_verify_cert_error_string(result));
}

static long S_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000L +
	       (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* A TLS 1.3 server sends session tickets just after the handshake.  If
 * they come in before libESMTP has flushed its EHLO, libESMTP (1.1 reads
 * before it writes) waits for the reply to a command it has not sent, for
 * a whole timeout.  So take them now: until the first ticket has come
 * (S_new_session() counts them) and no more is waiting in the socket,
 * with SMTP_TLS13_SETTLE_MS as the bound for a server that sends none.
 * Data is left to libESMTP (SSL_peek).  Loopback and LAN are where this
 * race is lost. */
static void S_settle_tls13(struct S_sess *ss, SSL *ssl)
{
	struct pollfd pfd = {.fd = SSL_get_rfd(ssl), .events = POLLIN};
	struct timespec t0;
	long left = SMTP_TLS13_SETTLE_MS;
	char c;
	int r;

	log_debug("smtp %s: %s %s", ss->server, SSL_get_version(ssl),
		  SSL_get_cipher_name(ssl));
	if (SSL_version(ssl) != TLS1_3_VERSION || pfd.fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (left > 0 && poll(&pfd, 1, ss->tickets ? 0 : (int)left) > 0) {
		r = SSL_peek(ssl, &c, 1);
		if (r > 0 || SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
			break; /* data, or an error libESMTP will meet */
		left = SMTP_TLS13_SETTLE_MS - S_ms_since(&t0);
	}
}

/* OpenSSL's new-session callback: a ticket came.  Not kept (1 would
 * mean we own the session). */
static int S_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct S_sess *ss = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	(void)sess;
	if (ss != NULL)
		ss->tickets++;
	return 0;
}

/* Sets TCP_NODELAY on 'fd' when it is a TCP socket without it; true
 * when it did. */
static bool S_nodelay_fd(int fd)
{
	struct sockaddr_storage a;
	socklen_t alen = sizeof(a);
	int type = 0, nd = 0, one = 1;
	socklen_t tl = sizeof(type), nl = sizeof(nd);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    type != SOCK_STREAM ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0 ||
	    (a.ss_family != AF_INET && a.ss_family != AF_INET6) ||
	    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nd, &nl) < 0 || nd)
		return false;
	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0;
}

/* libESMTP connects its own socket and offers no option: at its
 * connect event, set TCP_NODELAY on every TCP socket of the process
 * that lacks it (libcurl sets it on its own already, so this touches
 * the session's socket only, in effect).  The open descriptors are
 * listed in /proc/self/fd; without /proc, the first SMTP_FD_SCAN_MAX
 * are tried. */
static void S_nodelay(const struct S_sess *ss)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int set = 0;

	if (dir == NULL) {
		for (int fd = 3; fd < SMTP_FD_SCAN_MAX; fd++)
			set += fcntl(fd, F_GETFD) >= 0 && S_nodelay_fd(fd);
	} else {
		while ((e = readdir(dir)) != NULL)
			if (e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
			    atoi(e->d_name) != dirfd(dir))
				set += S_nodelay_fd(atoi(e->d_name));
		closedir(dir);
	}
	log_debug("smtp %s: TCP_NODELAY set on %d socket(s)", ss->server, set);
}

static void S_collect_one(smtp_message_t m, struct smtp_item *it);

/* A message moved on: when its item's status is final, tell opts.done
 * now, so that it is recorded before the next message goes. */
static void S_progress(smtp_message_t m)
{
	struct S_msg *mm = m ? smtp_message_get_application_data(m) : NULL;

	if (mm == NULL || mm->reported)
		return;
	S_collect_one(m, mm->it);
	if (mm->it->status == 0)
		return;
	mm->reported = true;
	if (mm->ss->o->done)
		mm->ss->o->done(mm->ss->o->done_ctx, mm->i);
}

static void S_rcpt_progress(struct S_sess *ss, smtp_recipient_t r)
{
	struct S_msg *mm = r ? smtp_recipient_get_application_data(r) : NULL;

	(void)ss;
	if (mm != NULL)
		S_progress(mm->m);
}

static void S_event_cb(smtp_session_t session, int event, void *arg, ...)
{
	struct S_sess *ss = arg;
	va_list ap;

	(void)session;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		ss->line_len = 0;
		S_nodelay(ss);
		S_enter(ss, PH_GREETING);
		break;
	case SMTP_EV_MAILSTATUS: /* const char *mailbox, message */
		(void)va_arg(ap, const char *);
		S_progress(va_arg(ap, smtp_message_t));
		break;
	case SMTP_EV_RCPTSTATUS: /* const char *mailbox, recipient */
		(void)va_arg(ap, const char *);
		S_rcpt_progress(ss, va_arg(ap, smtp_recipient_t));
		break;
	case SMTP_EV_MESSAGESENT: /* message */
		S_progress(va_arg(ap, smtp_message_t));
		break;
	case SMTP_EV_STARTTLS_OK: /* SSL *ssl, const char *cipher, int bits */
		ss->tls_up = true;
		S_enter(ss, PH_EHLO);
		S_settle_tls13(ss, va_arg(ap, SSL *));
		break;
	case SMTP_EV_EXTNA_STARTTLS:
		S_set_fail(ss, NT_EPERM, "STARTTLS required but not offered");
		break;
	case SMTP_EV_WRONG_PEER_CERTIFICATE:
		S_cert_name(ss, ap);
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE:
		S_cert_invalid(ss, ap);
		break;
	case SMTP_EV_NO_PEER_CERTIFICATE:
	case SMTP_EV_WEAK_CIPHER:
	case SMTP_EV_NO_CLIENT_CERTIFICATE:
	case SMTP_EV_UNUSABLE_CLIENT_CERTIFICATE:
	case SMTP_EV_UNUSABLE_CA_LIST:
		/* any 'ok' argument keeps its default 0: reject */
		S_set_fail(ss, NT_ETEMP, "TLS: rejected (libESMTP event %d)",
			   event);
		break;
	default:
		break;
	}
	va_end(ap);
}

/* Our SSL_CTX: libESMTP's own loads only ~/.config/libesmtp/ca.pem or the
 * system store, and checks no IP address.  Ours verifies the chain
 * against ca_file (or the system store) and the configured host name or
 * IPv4 address during the handshake, TLS 1.2 at least. */
static nt_rc S_tls_ctx(struct S_sess *ss, struct nt_err *err)
{
	const struct smtp_opts *o = ss->o;
	X509_VERIFY_PARAM *vp;
	int ok;

	ss->tls = SSL_CTX_new(TLS_client_method());
	if (ss->tls == NULL)
		return nt_fail(err, NT_ETEMP, "smtp: no TLS context");
	SSL_CTX_set_min_proto_version(ss->tls, TLS1_2_VERSION);
	SSL_CTX_set_verify(ss->tls, SSL_VERIFY_PEER, S_verify_cb);
	SSL_CTX_set_app_data(ss->tls, ss);
	/* only to hear of TLS 1.3 tickets (S_settle_tls13): none is kept */
	SSL_CTX_set_session_cache_mode(
		ss->tls,
		SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ss->tls, S_new_session);
	/* libESMTP's teardown waits up to a whole timeout for the server's
	 * close_notify, which a server in the middle of DATA (cancelled) or
	 * gone silent never sends.  SMTP frames its own end (QUIT, 221), so
	 * close without the TLS goodbye. */
	SSL_CTX_set_quiet_shutdown(ss->tls, 1);
	if (o->ca_file != NULL)
		ok = SSL_CTX_load_verify_locations(ss->tls, o->ca_file, NULL);
	else
		ok = SSL_CTX_set_default_verify_paths(ss->tls);
	ERR_clear_error();
	if (ok != 1)
		return nt_fail(err, NT_ECONFIG, "smtp: cannot load CA file %s",
			       o->ca_file != NULL ? o->ca_file : "(system)");
	vp = SSL_CTX_get0_param(ss->tls);
	X509_VERIFY_PARAM_set_hostflags(vp,
					X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (S_is_ipv4(o->host))
		ok = X509_VERIFY_PARAM_set1_ip_asc(vp, o->host);
	else
		ok = X509_VERIFY_PARAM_set1_host(vp, o->host, 0);
	if (ok != 1)
		return nt_fail(err, NT_EINVAL, "smtp: bad TLS host %s",
			       o->host);
	return NT_OK;
}

/* ---- setting the session up ------------------------------------------ */

/* Fills the SASL fields.  The strings are borrowed from the options and
 * outlive the session; libESMTP only reads them. */
static int S_interact(auth_client_request_t req, char **result, int fields,
		      void *arg)
{
	struct S_sess *ss = arg;
	int i;

	/* after one rejection, don't send the password to another
	 * mechanism: that is one more failed login on the server */
	if (ss->auth_failed)
		return 0;
	for (i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = (char *)ss->o->username;
		else if (req[i].flags & AUTH_PASS)
			result[i] = (char *)ss->o->password;
		else
			result[i] = (char *)"";
	}
	return 1;
}

static nt_rc S_setup_auth(struct S_sess *ss, struct nt_err *err)
{
	if (ss->o->username == NULL)
		return NT_OK;
	auth_client_init(); /* a no-op in 1.1, kept for the contract */
	ss->auth = auth_create_context();
	if (ss->auth == NULL)
		return nt_fail(err, NT_ETEMP, "smtp: no AUTH context");
	/* PLAIN and LOGIN send the password as is: allowed because it only
	 * goes over verified TLS or to loopback (S_check_opts) */
	if (!auth_set_mechanism_flags(ss->auth, AUTH_PLUGIN_PLAIN, 0) ||
	    !auth_set_interact_cb(ss->auth, S_interact, ss) ||
	    !smtp_auth_set_context(ss->session, ss->auth))
		return nt_fail(err, NT_ETEMP, "smtp: cannot set up AUTH");
	return NT_OK;
}

/* The next piece of the item's message: data up to ins_at, the
 * insertion, then the rest of data. */
static const char *S_next_chunk(struct S_msg *mm, int *len)
{
	const struct smtp_item *it = mm->it;
	size_t ins = it->ins_len, pos = mm->pos, left;
	const char *p;

	if (pos < it->ins_at) {
		p = it->data + pos;
		left = it->ins_at - pos;
	} else if (pos < it->ins_at + ins) {
		p = it->ins + (pos - it->ins_at);
		left = it->ins_at + ins - pos;
	} else {
		p = it->data + (pos - ins);
		left = it->len + ins - pos;
	}
	if (left > SMTP_CHUNK)
		left = SMTP_CHUNK;
	*len = (int)left;
	mm->pos += left;
	return left > 0 ? p : NULL;
}

/* Feeds one item's bytes as they are.  len == NULL rewinds (libESMTP
 * does it before every transfer).  This is the one way into DATA, so the
 * place to refuse: failing with errno set makes libESMTP drop the
 * connection before the final dot. */
static const char *S_msg_cb(void **ctx, int *len, void *arg)
{
	struct S_msg *mm = arg;

	(void)ctx;
	if (len == NULL) {
		mm->pos = 0;
		return NULL;
	}
	if (mm->pos == 0)
		S_gate_data(mm->ss);
	if (mm->pos == 0 && mm->ss->o->stop && *mm->ss->o->stop)
		S_abort(mm->ss, NT_ETEMP, "stopped before this message");
	if (mm->ss->abort) {
		*len = 0;
		errno = ECANCELED;
		return NULL;
	}
	return S_next_chunk(mm, len);
}

static nt_rc S_add_messages(struct S_sess *ss, struct smtp_item *items,
			    size_t n, struct nt_err *err)
{
	size_t i;

	ss->msgs = nt_xcalloc(n, sizeof(*ss->msgs));
	for (i = 0; i < n; i++) {
		struct S_msg *mm = &ss->msgs[i];

		smtp_recipient_t r;

		mm->ss = ss;
		mm->it = &items[i];
		mm->i = i;
		mm->m = smtp_add_message(ss->session);
		if (mm->m == NULL ||
		    !smtp_set_reverse_path(mm->m, ss->o->mail_from) ||
		    (r = smtp_add_recipient(mm->m, items[i].rcpt)) == NULL ||
		    !smtp_set_messagecb(mm->m, S_msg_cb, mm))
			return nt_fail(err, NT_ETEMP,
				       "smtp: cannot add item %zu", i);
		/* NULL release: the S_msg array is ours (S_free) */
		smtp_message_set_application_data_release(mm->m, mm, NULL);
		smtp_recipient_set_application_data_release(r, mm, NULL);
	}
	return NT_OK;
}

/* Every phase bounded by the same per-command timeout. */
static bool S_set_timeouts(struct S_sess *ss)
{
	static const int which[] = {Timeout_GREETING, Timeout_ENVELOPE,
				    Timeout_DATA, Timeout_TRANSFER,
				    Timeout_DATA2};
	int s = ss->o->timeout_s > 0 ? ss->o->timeout_s
				     : SMTP_DEFAULT_TIMEOUT_S;
	size_t i;
	int w;

	for (i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		/* milliseconds; without the flag libESMTP raises any value
		 * to the RFC 5321 minimum (5 min and more) */
		w = which[i] | Timeout_OVERRIDE_RFC2822_MINIMUM;
		if (smtp_set_timeout(ss->session, w, s * 1000L) <= 0)
			return false;
	}
	return true;
}

static nt_rc S_setup(struct S_sess *ss, struct smtp_item *items, size_t n,
		     struct nt_err *err)
{
	const struct smtp_opts *o = ss->o;
	enum starttls_option how = Starttls_DISABLED;
	nt_rc rc;

	snprintf(ss->server, sizeof(ss->server), "%s:%d", o->host, o->port);
	ss->session = smtp_create_session();
	if (ss->session == NULL)
		return nt_fail(err, NT_ETEMP, "smtp: no session");
	if (!smtp_set_server(ss->session, ss->server) ||
	    (o->helo_name && !smtp_set_hostname(ss->session, o->helo_name)) ||
	    !smtp_set_eventcb(ss->session, S_event_cb, ss) ||
	    !smtp_set_monitorcb(ss->session, S_monitor_cb, ss, 0) ||
	    !S_set_timeouts(ss))
		return nt_fail(err, NT_ETEMP, "smtp: cannot set up session");
	if (o->starttls != STARTTLS_NONE) {
		rc = S_tls_ctx(ss, err);
		if (rc != NT_OK)
			return rc;
		/* the session takes its own reference (SSL_CTX_up_ref) */
		if (!smtp_starttls_set_ctx(ss->session, ss->tls))
			return nt_fail(err, NT_ETEMP, "smtp: no TLS");
		how = o->starttls == STARTTLS_REQUIRED ? Starttls_REQUIRED
						       : Starttls_ENABLED;
	}
	if (!smtp_starttls_enable(ss->session, how))
		return nt_fail(err, NT_ETEMP, "smtp: no STARTTLS support");
	rc = S_setup_auth(ss, err);
	if (rc != NT_OK)
		return rc;
	return S_add_messages(ss, items, n, err);
}

static void S_free(struct S_sess *ss)
{
	if (ss->session != NULL)
		smtp_destroy_session(ss->session);
	if (ss->auth != NULL)
		auth_destroy_context(ss->auth); /* after the session */
	SSL_CTX_free(ss->tls);
	free(ss->msgs);
	ERR_clear_error(); /* a failed handshake leaves OpenSSL errors */
}

/* ---- running it -------------------------------------------------------- */

/* libESMTP may write to a socket the server closed.  Block SIGPIPE in
 * this thread for the session instead of changing the process's
 * disposition, then drop a SIGPIPE the session raised. */
struct S_sigpipe {
	sigset_t old;
	bool was_pending;
};

static void S_sigpipe_block(struct S_sigpipe *sp)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &sp->old);
	sigpending(&pending);
	sp->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void S_sigpipe_restore(const struct S_sigpipe *sp)
{
	const struct timespec zero = {0, 0};
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!sp->was_pending && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &sp->old, NULL);
}

static void S_log_end(const struct S_sess *ss)
{
	char buf[128];
	const char *s = smtp_strerror(ss->errnum, buf, sizeof(buf));

	log_debug("smtp %s: session over in %s; libESMTP's last error: %s",
		  ss->server, S_phase_names[ss->phase], s != NULL ? s : "?");
}

static void S_rcpt_cb(smtp_recipient_t r, const char *mailbox, void *arg)
{
	const smtp_status_t *st = smtp_recipient_status(r);

	(void)mailbox;
	if (st != NULL)
		S_copy_status(arg, st);
}

/* The first failure among MAIL, RCPT and DATA, else DATA's final reply;
 * status 0 when the session ended before the item's outcome. */
static void S_collect_one(smtp_message_t m, struct smtp_item *it)
{
	const smtp_status_t *st = smtp_reverse_path_status(m);

	if (st == NULL || st->code == 0)
		return;
	if (st->code / 100 != 2) {
		S_copy_status(it, st);
		return;
	}
	smtp_enumerate_recipients(m, S_rcpt_cb, it);
	if (it->status / 100 != 2)
		return;
	st = smtp_message_transfer_status(m);
	if (st == NULL || st->code == 0 || st->code / 100 == 3) {
		it->status = 0; /* 354 and no final reply */
		it->text[0] = '\0';
		return;
	}
	S_copy_status(it, st);
}

static void S_clear_items(struct smtp_item *items, size_t n, bool keep_2xx)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (keep_2xx && items[i].status / 100 == 2)
			continue;
		items[i].status = 0;
		items[i].text[0] = '\0';
	}
}

static nt_rc S_tls_error(const struct S_sess *ss, struct nt_err *err)
{
	char buf[128] = "";
	unsigned long e = ERR_peek_last_error();

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	return nt_fail(err, NT_ETEMP, "smtp %s: TLS handshake failed: %s",
		       ss->server,
		       ss->tls_detail[0] != '\0' ? ss->tls_detail
		       : buf[0] != '\0'		 ? buf
						 : "no detail");
}

/* What happened to the session, from the most specific evidence down. */
static nt_rc S_verdict(const struct S_sess *ss, bool incomplete,
		       struct nt_err *err)
{
	char buf[128];
	const char *s;

	if (ss->fail_rc != NT_OK)
		return nt_fail(err, ss->fail_rc, "smtp %s: %s", ss->server,
			       ss->fail);
	if (ss->phase == PH_CONNECT) {
		s = smtp_strerror(ss->errnum, buf, sizeof(buf));
		return nt_fail(err, NT_ETEMP, "smtp %s: cannot connect: %s",
			       ss->server, s != NULL ? s : "unknown error");
	}
	/* 421 anywhere, or any 4xx/5xx before MAIL, ends the session;
	 * 4xx/5xx to MAIL, RCPT or DATA belong to their item */
	if (ss->saw_421 || (ss->err_code >= 400 && ss->err_phase < PH_MAIL))
		return nt_fail(err,
			       ss->err_code / 100 == 5 ? NT_EPERM : NT_ETEMP,
			       "smtp %s: %s: %s", ss->server,
			       S_phase_names[ss->err_phase], ss->err_text);
	if (ss->phase == PH_STARTTLS && !ss->tls_up)
		return S_tls_error(ss, err);
	if (incomplete)
		return nt_fail(err, NT_ETEMP,
			       "smtp %s: connection lost or timed out "
			       "during %s",
			       ss->server, S_phase_names[ss->phase]);
	return NT_OK;
}

nt_rc smtp_send(const struct smtp_opts *o, struct smtp_item *items, size_t n,
		struct nt_err *err)
{
	struct S_sess ss;
	struct S_sigpipe sp;
	const char *checked = NULL;
	bool incomplete = false;
	size_t i;
	nt_rc rc;

	if (o == NULL || (items == NULL && n > 0))
		return nt_fail(err, NT_EINVAL, "smtp: no options or items");
	S_clear_items(items, n, false);
	rc = S_check_opts(o, err);
	for (i = 0; rc == NT_OK && i < n; i++)
		rc = S_check_item(&items[i], i, &checked, err);
	if (rc != NT_OK || n == 0)
		return rc;
	memset(&ss, 0, sizeof(ss));
	ss.o = o;
	rc = S_setup(&ss, items, n, err);
	if (rc != NT_OK)
		goto out;
	S_sigpipe_block(&sp);
	smtp_start_session(ss.session); /* the callbacks tell the story */
	ss.errnum = smtp_errno();
	S_sigpipe_restore(&sp);
	S_log_end(&ss);
	for (i = 0; i < n; i++) {
		if (!ss.msgs[i].reported)
			S_collect_one(ss.msgs[i].m, &items[i]);
		incomplete |= items[i].status == 0;
	}
	rc = S_verdict(&ss, incomplete, err);
	if (rc != NT_OK)
		S_clear_items(items, n, true);
out:
	S_free(&ss);
	return rc;
}

enum smtp_fate smtp_item_fate(const struct smtp_item *it)
{
	switch (it->status / 100) {
	case 2:
		return SMTP_SENT;
	case 5:
		return SMTP_PERM;
	default:
		return SMTP_TEMP; /* 4xx, 0 (not reached), nonsense */
	}
}

const char *smtp_fate_name(enum smtp_fate f)
{
	switch (f) {
	case SMTP_SENT:
		return "sent";
	case SMTP_TEMP:
		return "temp";
	case SMTP_PERM:
		return "perm";
	}
	return "unknown";
}
