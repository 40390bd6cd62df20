// SPDX-License-Identifier: Apache-2.0
/* The learner's table of connected actors (learner/actors.c): rows made by
 * Hello and by unrolls, Goodbye and the silence timeout removing them, the
 * count the status gauge shows, and the unroll_seq check that makes lost
 * and duplicated unrolls visible.  Every expected number below follows
 * from the case's own stream of events, worked out by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "err.h"
#include "wire.h"

#define TIMEOUT_MS 1000

static im_actors *table(void)
{
	im_actors *t = NULL;
	assert_int_equal(im_actors_new(&t, TIMEOUT_MS), IM_OK);
	assert_non_null(t);
	return t;
}

/* The instance (Hello.instance) of actor id's process in these cases. */
#define INSTANCE(id) (1000u + (id))

/* A Hello of instance inst over connection peer, with 4 environments,
 * welcomed at version 10; im_actors_hello's code. */
static int hello_as(im_actors *t, uint64_t id, uint64_t inst, const char *peer,
		    uint64_t now_ms)
{
	im_actors_hello_info h = {.id = id, .host = "h", .num_envs = 4, .welcome_version = 10, .peer = peer, .peer_len = strlen(peer), .instance = inst};
	return im_actors_hello(t, &h, now_ms);
}

/* A Hello of the actor's own instance over connection "peer-<id>". */
static int hello_rc(im_actors *t, uint64_t id, const char *host,
		    uint64_t now_ms)
{
	char peer[32];
	int n = snprintf(peer, sizeof peer, "peer-%llu", (unsigned long long)id);
	im_actors_hello_info h = {.id = id, .host = host, .num_envs = 4, .welcome_version = 10, .peer = peer, .peer_len = (size_t)n, .instance = INSTANCE(id)};
	return im_actors_hello(t, &h, now_ms);
}

/* The same, which must succeed. */
static void hello(im_actors *t, uint64_t id, const char *host, uint64_t now_ms)
{
	assert_int_equal(hello_rc(t, id, host, now_ms), IM_OK);
}

/* A Goodbye over the connection of the actor's Hello. */
static int bye(im_actors *t, uint64_t id)
{
	char peer[32];
	int n = snprintf(peer, sizeof peer, "peer-%llu", (unsigned long long)id);
	return im_actors_goodbye(t, id, INSTANCE(id), peer, (size_t)n);
}

/* The row of id in a fresh snapshot, or NULL. */
static const im_status_actor *row(im_actors *t, im_status_snapshot *s,
				  uint64_t id, uint64_t now_ms)
{
	memset(s, 0, sizeof *s);
	im_actors_fill(t, s, now_ms);
	for (uint32_t i = 0; i < s->n_actors && i < IM_STATUS_MAX_ACTORS; i++)
		if (s->actors[i].id == id)
			return &s->actors[i];
	return NULL;
}

