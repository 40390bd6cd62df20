// SPDX-License-Identifier: Apache-2.0
/* The dashboard's data: the table of logged scalars, the /history query
 * parser (a table of accepted and refused query strings), the history
 * ring against a reference of what decimation must keep, the evaluation
 * returns decimation must not lose, its JSON, refilling it from a resumed
 * run's metrics.csv, and the routes of the page
 * (every file the page names is embedded; dygraphs is served without a
 * pointer to a source map). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dash.h"
#include "err.h"
#include "history.h"
#include "scalars.h"

/* ---- scalars ---- */

static void test_scalar_table(void **state)
{
	(void)state;
	for (int i = 0; i < IM_SC_COUNT; i++) {
		const char *n = im_scalar_name(i), *t = im_scalar_tag(i);
		assert_non_null(n);
		assert_non_null(t);
		assert_non_null(strchr(t, '/'));
		for (int j = 0; j < i; j++) {
			assert_string_not_equal(n, im_scalar_name(j));
			assert_string_not_equal(t, im_scalar_tag(j));
		}
	}
	assert_null(im_scalar_name(IM_SC_COUNT));
	assert_null(im_scalar_tag(-1));
	assert_string_equal(im_scalar_tag(IM_SC_RETURN),
			    "train/episode_return");
	assert_string_equal(im_scalar_tag(IM_SC_LOSS_PG), "loss/policy");
	assert_string_equal(
		im_scalar_name(IM_SC_DROPPED_FIRST + IM_REJECT_BAD_SHAPE - 1),
		"dropped_bad_shape");
	/* The last scalar is the last drop reason, whatever it is. */
	char last[64];
	snprintf(last, sizeof last, "dropped/%s",
		 im_validate_reason_name((im_reject)(IM_REJECT_COUNT - 1)));
	assert_string_equal(im_scalar_tag(IM_SC_COUNT - 1), last);
}

static void test_scalars_fill(void **state)
{
	(void)state;
	im_status_snapshot *s = calloc(1, sizeof *s);
	s->frames = 1000;
	s->updates = 7;
	s->mean_return = 21.5;
	s->pg_loss = -3;
	s->entropy = 0.69;
	s->policy_lag_max = 4;
	s->n_actors = 3;
	s->dropped[IM_REJECT_BAD_SHAPE] = 2;
	s->dropped[IM_REJECT_POLICY_LAG] = 5;
	double row[IM_SC_COUNT];
	im_scalars_fill(row, s, 99);
	assert_true(row[IM_SC_FRAMES] == 1000 && row[IM_SC_UPDATES] == 7);
	assert_true(row[IM_SC_RETURN] == 21.5 && row[IM_SC_LOSS_PG] == -3);
	assert_true(row[IM_SC_ENTROPY] == 0.69 && row[IM_SC_LAG_MAX] == 4);
	assert_true(row[IM_SC_ACTORS] == 3 && row[IM_SC_EVAL_RETURN] == 99);
	assert_true(row[IM_SC_DROPPED] == 7);
	assert_true(row[IM_SC_DROPPED_FIRST + IM_REJECT_BAD_SHAPE - 1] == 2);
	assert_true(row[IM_SC_DROPPED_FIRST + IM_REJECT_POLICY_LAG - 1] == 5);
	free(s);
}

/* ---- the query ---- */

typedef struct query_case {
	const char *name;
	const char *query; /* after '?', NULL: none */
	int ok;
	uint64_t since;
} query_case;

static const query_case query_cases[] = {
	{"no query", NULL, 1, 0},
	{"empty query", "", 1, 0},
	{"zero", "since=0", 1, 0},
	{"a number", "since=42", 1, 42},
	{"leading zeros, 20 digits", "since=00000000000000000001", 1, 1},
	{"largest", "since=18446744073709551615", 1, UINT64_MAX},
	{"overflow by one", "since=18446744073709551616", 0, 0},
	{"21 digits", "since=000000000000000000001", 0, 0},
	{"empty value", "since=", 0, 0},
	{"no value", "since", 0, 0},
	{"negative", "since=-1", 0, 0},
	{"plus sign", "since=+1", 0, 0},
	{"space", "since= 1", 0, 0},
	{"trailing space", "since=1 ", 0, 0},
	{"hex", "since=0x10", 0, 0},
	{"fraction", "since=1.5", 0, 0},
	{"percent escape", "since=%31", 0, 0},
	{"upper-case key", "SINCE=1", 0, 0},
	{"other key", "from=1", 0, 0},
	{"extra key", "since=1&x=2", 0, 0},
	{"repeated key", "since=1&since=2", 0, 0},
	{"trailing ampersand", "since=1&", 0, 0},
	{"fragment", "since=1#top", 0, 0},
	{"double equals", "since==1", 0, 0},
};

