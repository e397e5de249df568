/*
 * smtp_send_main.c - drives smtp_send() for tests/integration/smtp_send.sh.
 *
 * usage: smtp_send_main --host H --port P [--starttls none|opportunistic|
 *        required] [--user U --password-file F] [--ca FILE] [--from ADDR]
 *        [--timeout S] [--data FILE] [--dump FILE] [--debug] RCPT...
 *
 * Sends one message per RCPT over one session: the built-in message (with
 * "." lines to check dot-stuffing) or --data FILE as is.  --dump writes
 * the first item's bytes.  The password comes from a file, never argv.
 * Prints "result=CODE err=TEXT", then one line per item:
 * "item=I rcpt=R status=N fate=F text=T".  Exits 0 on NT_OK, else 1;
 * 2 on a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/buf.h"
#include "notify/log.h"
#include "notify/result.h"
#include "notify/smtp.h"

#define MAX_FILE (1024 * 1024) /* bytes of --data or the password file */

static const char *S_rc_code(nt_rc rc)
{
	static const char *const names[] = {
		[NT_OK] = "OK",		  [NT_EINVAL] = "EINVAL",
		[NT_ENOENT] = "ENOENT",	  [NT_EIO] = "EIO",
		[NT_EPARSE] = "EPARSE",	  [NT_ETOOBIG] = "ETOOBIG",
		[NT_ECONFIG] = "ECONFIG", [NT_ETEMP] = "ETEMP",
		[NT_EPERM] = "EPERM",
	};

	return (size_t)rc < sizeof(names) / sizeof(names[0]) ? names[rc] : "?";
}

static char *S_message(const char *rcpt, size_t i)
{
	return nt_xasprintf("From: Veille <alertes@example.org>\r\n"
			    "To: <%s>\r\n"
			    "Subject: smtp_send test %zu\r\n"
			    "Date: Tue, 14 Jan 2025 09:30:00 +0100\r\n"
			    "Message-ID: <%zu.smtp-test@example.org>\r\n"
			    "MIME-Version: 1.0\r\n"
			    "Content-Type: text/plain; charset=UTF-8\r\n"
			    "\r\n"
			    "Hello %s.\r\n"
			    ".x starts with a dot\r\n"
			    "..y starts with two\r\n"
			    ".\r\n"
			    "last line\r\n",
			    rcpt, i, i, rcpt);
}

static int S_usage(void)
{
	fprintf(stderr, "usage: smtp_send_main --host H --port P [options] "
			"RCPT...\n");
	return 2;
}

static char *S_slurp(const char *path, size_t *len)
{
	struct nt_err err;
	char *buf;

	if (nt_read_file(path, MAX_FILE, &buf, len, &err) != NT_OK) {
		fprintf(stderr, "smtp_send_main: %s\n", err.msg);
		exit(2);
	}
	return buf;
}

static int S_parse(int argc, char **argv, struct smtp_opts *o, char **data_path,
		   char **dump_path)
{
	static const struct option longs[] = {
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"starttls", required_argument, NULL, 's'},
		{"user", required_argument, NULL, 'u'},
		{"password-file", required_argument, NULL, 'w'},
		{"ca", required_argument, NULL, 'c'},
		{"from", required_argument, NULL, 'f'},
		{"timeout", required_argument, NULL, 't'},
		{"data", required_argument, NULL, 'd'},
		{"dump", required_argument, NULL, 'D'},
		{"debug", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	size_t len;
	char *pw;
	int c;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'h':
			o->host = optarg;
			break;
		case 'p':
			o->port = atoi(optarg);
			break;
		case 's':
			o->starttls = strcmp(optarg, "required") == 0
					      ? STARTTLS_REQUIRED
				      : strcmp(optarg, "opportunistic") == 0
					      ? STARTTLS_OPPORTUNISTIC
					      : STARTTLS_NONE;
			break;
		case 'u':
			o->username = optarg;
			break;
		case 'w':
			pw = S_slurp(optarg, &len);
			pw[strcspn(pw, "\r\n")] = '\0';
			o->password = pw;
			break;
		case 'c':
			o->ca_file = optarg;
			break;
		case 'f':
			o->mail_from = optarg;
			break;
		case 't':
			o->timeout_s = atoi(optarg);
			break;
		case 'd':
			*data_path = optarg;
			break;
		case 'D':
			*dump_path = optarg;
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		default:
			return -1;
		}
	}
	return optind < argc ? optind : -1;
}

static void S_dump(const char *path, const struct smtp_item *it)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(it->data, 1, it->len, f) != it->len) {
		fprintf(stderr, "smtp_send_main: cannot write %s\n", path);
		exit(2);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	struct smtp_opts o = {.port = 25, .mail_from = "bounce@example.org"};
	char *data_path = NULL, *dump_path = NULL, *data = NULL;
	struct nt_err err = {""};
	struct smtp_item *items;
	size_t i, n, len = 0;
	int first;
	nt_rc rc;

	first = S_parse(argc, argv, &o, &data_path, &dump_path);
	if (first < 0)
		return S_usage();
	if (data_path != NULL)
		data = S_slurp(data_path, &len);
	n = (size_t)(argc - first);
	items = nt_xcalloc(n, sizeof(*items));
	for (i = 0; i < n; i++) {
		items[i].rcpt = argv[first + (int)i];
		items[i].data = data ? data : S_message(items[i].rcpt, i);
		items[i].len = data ? len : strlen(items[i].data);
	}
	if (dump_path != NULL)
		S_dump(dump_path, &items[0]);
	rc = smtp_send(&o, items, n, &err);
	printf("result=%s err=%s\n", S_rc_code(rc), rc ? err.msg : "");
	for (i = 0; i < n; i++)
		printf("item=%zu rcpt=%s status=%d fate=%s text=%s\n", i,
		       items[i].rcpt, items[i].status,
		       smtp_fate_name(smtp_item_fate(&items[i])),
		       items[i].text);
	for (i = 0; i < n && data == NULL; i++)
		free((char *)items[i].data);
	free(items);
	free(data);
	free((char *)o.password);
	return rc == NT_OK ? 0 : 1;
}
