/*
 * announce.c - alerts to rendered messages, per channel: the filters,
 * one message per post or one digest past the threshold.
 */
#include "notify/announce.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/alert.h"
#include "notify/buf.h"
#include "notify/filter.h"
#include "notify/log.h"
#include "notify/render.h"
#include "notify/text.h"

/* What a channel's messages are rendered with. */
struct chan_ctx {
	const struct config *cfg;
	const struct chan_env *env;
	const struct chan_conf *ch;
	const char *link; /* the site's home page, or NULL */
};

/* The digest of views[0..n) listing the first k: its messages in 'msgs'
 * (empty before).  NT_ETOOBIG: the channel cannot carry k posts. */
static nt_rc S_digest_try(const struct chan_ctx *c, json_object *const *views,
			  size_t n, size_t k, struct chan_msgs *msgs,
			  struct nt_err *err)
{
	struct alert_digest_opts o = {c->env->locale, c->link};
	json_object *d = alert_digest_view(views, n, k, &o);
	struct chan_item it = {NULL, d, true};
	nt_rc rc = chan_render(c->ch, c->env, &it, msgs, err);

	json_object_put(d);
	return rc;
}

/* One digest of alerts[0..n) (their views[0..n)): every post listed when
 * the channel can carry them all, else the most it can, found by
 * bisection, and "… and N more" (the templates' has_more).  Deciding
 * before rendering keeps every item and link whole, and the formatted
 * part with them. */
static nt_rc S_digest(const struct chan_ctx *c, json_object *const *alerts,
		      json_object *const *views, size_t n,
		      struct announce_sink *sink, struct nt_err *err)
{
	struct chan_msgs best = {0}, msgs = {0};
	size_t lo = 0, hi = n; /* k < lo fits, k >= hi does not */
	char *key;
	nt_rc rc = S_digest_try(c, views, n, n, &best, err);
	bool have = rc == NT_OK;

	if (rc == NT_ETOOBIG)
		rc = NT_OK;
	while (rc == NT_OK && !have && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		rc = S_digest_try(c, views, n, mid, &msgs, err);
		if (rc == NT_OK) {
			chan_msgs_clear(&best);
			best = msgs;
			lo = mid + 1;
		} else if (rc == NT_ETOOBIG) {
			hi = mid;
			rc = NT_OK;
		}
		msgs = (struct chan_msgs){0};
		have = lo == hi && lo > 0;
	}
	if (rc == NT_OK && !have)
		rc = nt_fail(err, NT_ETOOBIG,
			     "channel '%s': a digest of %zu posts does not fit "
			     "even listing none",
			     c->ch->name, n);
	key = nt_xasprintf("digest-%zu-%s", n, alert_id(alerts[0]));
	if (rc == NT_OK)
		rc = sink->put(sink, c->ch, key, &best, alerts, n, err);
	free(key);
	chan_msgs_clear(&best);
	return rc;
}

/* Renders the posts that pass the channel's filters: one message each,
 * or one digest past the channel's threshold. */
static nt_rc S_channel(const struct chan_ctx *c, json_object *const *all,
		       size_t n_all, struct announce_sink *sink,
		       struct nt_err *err)
{
	const struct chan_conf *ch = c->ch;
	struct alert_view_opts vo = {c->env->locale,
				     config_max_key_points(c->cfg)};
	int threshold = ch->digest_threshold > 0
				? ch->digest_threshold
				: config_digest_threshold(c->cfg);
	json_object **views = nt_xcalloc(n_all + 1, sizeof(*views));
	json_object **alerts = nt_xcalloc(n_all + 1, sizeof(*alerts));
	struct chan_msgs msgs = {0};
	size_t n = 0;
	nt_rc rc = NT_OK;

	for (size_t i = 0; i < n_all; i++) {
		const char *why = NULL;

		if (!filter_match(config_filter(c->cfg), &ch->filter, all[i],
				  &why)) {
			if (sink->skip)
				sink->skip(sink, ch, all[i], why);
			continue;
		}
		alerts[n] = all[i];
		views[n++] = alert_view(all[i], &vo);
	}
	if (n > (size_t)threshold)
		rc = S_digest(c, alerts, views, n, sink, err);
	for (size_t i = 0; i < n && n <= (size_t)threshold && rc == NT_OK;
	     i++) {
		struct chan_item it = {alerts[i], views[i], false};

		rc = chan_render(ch, c->env, &it, &msgs, err);
		if (rc == NT_OK)
			rc = sink->put(sink, ch, alert_id(alerts[i]), &msgs,
				       &alerts[i], 1, err);
		chan_msgs_clear(&msgs);
	}
	for (size_t i = 0; i < n; i++)
		json_object_put(views[i]);
	free(views);
	free(alerts);
	return rc;
}

static bool S_selected(const struct announce_sel *sel,
		       const struct chan_conf *ch)
{
	bool named = false;

	if (sel == NULL || sel->n_chans == 0)
		return ch->enabled;
	for (size_t k = 0; k < sel->n_chans; k++)
		named = named || strcmp(sel->chans[k], ch->name) == 0;
	return named;
}

nt_rc announce_render(const struct config *cfg, json_object *const *alerts,
		      size_t n, const struct announce_site *site,
		      const struct announce_sel *sel, time_t now,
		      struct announce_sink *sink, struct nt_err *err)
{
	const char *site_locale = site ? site->locale : NULL;
	struct render *r = NULL;
	nt_rc rc;