static void test_query(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof query_cases / sizeof query_cases[0];
	     i++) {
		const query_case *c = &query_cases[i];
		uint64_t since = 12345;
		int rc = im_history_parse_query(c->query, &since);
		if ((rc == IM_OK) != c->ok || (c->ok && since != c->since))
			fail_msg("case '%s': rc %d since %llu", c->name, rc,
				 (unsigned long long)since);
	}
}

/* ---- the ring ---- */

static void make_row(double *row, uint64_t seq, double eval)
{
	for (int j = 0; j < IM_SC_COUNT; j++)
		row[j] = (double)seq * 100 + j;
	row[IM_SC_EVAL_RETURN] = eval;
}

/* What decimation must keep after `pushed` rows with capacity cap: the
 * multiples of the smallest power-of-two stride that fits them all. */
static uint64_t expected_stride(uint64_t pushed, uint32_t cap)
{
	uint64_t s = 1;
	while ((pushed - 1) / s + 1 > cap)
		s *= 2;
	return s;
}

static void check_ring(im_history *h, uint64_t pushed, uint32_t cap)
{
	uint64_t seqs[64];
	double rows[64 * IM_SC_COUNT];
	im_history_info info;
	im_history_get_info(h, &info);
	uint64_t s = expected_stride(pushed, cap);
	assert_int_equal(info.next_seq, pushed);
	assert_int_equal(info.stride, s);
	uint32_t n = im_history_copy(h, 0, seqs, rows, 64);
	assert_int_equal(n, info.rows);
	assert_int_equal(n, (pushed - 1) / s + 1);
	assert_true(n <= cap);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(seqs[i], i * s);
		/* The row is the one pushed with that seq. */
		assert_true(rows[i * IM_SC_COUNT + IM_SC_FRAMES] ==
			    (double)seqs[i] * 100 + IM_SC_FRAMES);
	}
}

static void test_ring_decimates(void **state)
{
	(void)state;
	const uint32_t caps[] = {4, 6, 8, 16};
	for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
		im_history *h = NULL;
		assert_int_equal(im_history_new(&h, caps[k]), IM_OK);
		double row[IM_SC_COUNT];
		for (uint64_t seq = 0; seq < 1000; seq++) {
			make_row(row, seq, NAN);
			im_history_push(h, row);
			check_ring(h, seq + 1, caps[k]);
		}
		im_history_free(h);
	}
}

static void test_ring_since(void **state)
{
	(void)state;
	im_history *h = NULL;
	assert_int_equal(im_history_new(&h, 8), IM_OK);
	double row[IM_SC_COUNT];
	for (uint64_t seq = 0; seq < 5; seq++) {
		make_row(row, seq, NAN);
		im_history_push(h, row);
	}
	uint64_t seqs[8];
	double rows[8 * IM_SC_COUNT];
	assert_int_equal(im_history_copy(h, 3, seqs, rows, 8), 2);
	assert_int_equal(seqs[0], 3);
	assert_int_equal(seqs[1], 4);
	assert_int_equal(im_history_copy(h, 5, seqs, rows, 8), 0);
	assert_int_equal(im_history_copy(h, 0, seqs, rows, 2), 2);
	assert_int_equal(seqs[1], 1);
	im_history_free(h);
}

static void test_bad_capacity(void **state)
{
	(void)state;
	im_history *h = (im_history *)0x1;
	assert_int_equal(im_history_new(&h, 3), IM_EINVAL);
	assert_int_equal(im_history_new(&h, 7), IM_EINVAL);
	assert_int_equal(im_history_new(&h, 0), IM_EINVAL);
	assert_ptr_equal(h, (im_history *)0x1);
}

/* The evaluation return of a row decimation drops reaches a kept row. */
static double eval_of(im_history *h, uint64_t seq)
{
	uint64_t seqs[8];
	double rows[8 * IM_SC_COUNT];
	uint32_t n = im_history_copy(h, 0, seqs, rows, 8);
	for (uint32_t i = 0; i < n; i++)
		if (seqs[i] == seq)
			return rows[i * IM_SC_COUNT + IM_SC_EVAL_RETURN];
	fail_msg("seq %llu not kept", (unsigned long long)seq);
	return NAN;
}