static void test_membership(void **state)
{
	(void)state;
	im_actors *t = table();
	im_status_snapshot *s = malloc(sizeof *s);
	hello(t, 1, "host-a", 0);
	hello(t, 2, "host-b\x01", 0);
	hello(t, 3, "host-c", 0);
	im_actors_unroll(t, 3, 0, 20, 0, 100);
	/* Issue 14, defect 1: an actor that never said Hello (to this
	 * learner) gets no row: it was the host "?" row before. */
	im_actors_unroll(t, 4, 0, 20, 0, 100);
	im_validate_actor va;
	assert_int_equal(im_actors_lookup(t, 4, &va), 0);
	assert_int_equal(im_actors_lookup(t, 3, &va), 1);
	assert_int_equal(va.num_envs, 4);
	assert_int_equal(va.min_param_version, 10);
	assert_int_equal(im_actors_count(t), 3);
	const im_status_actor *r = row(t, s, 2, 500);
	assert_non_null(r);
	assert_string_equal(r->host, "host-b?");
	assert_true(r->last_seen_s == 0.5);
	assert_null(row(t, s, 4, 500));
	r = row(t, s, 3, 500);
	assert_string_equal(r->host, "host-c");
	assert_int_equal(r->frames, 20);
	assert_int_equal(r->unrolls, 1);
	/* Goodbye removes at once, and only what is there. */
	assert_int_equal(bye(t, 1), 1);
	assert_int_equal(bye(t, 1), 0);
	assert_int_equal(im_actors_count(t), 2);
	/* Issue 14, defect 5: a Goodbye for actor 2 over another connection
	 * (a spoof) changes nothing; a Goodbye for an unknown id neither. */
	assert_int_equal(im_actors_goodbye(t, 2, INSTANCE(2), "peer-3", 6), IM_EAUTH);
	assert_int_equal(im_actors_goodbye(t, 2, INSTANCE(2), "peer-2x", 7), IM_EAUTH);
	assert_int_equal(im_actors_goodbye(t, 2, INSTANCE(2), NULL, 0), IM_EAUTH);
	/* ...nor one over the right connection naming another instance. */
	assert_int_equal(im_actors_goodbye(t, 2, INSTANCE(3), "peer-2", 6), IM_EAUTH);
	assert_int_equal(im_actors_goodbye(t, 77, INSTANCE(77), "peer-77", 7), 0);
	assert_int_equal(im_actors_count(t), 2);
	assert_non_null(row(t, s, 2, 500));
	/* Actor 3 was heard at 100, actor 2 at 0: at 1050 only 2 is too
	 * silent; at exactly its timeout an actor stays. */
	assert_int_equal(im_actors_prune(t, TIMEOUT_MS), 0);
	assert_int_equal(im_actors_prune(t, 1050), 1);
	assert_null(row(t, s, 2, 1050));
	assert_non_null(row(t, s, 3, 1050));
	assert_int_equal(s->n_actors, 1);
	im_actors_unroll(t, 3, 1, 20, 0, 1500);
	assert_int_equal(im_actors_prune(t, 2400), 0);
	assert_int_equal(im_actors_prune(t, 2501), 1);
	assert_int_equal(im_actors_count(t), 0);
	/* Silent actors are not listed but stay welcomed: an unroll (one
	 * that waited in a slow learner's queues) lists it again. */
	assert_int_equal(im_actors_lookup(t, 2, &va), 1);
	im_actors_unroll(t, 2, 5, 20, 0, 2600);
	assert_int_equal(im_actors_count(t), 1);
	assert_non_null(row(t, s, 2, 2600));
	free(s);
	im_actors_free(t);
}

/* A Goodbye can overtake the actor's last unrolls (it travels on another
 * socket): those are still accounted but must not list the actor again. */
static void test_unrolls_after_goodbye(void **state)
{
	(void)state;
	im_actors *t = table();
	im_status_snapshot *s = malloc(sizeof *s);
	hello(t, 7, "h7", 0);
	im_actors_unroll(t, 7, 0, 20, 0, 10);
	assert_int_equal(bye(t, 7), 1);
	assert_int_equal(im_actors_count(t), 0);
	im_actors_unroll(t, 7, 1, 20, 0, 20); /* overtaken by the Goodbye */
	im_actors_unroll(t, 7, 2, 20, 0, 30);
	assert_int_equal(im_actors_count(t), 0);
	assert_null(row(t, s, 7, 40));
	assert_int_equal(s->n_actors, 0);
	assert_int_equal(s->n_actors_omitted, 0);
	assert_int_equal(s->unroll_seq_gaps, 0);
	assert_int_equal(s->unroll_seq_repeats, 0);
	assert_int_equal(bye(t, 7), 0);
	/* Forgotten once silent for the timeout; not counted as a departure. */
	assert_int_equal(im_actors_prune(t, 30 + TIMEOUT_MS), 0);
	assert_int_equal(im_actors_prune(t, 31 + TIMEOUT_MS), 0);
	/* Back with a Hello: listed again, counters of the old row kept only
	 * while it was remembered (here it was not). */
	hello(t, 7, "h7", 2000);
	assert_int_equal(im_actors_count(t), 1);
	const im_status_actor *r = row(t, s, 7, 2000);
	assert_non_null(r);
	assert_int_equal(r->unrolls, 0);
	/* A Hello right after a Goodbye lists the remembered row again. */
	assert_int_equal(bye(t, 7), 1);
	hello(t, 7, "h7", 2100);
	im_actors_unroll(t, 7, 0, 20, 0, 2200);
	r = row(t, s, 7, 2200);
	assert_non_null(r);
	assert_int_equal(r->unrolls, 1);
	assert_int_equal(s->n_actors, 1);
	free(s);
	im_actors_free(t);
}

