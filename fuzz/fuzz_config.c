/*
 * fuzz_config.c - libFuzzer entry point for the configuration parser
 * (config.h): the input is a whole configuration file.
 *
 * config_load_as() reads a path, so the input goes into one memfd made
 * on the first input and rewritten for each, read as /proc/self/fd/N
 * under the name "fuzz.conf" (the name messages give).  An odd-sized
 * input is read with check_secrets, so the secret file checks run too;
 * the paths they name are relative to the working folder, where nothing
 * of the fuzzer's making is found.
 *
 * An input naming "include" is skipped: @include makes libconfig read a
 * file of the input's choosing (/dev/zero would never end), which says
 * nothing of our parser.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "notify/config.h"
#include "notify/post.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int S_fd = -1;
static char S_path[64];

static void S_init(void)
{
	S_fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
	if (S_fd < 0) {
		perror("fuzz_config: memfd_create");
		abort();
	}
	snprintf(S_path, sizeof(S_path), "/proc/self/fd/%d", S_fd);
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void S_write(const uint8_t *data, size_t size)
{
	if (ftruncate(S_fd, 0) != 0 ||
	    (size > 0 && pwrite(S_fd, data, size, 0) != (ssize_t)size)) {
		perror("fuzz_config: write");
		abort();
	}
}

/* True when the input names "include", in any case. */
static bool S_includes(const uint8_t *data, size_t size)
{
	static const char word[] = "include";
	size_t n = sizeof(word) - 1;

	for (size_t i = 0; i + n <= size; i++)
		if (strncasecmp((const char *)data + i, word, n) == 0)
			return true;
	return false;
}

static size_t S_len(const char *s)
{
	return s ? strlen(s) : 0;
}

static size_t S_list_len(const char *const *v)
{
	size_t sum = 0;

	for (; v && *v; v++)
		sum += strlen(*v);
	return sum;
}

/* strlen() every string the configuration lends, so that ASan sees one
 * that is not terminated or already freed. */
static size_t S_touch(const struct config *c)
{
	const struct watch_conf *w = config_watch(c);
	const struct chan_filter *f = config_filter(c);
	size_t sum = S_len(config_path(c)) + S_len(config_site_repo(c)) +
		     S_len(config_site_url(c)) + S_len(config_site_locale(c)) +
		     S_len(config_posts_dir(c)) + S_len(config_state(c)) +
		     S_len(config_templates_dir(c)) + S_len(w->remote) +
		     S_len(w->branch) + S_list_len(f->tags_any) +
		     S_list_len(f->keywords);

	for (size_t i = 0; i < config_n_channels(c); i++) {
		const struct chan_conf *ch = config_channel(c, i);

		if (config_channel_by_name(c, ch->name) != ch)
			abort(); /* names are unique */
		sum += S_len(ch->name) + S_len(ch->webhook_url_file) +
		       S_len(ch->homeserver) + S_len(ch->room) +
		       S_len(ch->access_token_file) + S_len(ch->host) +
		       S_len(ch->from) + S_list_len(ch->to) +
		       S_list_len(ch->filter.tags_none) + S_len(ch->locale);
	}
	return sum + (size_t)config_max_age(c) + config_post_opts(c)->max_bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	struct nt_err err;

	if (S_fd < 0)
		S_init();
	if (S_includes(data, size))
		return 0;
	S_write(data, size);
	memset(err.msg, 0xff, sizeof(err.msg));
	if (config_load_as(S_path, "fuzz.conf", size & 1, &c, &err) != NT_OK) {
		/* result.h: a failure leaves a terminated, non-empty msg. */
		if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL ||
		    err.msg[0] == '\0')
			abort();
		return 0;
	}
	/* The comparison keeps the compiler from dropping the strlen()s. */
	if (S_touch(c) == SIZE_MAX)
		abort();
	config_free(c);
	return 0;
}