static void test_eval_survives(void **state)
{
	(void)state;
	im_history *h = NULL;
	assert_int_equal(im_history_new(&h, 4), IM_OK);
	double row[IM_SC_COUNT];
	const double evals[] = {NAN, 10, NAN, 30, NAN, 50, NAN, NAN};
	for (uint64_t seq = 0; seq < 8; seq++) {
		make_row(row, seq, evals[seq]);
		im_history_push(h, row);
	}
	/* Kept: 0, 2, 4, 6 (stride 2).  Seq 1's evaluation moved to 2 when
	 * the ring halved, seq 3's to 4 (the row after it, pushed later),
	 * seq 5's (never kept) to 6. */
	assert_true(isnan(eval_of(h, 0)));
	assert_true(eval_of(h, 2) == 10);
	assert_true(eval_of(h, 4) == 30);
	assert_true(eval_of(h, 6) == 50);
	im_history_free(h);
}

/* When the ring halves and drops its newest kept row while a newer
 * evaluation (from a row after it) already waits, the newer one reaches
 * the next kept row, as at every other push. */
static void test_eval_newest_waits(void **state)
{
	(void)state;
	im_history *h = NULL;
	assert_int_equal(im_history_new(&h, 4), IM_OK);
	double row[IM_SC_COUNT];
	/* Stride 2 after seq 4 (kept 0, 2, 4, 6); seq 7 is not kept, and
	 * seq 8 halves the ring, dropping 2 and 6. */
	const double evals[] = {NAN, NAN, NAN, NAN, NAN, NAN, 60, 70, NAN};
	for (uint64_t seq = 0; seq < 9; seq++) {
		make_row(row, seq, evals[seq]);
		im_history_push(h, row);
	}
	assert_true(eval_of(h, 8) == 70);
	im_history_free(h);
}

static void test_json(void **state)
{
	(void)state;
	im_history *h = NULL;
	assert_int_equal(im_history_new(&h, 4), IM_OK);
	char *doc;
	size_t len;
	assert_int_equal(im_history_render_json(h, 0, &doc, &len), IM_OK);
	assert_non_null(strstr(doc, "\"rows\":[],\"last\":null}"));
	assert_non_null(
		strstr(doc, "\"columns\":[\"seq\",\"time_s\",\"frames\","));
	assert_int_equal(strlen(doc), len);
	free(doc);
	double row[IM_SC_COUNT];
	for (uint64_t seq = 0; seq < 5; seq++) {
		make_row(row, seq, NAN);
		row[IM_SC_LR] = 0.000375;
		im_history_push(h, row);
	}
	assert_int_equal(im_history_render_json(h, 3, &doc, &len), IM_OK);
	/* Kept 0, 2, 4: since 3 gives 4, which is also the newest. */
	assert_non_null(strstr(doc, "\"stride\":2,\"next\":5,\"capacity\":4"));
	assert_non_null(strstr(doc, "\"rows\":[[4,400,401,"));
	assert_null(strstr(doc, "[2,200"));
	assert_non_null(strstr(doc, "\"last\":[4,400,401,"));
	assert_non_null(strstr(doc, ",null,"));     /* the NaN evaluation */
	assert_non_null(strstr(doc, ",0.000375,")); /* 9 digits, not rounded */
	free(doc);
	im_history_free(h);
}

/* A resumed run's history from its CSV: the last run segment, up to the
 * checkpoint's frames, columns by name, a torn line skipped. */