/* Departed actors are not counted among the rows either. */
static void test_listed_rows_skip_departed(void **state)
{
	(void)state;
	im_actors *t = table();
	im_status_snapshot *s = malloc(sizeof *s);
	for (uint64_t id = 1; id <= 5; id++)
		hello(t, id, "h", 0);
	bye(t, 2);
	bye(t, 4);
	memset(s, 0, sizeof *s);
	im_actors_fill(t, s, 0);
	assert_int_equal(s->n_actors, 3);
	uint64_t sum = 0;
	for (uint32_t i = 0; i < 3; i++)
		sum += s->actors[i].id;
	assert_int_equal(sum, 1 + 3 + 5);
	assert_int_equal(s->actors[3].id, 0);
	free(s);
	im_actors_free(t);
}

/* Flow control's marks (actors.h): per listed actor, the unroll_seq after
 * the highest accepted since its Hello (0 before its first), and the
 * environments of the same moment. */
static void test_flow_marks(void **state)
{
	(void)state;
	im_actors *t = table();
	uint64_t ids[4], seqs[4];
	uint32_t envs = 99;
	for (uint64_t id = 1; id <= 3; id++)
		hello(t, id, "h", 0);
	im_actors_unroll(t, 1, 41, 5, 0, 0);
	im_actors_unroll(t, 1, 40, 5, 0, 0); /* overtaken: the mark stays */
	im_actors_unroll(t, 3, 7, 5, 0, 0);
	bye(t, 2);
	assert_int_equal(im_actors_flow_marks(t, ids, seqs, 4, 0, &envs), 2);
	assert_int_equal(envs, 8);
	for (int i = 0; i < 2; i++)
		assert_int_equal(seqs[i], ids[i] == 1 ? 42 : 8);
	assert_int_equal(ids[0] + ids[1], 1 + 3);
	/* A new Hello: nothing received since it, no mark. */
	hello(t, 3, "h", 1);
	assert_int_equal(im_actors_flow_marks(t, ids, seqs, 4, 1, &envs), 1);
	assert_int_equal(ids[0], 1);
	assert_int_equal(seqs[0], 42);
	/* Bounded by max; the environments still count every listed row. */
	im_actors_unroll(t, 3, 9, 5, 0, 1);
	assert_int_equal(im_actors_flow_marks(t, ids, seqs, 1, 1, &envs), 1);
	assert_int_equal(envs, 8);
	im_actors_free(t);
}

/* Finding 1 of the last review: every registered actor got a mark in
 * every Params, so Hellos without CURVE could add ~250 KB to each
 * broadcast.  Now only actors with an unroll accepted in the last
 * IM_ACTORS_MARK_MS get one, at most max per call, taken in turns; listed
 * actors without any get the one mark (0, 0) ("count in flight"). */