	if (n == 0)
		return NT_OK;
	rc = render_create(config_templates_dir(cfg), &r, err);
	for (size_t i = 0; rc == NT_OK && i < config_n_channels(cfg); i++) {
		const struct chan_conf *ch = config_channel(cfg, i);
		const char *locale = ch->locale ? ch->locale
				     : config_site_locale(cfg)
					     ? config_site_locale(cfg)
					     : site_locale;
		struct chan_env env = {r, render_locale(locale), now};
		struct chan_ctx c = {cfg, &env, ch, site ? site->link : NULL};

		if (S_selected(sel, ch))
			rc = S_channel(&c, alerts, n, sink, err);
	}
	render_free(r);
	return rc;
}

static void S_print_one(FILE *out, const struct chan_conf *ch, const char *key,
			size_t n_covered, const char *type, const char *rcpt,
			const char *body, size_t len)
{
	/* the length lets a script cut the exact payload out */
	fprintf(out, "--- %s (%s) %s%s%s, %zu bytes", ch->name,
		config_chan_type_name(ch->type), type, rcpt ? " to " : "",
		rcpt ? rcpt : "", len);
	if (key) {
		char *safe = text_printable(key); /* a file name */

		fprintf(out, ": %s", safe);
		free(safe);
		if (n_covered > 1)
			fprintf(out, " (%zu posts)", n_covered);
	}
	fputc('\n', out);
	fwrite(body, 1, len, out);
	if (len == 0 || body[len - 1] != '\n')
		fputc('\n', out);
}

void announce_print(FILE *out, const struct chan_conf *ch, const char *key,
		    size_t n_covered, const struct chan_msgs *msgs)
{
	for (size_t i = 0; i < msgs->n; i++) {
		const struct chan_msg *m = &msgs->v[i];

		if (m->n_rcpts == 0)
			S_print_one(out, ch, key, n_covered, m->type, NULL,
				    m->body, m->len);
		/* each recipient's message is made as the sender makes it */
		for (size_t k = 0; k < m->n_rcpts; k++) {
			struct nt_buf b = NT_BUF_INIT;
			struct nt_err err = {{0}};

			if (chan_compose(m, k, &b, &err) != NT_OK) {
				log_warnx("channel '%s': %s", ch->name,
					  err.msg);
				nt_buf_release(&b);
				continue;
			}
			S_print_one(out, ch, key, n_covered, m->type,
				    m->rcpts[k], b.buf ? b.buf : "", b.len);
			nt_buf_release(&b);
		}
	}
}

/* ---- the queue sink ------------------------------------------------ */

struct announce_bucket {
	char *key;
	struct dlv_new *rows;
	size_t n;
	char **covered; /* the posts a digest announces */
	size_t n_covered;
};

static struct announce_bucket *S_bucket(struct announce_queue *q,
					const char *key)
{
	struct announce_bucket *b;

	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->b[i].key, key) == 0)
			return &q->b[i];
	q->b = nt_xrealloc(q->b, (q->n + 1) * sizeof(*q->b));
	b = &q->b[q->n++];
	memset(b, 0, sizeof(*b));
	b->key = nt_xstrdup(key);
	return b;
}

static bool S_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static nt_rc S_queue_put(struct announce_sink *s, const struct chan_conf *ch,
			 const char *key, struct chan_msgs *msgs,
			 json_object *const *covered, size_t n_covered,
			 struct nt_err *err)
{
	struct announce_queue *q = (struct announce_queue *)s;
	struct announce_bucket *b = S_bucket(q, key);

	(void)err;
	for (size_t i = 0; i < n_covered && n_covered > 1; i++) {
		const char *id = alert_id(covered[i]);

		if (S_has(b->covered, b->n_covered, id))
			continue;
		b->covered = nt_xrealloc(b->covered,
					 (b->n_covered + 1) * sizeof(char *));
		b->covered[b->n_covered++] = nt_xstrdup(id);
	}
	for (size_t i = 0; i < msgs->n; i++) {
		struct chan_msg *m = &msgs->v[i];
		size_t k = m->n_rcpts ? m->n_rcpts : 1;

		/* the rows of one message share its body (store.h) */
		b->rows = nt_xrealloc(b->rows, (b->n + k) * sizeof(*b->rows));
		for (size_t r = 0; r < k; r++)
			b->rows[b->n++] = (struct dlv_new){
				ch->name, m->n_rcpts ? m->rcpts[r] : NULL,
				m->body,  m->len,
				m->type,  m->to_at};
	}
	/* the rows borrow the messages: keep them until freed */
	q->keep.v = nt_xrealloc(q->keep.v,
				(q->keep.n + msgs->n) * sizeof(*msgs->v));
	memcpy(q->keep.v + q->keep.n, msgs->v, msgs->n * sizeof(*msgs->v));
	q->keep.n += msgs->n;
	free(msgs->v);
	msgs->v = NULL;
	msgs->n = 0;
	return NT_OK;
}

void announce_queue_init(struct announce_queue *q)
{
	memset(q, 0, sizeof(*q));
	q->base.put = S_queue_put;
}

const struct store_item *announce_queue_items(struct announce_queue *q,
					      size_t *n)
{
	q->items = nt_xrealloc(q->items, (q->n + 1) * sizeof(*q->items));
	for (size_t i = 0; i < q->n; i++)
		q->items[i] = (struct store_item){
			q->b[i].key, q->b[i].rows, q->b[i].n,
			(const char *const *)q->b[i].covered,
			q->b[i].n_covered};
	*n = q->n;
	return q->items;
}

void announce_queue_free(struct announce_queue *q)
{
	for (size_t i = 0; i < q->n; i++) {
		for (size_t k = 0; k < q->b[i].n_covered; k++)
			free(q->b[i].covered[k]);
		free(q->b[i].covered);
		free(q->b[i].rows);
		free(q->b[i].key);
	}
	free(q->b);
	free(q->items);
	chan_msgs_clear(&q->keep);
	memset(q, 0, sizeof(*q));
}