static void test_load_csv(void **state)
{
	(void)state;
	char path[] = "/tmp/impala-history-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("time_s,frames,updates,frames_per_s,unknown,mean_return\n"
	      "0.5,100,1,10,7,nan\n" /* an earlier run in the directory */
	      "1.0,200,2,10,7,5\n"
	      "0.5,50,1,10,7,1\n" /* this run starts */
	      "1.0,150,2,10,7,-nan\n"
	      "1.5,250,3,10,7,3\n"
	      "2.0,350,4,10,7,4\n" /* after the checkpoint: an orphan */
	      "2.5,36",
	      f); /* torn */
	fclose(f);
	im_history *h = NULL;
	assert_int_equal(im_history_new(&h, 8), IM_OK);
	uint64_t n = 0;
	assert_int_equal(im_history_load_csv(h, path, 300, &n), IM_OK);
	assert_int_equal(n, 3);
	uint64_t seqs[8];
	double rows[8 * IM_SC_COUNT];
	assert_int_equal(im_history_copy(h, 0, seqs, rows, 8), 3);
	const double frames[] = {50, 150, 250};
	for (int i = 0; i < 3; i++) {
		const double *r = rows + i * IM_SC_COUNT;
		assert_true(r[IM_SC_FRAMES] == frames[i]);
		assert_true(r[IM_SC_UPDATES] == i + 1);
		assert_true(isnan(r[IM_SC_UPDATES_PER_S]));
	}
	assert_true(rows[IM_SC_RETURN] == 1);
	assert_true(isnan(rows[IM_SC_COUNT + IM_SC_RETURN]));
	assert_true(rows[2 * IM_SC_COUNT + IM_SC_RETURN] == 3);
	unlink(path);
	assert_int_equal(im_history_load_csv(h, path, 300, &n), IM_ESYS);
	im_history_free(h);
}

/* ---- routes ---- */

static void test_routes(void **state)
{
	(void)state;
	im_history *h = NULL;
	assert_int_equal(im_history_new(&h, 4), IM_OK);
	im_dash *d = NULL;
	im_dash_opts o = {.history = h, .config_json = "{\"env\":\"x\"}"};
	assert_int_equal(im_dash_new(&d, &o), IM_OK);
	im_dash_reply r;
	assert_int_equal(im_dash_route(d, "/", &r), 1);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.content_type, "text/html; charset=utf-8");
	assert_memory_equal(r.body, "<!doctype html>", 15);
	assert_int_equal(im_dash_route(d, "/config?x", &r), 1);
	assert_int_equal(r.len, strlen("{\"env\":\"x\"}"));
	assert_int_equal(im_dash_route(d, "/history?since=zero", &r), 1);
	assert_int_equal(r.code, 400);
	assert_null(r.owned);
	assert_int_equal(im_dash_route(d, "/history?since=0", &r), 1);
	assert_int_equal(r.code, 200);
	assert_non_null(r.owned);
	assert_string_equal(r.content_type, "application/json");
	free(r.owned);
	assert_int_equal(im_dash_route(d, "/nothing", &r), 0);
	assert_int_equal(im_dash_route(d, "/dash/", &r), 0);
	assert_int_equal(im_dash_route(d, "/historyx", &r), 0);
	assert_int_equal(im_dash_route(d, "/dash/dygraph.min.js", &r), 1);
	assert_true(r.len > 50000);
	assert_non_null(strstr(r.body, "Dygraph"));
	assert_null(strstr(r.body, "sourceMappingURL"));
	im_dash_free(d);
	im_history_free(h);
}

/* Every src= and href= of the page is an embedded file (or the empty
 * data: icon that keeps browsers from asking for /favicon.ico). */
static void test_page_is_self_contained(void **state)
{
	(void)state;
	const im_dash_asset *page = NULL;
	for (size_t i = 0; i < im_dash_num_assets; i++)
		if (strcmp(im_dash_assets[i].path, "/") == 0)
			page = &im_dash_assets[i];
	assert_non_null(page);
	const char *p = (const char *)page->data;
	int refs = 0;
	for (const char *q = p; (q = strpbrk(q, "sh")); q++) {
		const char *v = NULL;
		if (strncmp(q, "src=\"", 5) == 0)
			v = q + 5;
		else if (strncmp(q, "href=\"", 6) == 0)
			v = q + 6;
		if (!v)
			continue;
		size_t n = strcspn(v, "\"");
		refs++;
		if (n == 6 && memcmp(v, "data:,", 6) == 0)
			continue;
		int found = 0;
		for (size_t i = 0; i < im_dash_num_assets; i++)
			found |= strlen(im_dash_assets[i].path) == n &&
				 memcmp(im_dash_assets[i].path, v, n) == 0;
		if (!found)
			fail_msg("the page names %.*s, which is not embedded",
				 (int)n, v);
	}
	assert_int_equal(refs, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalar_table),
		cmocka_unit_test(test_scalars_fill),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_ring_decimates),
		cmocka_unit_test(test_ring_since),
		cmocka_unit_test(test_bad_capacity),
		cmocka_unit_test(test_eval_survives),
		cmocka_unit_test(test_eval_newest_waits),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_load_csv),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_page_is_self_contained),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