static void test_flow_marks_bounded(void **state)
{
	(void)state;
	im_actors *t = table();
	const uint32_t silent = 5000, busy = 3000, max = IM_WIRE_MAX_FLOW_MARKS;
	uint64_t *ids = malloc(max * sizeof *ids), *seqs = malloc(max * sizeof *seqs);
	uint8_t *seen = calloc(busy, 1);
	uint32_t envs = 0;
	for (uint32_t i = 0; i < silent; i++)
		hello(t, 100000 + i, "silent", 0);
	/* Registered, none sent: the one mark (0, 0). */
	assert_int_equal(im_actors_flow_marks(t, ids, seqs, max, 10, &envs), 1);
	assert_true(ids[0] == 0 && seqs[0] == 0);
	assert_int_equal(envs, 4 * silent);
	/* One sent: its mark alone. */
	im_actors_unroll(t, 100007, 3, 5, 0, 100);
	assert_int_equal(im_actors_flow_marks(t, ids, seqs, max, 200, &envs), 1);
	assert_true(ids[0] == 100007 && seqs[0] == 4);
	/* Silent for longer than IM_ACTORS_MARK_MS: no mark any more. */
	uint64_t later = 100 + IM_ACTORS_MARK_MS + 1;
	assert_int_equal(im_actors_flow_marks(t, ids, seqs, max, later, &envs), 1);
	assert_true(ids[0] == 0 && seqs[0] == 0);
	/* More senders than max: max marks per call, every sender's within
	 * ceil(busy / max) calls. */
	for (uint32_t i = 0; i < busy; i++) {
		hello(t, 1 + i, "busy", later);
		im_actors_unroll(t, 1 + i, 0, 5, 0, later);
	}
	uint32_t calls = (busy + max - 1) / max, distinct = 0;
	for (uint32_t c = 0; c < calls; c++) {
		assert_int_equal(im_actors_flow_marks(t, ids, seqs, max, later, &envs), max);
		for (uint32_t k = 0; k < max; k++) {
			assert_true(ids[k] >= 1 && ids[k] <= busy);
			assert_true(seqs[k] == 1);
			distinct += !seen[ids[k] - 1];
			seen[ids[k] - 1] = 1;
		}
	}
	assert_int_equal(distinct, busy);
	assert_int_equal(envs, 4 * (silent + busy));
	free(ids);
	free(seqs);
	free(seen);
	im_actors_free(t);
}

/* A mark is the unroll_seq after the highest accepted: for 2^64 - 1 (a
 * peer's number, untrusted) it saturates at 2^64 - 1 instead of wrapping
 * to 0, which would read as "nothing received" and count every unroll
 * sent since the Welcome as in flight. */
static void test_flow_mark_saturates(void **state)
{
	(void)state;
	im_actors *t = table();
	uint64_t ids[2], seqs[2];
	uint32_t envs = 0;
	hello(t, 1, "h", 0);
	im_actors_unroll(t, 1, UINT64_MAX - 1, 5, 0, 0);
	assert_int_equal(im_actors_flow_marks(t, ids, seqs, 2, 0, &envs), 1);
	assert_true(seqs[0] == UINT64_MAX);
	im_actors_unroll(t, 1, UINT64_MAX, 5, 0, 0);
	assert_int_equal(im_actors_flow_marks(t, ids, seqs, 2, 0, &envs), 1);
	assert_true(seqs[0] == UINT64_MAX);
	im_actors_free(t);
}

static void test_many_rows_counted_once(void **state)
{
	(void)state;
	im_actors *t = table();
	im_status_snapshot *s = malloc(sizeof *s);
	const uint32_t n = IM_STATUS_MAX_ACTORS + 44;
	for (uint32_t i = 0; i < n; i++)
		hello(t, 1000 + i, "h", 0);
	im_actors_fill(t, s, 0);
	assert_int_equal(s->n_actors, n);
	assert_int_equal(s->n_actors_omitted, 44);
	free(s);
	im_actors_free(t);
}

/* One event of a seq case: a Hello (seq ignored) or an unroll. */
typedef struct ev {
	char kind; /* 'h' hello, 'u' unroll, 'p' prune at now_ms (silence) */
	uint64_t id, seq, now_ms;
} ev;

typedef struct seq_case {
	const char *name;
	ev evs[12];
	int n;
	uint64_t gaps, repeats;
} seq_case;

static const seq_case seq_cases[] = {
	{"in order", {{'h', 1, 0, 0}, {'u', 1, 0, 1}, {'u', 1, 1, 2}, {'u', 1, 2, 3}}, 4, 0, 0},
	{"two actors interleaved",
	 {{'h', 1, 0, 0}, {'h', 2, 0, 0}, {'u', 1, 0, 1}, {'u', 2, 0, 1}, {'u', 2, 1, 2}, {'u', 1, 1, 2}, {'u', 1, 2, 3}, {'u', 2, 2, 3}},
	 8,
	 0,
	 0},
	{"one lost", {{'h', 1, 0, 0}, {'u', 1, 0, 1}, {'u', 1, 2, 2}, {'u', 1, 3, 3}}, 4, 1, 0},
	{"three lost in two holes",
	 {{'u', 1, 0, 1}, {'u', 1, 3, 2}, {'u', 1, 4, 3}, {'u', 1, 6, 4}},
	 4,
	 3,
	 0},
	{"duplicate", {{'u', 1, 0, 1}, {'u', 1, 1, 2}, {'u', 1, 1, 3}, {'u', 1, 2, 4}}, 4, 0, 1},
	/* 2 before 1: a gap of one when 2 comes, then 1 is a repeat. */
	{"reordered", {{'u', 1, 0, 1}, {'u', 1, 2, 2}, {'u', 1, 1, 3}, {'u', 1, 3, 4}}, 4, 1, 1},
	{"first unroll mid-stream", {{'h', 1, 0, 0}, {'u', 1, 57, 1}, {'u', 1, 58, 2}}, 3, 0, 0},
	{"rejoin after a cut link continues",
	 {{'h', 1, 0, 0}, {'u', 1, 0, 1}, {'u', 1, 1, 2}, {'h', 1, 0, 3}, {'u', 1, 2, 4}, {'u', 1, 3, 5}},
	 6,
	 0,
	 0},
	{"restarted process numbers from 0 again",
	 {{'h', 1, 0, 0}, {'u', 1, 0, 1}, {'u', 1, 1, 2}, {'h', 1, 0, 3}, {'u', 1, 0, 4}, {'u', 1, 1, 5}},
	 6,
	 0,
	 0},
	{"pruned, then back mid-stream",
	 {{'u', 1, 0, 1}, {'u', 1, 1, 2}, {'p', 0, 0, 5000}, {'u', 1, 9, 5001}, {'u', 1, 10, 5002}},
	 5,
	 0,
	 0},
	{"faults outlive their row",
	 {{'u', 1, 0, 1}, {'u', 1, 2, 2}, {'u', 1, 2, 3}, {'p', 0, 0, 5000}},
	 4,
	 1,
	 1},
	/* Issue 14, defect 9: one message numbered 2^64 - 1 set the gap
	 * counter to about 2^64.  It is one fault, and the stream it cut
	 * into goes on from where it was (one repeat, then in order). */
	{"2^64 - 1 from a welcomed actor",
	 {{'h', 1, 0, 0}, {'u', 1, 0, 1}, {'u', 1, UINT64_MAX, 2}, {'u', 1, 1, 3}, {'u', 1, 2, 4}, {'u', 1, 3, 5}},
	 6,
	 1,
	 1},
	{"2^64 - 1 twice, then the stream",
	 {{'u', 1, 5, 1}, {'u', 1, UINT64_MAX, 2}, {'u', 1, UINT64_MAX, 3}, {'u', 1, 6, 4}, {'u', 1, 7, 5}},
	 5,
	 1,
	 2},
	{"a large but plausible loss is counted in full",
	 {{'u', 1, 0, 1}, {'u', 1, IM_ACTORS_SEQ_JUMP_MAX + 1, 2}},
	 2,
	 IM_ACTORS_SEQ_JUMP_MAX,
	 0},
	{"one more is a jump",
	 {{'u', 1, 0, 1}, {'u', 1, IM_ACTORS_SEQ_JUMP_MAX + 2, 2}, {'u', 1, IM_ACTORS_SEQ_JUMP_MAX + 3, 3}},
	 3,
	 1,
	 0},
};

static void test_seq(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof seq_cases / sizeof seq_cases[0]; c++) {
		const seq_case *k = &seq_cases[c];
		im_actors *t = table();
		/* Every actor of the cases said Hello first. */
		hello(t, 1, "h", 0);
		hello(t, 2, "h", 0);
		for (int i = 0; i < k->n; i++) {
			const ev *e = &k->evs[i];
			if (e->kind == 'h')
				hello(t, e->id, "h", e->now_ms);
			else if (e->kind == 'u')
				im_actors_unroll(t, e->id, e->seq, 10, 0, e->now_ms);
			else
				im_actors_prune(t, e->now_ms);
		}
		im_actors_seq_stats st;
		im_actors_seq(t, &st);
		if (st.gaps != k->gaps || st.repeats != k->repeats)
			fail_msg("%s: gaps %llu repeats %llu, want %llu and %llu",
				 k->name, (unsigned long long)st.gaps,
				 (unsigned long long)st.repeats,
				 (unsigned long long)k->gaps,
				 (unsigned long long)k->repeats);
		im_status_snapshot *s = malloc(sizeof *s);
		im_actors_fill(t, s, 6000);
		assert_int_equal(s->unroll_seq_gaps, k->gaps);
		assert_int_equal(s->unroll_seq_repeats, k->repeats);
		free(s);
		im_actors_free(t);
	}
}

/* The main thread reads the clock, then another thread records an unroll
 * with a later time, then the main thread prunes or fills with its older
 * "now": the actor was heard 0 ms ago, not 2^64 - 1 ms ago. */
static void test_clock_read_before_update(void **state)
{
	(void)state;
	im_actors *t = table();
	im_status_snapshot *s = malloc(sizeof *s);
	hello(t, 9, "h", 5000);
	im_actors_unroll(t, 9, 0, 20, 0, 5000);
	assert_int_equal(im_actors_prune(t, 4999), 0);
	assert_int_equal(im_actors_count(t), 1);
	const im_status_actor *r = row(t, s, 9, 4999);
	assert_non_null(r);
	assert_true(r->last_seen_s == 0.0);
	free(s);
	im_actors_free(t);
}

/* Issue 14, defect 2: Hellos under made-up ids cannot grow the table
 * without bound, and they never push out an actor that may be training:
 * neither one with unrolls accepted nor one welcomed whose first unroll
 * has not come yet (forgotten, it would be dropped as unknown_actor
 * forever, never told to say Hello again).  Beyond the bound, Hellos are
 * refused until rows fall silent for the timeout. */
static void test_bounded_under_hello_flood(void **state)
{
	(void)state;
	im_actors *t = table();
	hello(t, 1, "trainer", 0);
	im_actors_unroll(t, 1, 0, 20, 0, 10);
	hello(t, 2, "joining", 15);
	const uint32_t flood = IM_ACTORS_MAX + 500;
	uint32_t refused = 0;
	for (uint32_t i = 0; i < flood; i++)
		refused += hello_rc(t, 1000 + i, "flood", 20 + i / 100) == IM_EAGAIN;
	im_validate_actor va;
	assert_int_equal(im_actors_lookup(t, 1, &va), 1);
	assert_int_equal(im_actors_lookup(t, 2, &va), 1);
	assert_int_equal(im_actors_count(t), IM_ACTORS_MAX);
	assert_int_equal(refused, flood - (IM_ACTORS_MAX - 2));
	/* The first flood rows stay; the ones beyond the bound were refused. */
	assert_int_equal(im_actors_lookup(t, 1000, &va), 1);
	assert_int_equal(im_actors_lookup(t, 1000 + flood - 1, &va), 0);
	/* A welcomed actor says Hello again: its row is there, no room needed. */
	hello(t, 2, "joining", 200);
	/* A Goodbye makes room at once, for the next new id. */
	assert_int_equal(hello_rc(t, 3, "waiting", 210), IM_EAGAIN);
	assert_int_equal(bye(t, 1000 + 7), 1);
	hello(t, 3, "waiting", 220);
	assert_int_equal(im_actors_lookup(t, 1000 + 7, &va), 0);
	assert_int_equal(hello_rc(t, 4, "waiting", 230), IM_EAGAIN);
	/* Once the flood rows have been silent for the timeout, a newcomer
	 * takes the place of the one heard from longest ago. */
	uint64_t later = 20 + flood / 100 + TIMEOUT_MS + 1;
	im_actors_unroll(t, 1, 1, 20, 0, later);
	hello(t, 2, "joining", later);
	hello(t, 5, "newcomer", later);
	assert_int_equal(im_actors_lookup(t, 5, &va), 1);
	assert_int_equal(im_actors_lookup(t, 1000, &va), 0);
	assert_int_equal(im_actors_lookup(t, 1, &va), 1);
	assert_int_equal(im_actors_lookup(t, 2, &va), 1);
	im_actors_free(t);
}

/* The rows are found through hash chains: rows forgotten from the middle
 * of the table (the last row moves into their place) and ids alike in
 * their low bits (as a peer could choose) must still be found exactly. */
static void test_lookup_after_removals(void **state)
{
	(void)state;
	im_actors *t = table();
	const uint64_t n = 3000;
	im_validate_actor va;
	for (uint64_t i = 1; i <= n; i++)
		hello(t, i << 20, "h", 0);
	for (uint64_t i = 1; i <= n; i += 3)
		assert_int_equal(bye(t, i << 20), 1);
	/* Said Goodbye and silent for the timeout: forgotten; the others
	 * are only no longer listed. */
	im_actors_prune(t, TIMEOUT_MS + 1);
	for (uint64_t i = 1; i <= n; i++) {
		int want = (i - 1) % 3 != 0;
		if (im_actors_lookup(t, i << 20, &va) != want)
			fail_msg("id %llu: found %d", (unsigned long long)(i << 20),
				 !want);
	}
	assert_int_equal(im_actors_lookup(t, (n + 1) << 20, &va), 0);
	for (uint64_t i = 1; i <= n; i += 3)
		hello(t, i << 20, "again", TIMEOUT_MS + 2);
	for (uint64_t i = 1; i <= n; i++)
		assert_int_equal(im_actors_lookup(t, i << 20, &va), 1);
	assert_int_equal(im_actors_count(t), n / 3 + (n % 3 != 0));
	im_actors_free(t);
}

/* Identity without CURVE (actors.h): an id belongs to the instance of its
 * latest Hello while that may be training.  Another instance's Hello is
 * refused and changes nothing; the same instance re-binds the id to its
 * new connection; after a Goodbye or the silence timeout the id is free. */
static void test_id_held_by_instance(void **state)
{
	(void)state;
	im_actors *t = table();
	im_validate_actor va;
	assert_int_equal(hello_as(t, 5, 0xa, "conn-1", 0), IM_OK);
	/* Another process, another connection: refused, the holder keeps
	 * its connection (its Goodbye would still count). */
	assert_int_equal(hello_as(t, 5, 0xb, "conn-2", 100), IM_EAUTH);
	assert_int_equal(hello_as(t, 5, 0xb, "conn-1", 100), IM_EAUTH);
	assert_int_equal(im_actors_goodbye(t, 5, 0xb, "conn-2", 6), IM_EAUTH);
	/* The holder handshakes again over a new connection: re-bound, and
	 * only the new connection's Goodbye counts from now on. */
	assert_int_equal(hello_as(t, 5, 0xa, "conn-3", 200), IM_OK);
	assert_int_equal(im_actors_goodbye(t, 5, 0xa, "conn-1", 6), IM_EAUTH);
	/* Unrolls keep it live: at 200 + timeout it is still held. */
	im_actors_unroll(t, 5, 0, 20, 0, 900);
	assert_int_equal(hello_as(t, 5, 0xb, "conn-2", 900 + TIMEOUT_MS), IM_EAUTH);
	/* Silent for longer than the timeout (pruned or not): free. */
	assert_int_equal(hello_as(t, 5, 0xb, "conn-2", 901 + TIMEOUT_MS), IM_OK);
	assert_int_equal(im_actors_goodbye(t, 5, 0xa, "conn-3", 6), IM_EAUTH);
	assert_int_equal(im_actors_lookup(t, 5, &va), 1);
	/* A Goodbye frees it at once for anyone. */
	assert_int_equal(im_actors_goodbye(t, 5, 0xb, "conn-2", 6), 1);
	assert_int_equal(hello_as(t, 5, 0xc, "conn-4", 2000), IM_OK);
	assert_int_equal(im_actors_count(t), 1);
	im_actors_free(t);
}

static void test_free_null(void **state)
{
	(void)state;
	im_actors_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_membership),
		cmocka_unit_test(test_unrolls_after_goodbye),
		cmocka_unit_test(test_listed_rows_skip_departed),
		cmocka_unit_test(test_flow_marks),
		cmocka_unit_test(test_flow_mark_saturates),
		cmocka_unit_test(test_flow_marks_bounded),
		cmocka_unit_test(test_many_rows_counted_once),
		cmocka_unit_test(test_seq),
		cmocka_unit_test(test_clock_read_before_update),
		cmocka_unit_test(test_bounded_under_hello_flood),
		cmocka_unit_test(test_lookup_after_removals),
		cmocka_unit_test(test_id_held_by_instance),
		cmocka_unit_test(test_free_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
