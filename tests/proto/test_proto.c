// SPDX-License-Identifier: Apache-2.0
/* Every wire message survives encode/decode unchanged; truncated, garbage
 * and oversized buffers are refused with the right code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "wire.h"

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf = NULL;
	assert_int_equal(im_wire_encode(m, &buf, len), IM_OK);
	return buf;
}

static void fill_spec(Impala__RunSpec *spec, Impala__ModelSpec *model,
		      uint32_t *obs_shape, uint32_t *hidden)
{
	impala__run_spec__init(spec);
	impala__model_spec__init(model);
	hidden[0] = 64;
	hidden[1] = 64;
	model->encoder = "mlp";
	model->n_hidden_sizes = 2;
	model->hidden_sizes = hidden;
	model->feature_dim = 64;
	model->activation = "relu";
	model->use_lstm = 1;
	model->lstm_hidden = 32;
	model->param_count = 12345;
	spec->run_id = 0xabcdef0123456789ULL;
	spec->env_name = "CartPole-v1";
	spec->num_steps = 80;
	obs_shape[0] = 4;
	spec->n_obs_shape = 1;
	spec->obs_shape = obs_shape;
	spec->num_actions = 2;
	spec->model = model;
	spec->seed = 7;
}

static void test_control_hello_roundtrip(void **state)
{
	(void)state;
	Impala__Hello hello = IMPALA__HELLO__INIT;
	hello.protocol_version = IMPALA__CONSTANTS__PROTOCOL_VERSION;
	hello.actor_id = 77;
	hello.host = "node-3";
	hello.pid = 4242;
	hello.env_name = "Acrobot-v1";
	hello.num_envs = 16;
	Impala__Control c = IMPALA__CONTROL__INIT;
	c.body_case = IMPALA__CONTROL__BODY_HELLO;
	c.hello = &hello;
	size_t len;
	uint8_t *buf = pack(&c.base, &len);
	Impala__Control *d = NULL;
	assert_int_equal(im_wire_decode_control(buf, len, IM_WIRE_MAX_CONTROL, &d), IM_OK);
	assert_int_equal(d->body_case, IMPALA__CONTROL__BODY_HELLO);
	assert_int_equal(d->hello->protocol_version, 2);
	assert_int_equal(d->hello->actor_id, 77);
	assert_string_equal(d->hello->host, "node-3");
	assert_int_equal(d->hello->pid, 4242);
	assert_string_equal(d->hello->env_name, "Acrobot-v1");
	assert_int_equal(d->hello->num_envs, 16);
	impala__control__free_unpacked(d, NULL);
	free(buf);
}

static void test_control_welcome_roundtrip(void **state)
{
	(void)state;
	Impala__RunSpec spec;
	Impala__ModelSpec model;
	uint32_t obs_shape[1], hidden[2];
	fill_spec(&spec, &model, obs_shape, hidden);
	float w[5] = {1.5f, -2.0f, 0.0f, 3.25f, -0.125f};
	Impala__Params p = IMPALA__PARAMS__INIT;
	p.run_id = spec.run_id;
	p.version = 9;
	p.param_count = 5;
	p.data.data = (uint8_t *)w;
	p.data.len = sizeof w;
	p.checksum = im_wire_crc32c(w, sizeof w);
	Impala__Welcome wel = IMPALA__WELCOME__INIT;
	wel.protocol_version = 1;
	wel.spec = &spec;
	wel.params = &p;
	Impala__Control c = IMPALA__CONTROL__INIT;
	c.body_case = IMPALA__CONTROL__BODY_WELCOME;
	c.welcome = &wel;
	size_t len;
	uint8_t *buf = pack(&c.base, &len);
	Impala__Control *d = NULL;
	assert_int_equal(im_wire_decode_control(buf, len, IM_WIRE_MAX_CONTROL, &d), IM_OK);
	Impala__Welcome *dw = d->welcome;
	assert_int_equal(d->body_case, IMPALA__CONTROL__BODY_WELCOME);
	assert_int_equal(dw->refusal, IMPALA__REFUSAL_CODE__REFUSAL_NONE);
	assert_true(dw->spec->run_id == spec.run_id);
	assert_string_equal(dw->spec->env_name, "CartPole-v1");
	assert_int_equal(dw->spec->num_steps, 80);
	assert_int_equal(dw->spec->n_obs_shape, 1);
	assert_int_equal(dw->spec->obs_shape[0], 4);
	assert_int_equal(dw->spec->num_actions, 2);
	assert_int_equal(dw->spec->model->n_hidden_sizes, 2);
	assert_int_equal(dw->spec->model->hidden_sizes[1], 64);
	assert_true(dw->spec->model->use_lstm);
	assert_int_equal(dw->spec->model->lstm_hidden, 32);
	assert_int_equal(dw->spec->model->param_count, 12345);
	assert_string_equal(dw->spec->model->activation, "relu");
	assert_int_equal(dw->params->version, 9);
	assert_int_equal(dw->params->data.len, sizeof w);
	assert_memory_equal(dw->params->data.data, w, sizeof w);
	assert_int_equal(dw->params->checksum, im_wire_crc32c(w, sizeof w));
	impala__control__free_unpacked(d, NULL);
	free(buf);
}

static void test_control_refusal_and_goodbye(void **state)
{
	(void)state;
	Impala__Welcome wel = IMPALA__WELCOME__INIT;
	wel.refusal = IMPALA__REFUSAL_CODE__REFUSAL_WRONG_ENV;
	wel.reason = "learner trains CartPole-v1, actor offered Pendulum-v1";
	Impala__Control c = IMPALA__CONTROL__INIT;
	c.body_case = IMPALA__CONTROL__BODY_WELCOME;
	c.welcome = &wel;
	size_t len;
	uint8_t *buf = pack(&c.base, &len);
	Impala__Control *d = NULL;
	assert_int_equal(im_wire_decode_control(buf, len, IM_WIRE_MAX_CONTROL, &d), IM_OK);
	assert_int_equal(d->welcome->refusal, IMPALA__REFUSAL_CODE__REFUSAL_WRONG_ENV);
	assert_string_equal(d->welcome->reason, wel.reason);
	assert_null(d->welcome->spec);
	impala__control__free_unpacked(d, NULL);
	free(buf);

	Impala__Goodbye bye = IMPALA__GOODBYE__INIT;
	bye.run_id = 5;
	bye.actor_id = 6;
	bye.unrolls_sent = 1000;
	bye.reason = "SIGTERM";
	c.body_case = IMPALA__CONTROL__BODY_GOODBYE;
	c.goodbye = &bye;
	buf = pack(&c.base, &len);
	assert_int_equal(im_wire_decode_control(buf, len, IM_WIRE_MAX_CONTROL, &d), IM_OK);
	assert_int_equal(d->goodbye->unrolls_sent, 1000);
	assert_string_equal(d->goodbye->reason, "SIGTERM");
	impala__control__free_unpacked(d, NULL);
	free(buf);
}

enum { T = 5,
       OBS = 4,
       H = 3 };

typedef struct traj_fixture {
	Impala__Trajectory t;
	Impala__Tensor obs, act, fin, prev;
	Impala__Episode ep[2], *eps[2];
	uint32_t obs_shape[2], act_shape[1], fin_shape[2], prev_shape[1];
	float obsv[(T + 1) * OBS], finv[OBS], rew[T], logp[T], h[H], c[H];
	int32_t actv[T], prevv[1];
	uint8_t term[T], trunc[T];
} traj_fixture;

static void traj_fill(traj_fixture *f)
{
	Impala__Trajectory *t = &f->t;
	impala__trajectory__init(t);
	impala__tensor__init(&f->obs);
	impala__tensor__init(&f->act);
	impala__tensor__init(&f->fin);
	impala__tensor__init(&f->prev);
	for (int i = 0; i < (T + 1) * OBS; i++)
		f->obsv[i] = 0.25f * (float)i - 3.0f;
	for (int i = 0; i < T; i++) {
		f->actv[i] = i % 2;
		f->rew[i] = 1.0f;
		f->logp[i] = -0.69f + 0.01f * (float)i;
		f->term[i] = i == 1;
		f->trunc[i] = i == 3;
	}
	for (int i = 0; i < OBS; i++)
		f->finv[i] = 9.0f + (float)i;
	for (int i = 0; i < H; i++) {
		f->h[i] = 0.1f * (float)i;
		f->c[i] = -0.2f * (float)i;
	}
	f->obs_shape[0] = T + 1;
	f->obs_shape[1] = OBS;
	f->obs.n_shape = 2;
	f->obs.shape = f->obs_shape;
	f->obs.data = (ProtobufCBinaryData){sizeof f->obsv, (uint8_t *)f->obsv};
	f->act_shape[0] = T;
	f->act.n_shape = 1;
	f->act.shape = f->act_shape;
	f->act.dtype = IMPALA__DTYPE__DTYPE_INT32;
	f->act.data = (ProtobufCBinaryData){sizeof f->actv, (uint8_t *)f->actv};
	f->fin_shape[0] = 1;
	f->fin_shape[1] = OBS;
	f->fin.n_shape = 2;
	f->fin.shape = f->fin_shape;
	f->fin.data = (ProtobufCBinaryData){sizeof f->finv, (uint8_t *)f->finv};
	f->prevv[0] = 1;
	f->prev_shape[0] = 1;
	f->prev.n_shape = 1;
	f->prev.shape = f->prev_shape;
	f->prev.dtype = IMPALA__DTYPE__DTYPE_INT32;
	f->prev.data = (ProtobufCBinaryData){sizeof f->prevv, (uint8_t *)f->prevv};
	for (int i = 0; i < 2; i++) {
		impala__episode__init(&f->ep[i]);
		f->ep[i].episode_return = 10.0f + (float)i;
		f->ep[i].length = 10 + (uint32_t)i;
		f->ep[i].truncated = i == 1;
		f->eps[i] = &f->ep[i];
	}
	t->protocol_version = 1;
	t->run_id = 11;
	t->actor_id = 12;
	t->env_index = 3;
	t->unroll_seq = 99;
	t->param_version = 40;
	t->num_steps = T;
	t->obs = &f->obs;
	t->actions = &f->act;
	t->final_obs = &f->fin;
	t->prev_action = &f->prev;
	t->prev_reward = -1.0f;
	t->rewards = (ProtobufCBinaryData){sizeof f->rew, (uint8_t *)f->rew};
	t->terminated = (ProtobufCBinaryData){T, f->term};
	t->truncated = (ProtobufCBinaryData){T, f->trunc};
	t->behaviour_logp = (ProtobufCBinaryData){sizeof f->logp, (uint8_t *)f->logp};
	t->lstm_h = (ProtobufCBinaryData){sizeof f->h, (uint8_t *)f->h};
	t->lstm_c = (ProtobufCBinaryData){sizeof f->c, (uint8_t *)f->c};
	t->n_episodes = 2;
	t->episodes = f->eps;
}

static void test_trajectory_roundtrip(void **state)
{
	(void)state;
	traj_fixture f;
	traj_fill(&f);
	size_t len;
	uint8_t *buf = pack(&f.t.base, &len);
	Impala__Trajectory *d = NULL;
	assert_int_equal(im_wire_decode_trajectory(buf, len, IM_WIRE_MAX_TRAJECTORY, &d), IM_OK);
	assert_int_equal(d->run_id, 11);
	assert_int_equal(d->actor_id, 12);
	assert_int_equal(d->env_index, 3);
	assert_int_equal(d->unroll_seq, 99);
	assert_int_equal(d->param_version, 40);
	assert_int_equal(d->num_steps, T);
	assert_int_equal(d->obs->n_shape, 2);
	assert_int_equal(d->obs->shape[0], T + 1);
	assert_memory_equal(d->obs->data.data, f.obsv, sizeof f.obsv);
	assert_int_equal(d->actions->dtype, IMPALA__DTYPE__DTYPE_INT32);
	assert_memory_equal(d->actions->data.data, f.actv, sizeof f.actv);
	assert_memory_equal(d->rewards.data, f.rew, sizeof f.rew);
	assert_memory_equal(d->terminated.data, f.term, T);
	assert_memory_equal(d->truncated.data, f.trunc, T);
	assert_memory_equal(d->behaviour_logp.data, f.logp, sizeof f.logp);
	assert_memory_equal(d->final_obs->data.data, f.finv, sizeof f.finv);
	assert_memory_equal(d->lstm_h.data, f.h, sizeof f.h);
	assert_memory_equal(d->lstm_c.data, f.c, sizeof f.c);
	assert_memory_equal(d->prev_action->data.data, f.prevv, sizeof f.prevv);
	assert_true(d->prev_reward == -1.0f);
	assert_int_equal(d->n_episodes, 2);
	assert_true(d->episodes[1]->episode_return == 11.0f);
	assert_int_equal(d->episodes[1]->length, 11);
	assert_true(d->episodes[1]->truncated);
	impala__trajectory__free_unpacked(d, NULL);
	free(buf);
}

static void test_params_roundtrip(void **state)
{
	(void)state;
	enum { N = 1000 };
	float *w = malloc(N * sizeof *w);
	for (int i = 0; i < N; i++)
		w[i] = (float)i * 0.001f - 0.5f;
	Impala__Params p = IMPALA__PARAMS__INIT;
	p.run_id = 1;
	p.version = 123456789012ULL;
	p.param_count = N;
	p.data = (ProtobufCBinaryData){N * sizeof *w, (uint8_t *)w};
	p.checksum = im_wire_crc32c(w, N * sizeof *w);
	size_t len;
	uint8_t *buf = pack(&p.base, &len);
	Impala__Params *d = NULL;
	assert_int_equal(im_wire_decode_params(buf, len, IM_WIRE_MAX_PARAMS, &d), IM_OK);
	assert_true(d->version == 123456789012ULL);
	assert_int_equal(d->param_count, N);
	assert_memory_equal(d->data.data, w, N * sizeof *w);
	assert_int_equal(im_wire_crc32c(d->data.data, d->data.len), d->checksum);
	impala__params__free_unpacked(d, NULL);
	free(buf);
	free(w);
}

static void test_truncated_buffers_refused(void **state)
{
	(void)state;
	traj_fixture f;
	traj_fill(&f);
	size_t len;
	uint8_t *buf = pack(&f.t.base, &len);
	/* Every proper prefix that ends inside a length-delimited field must
	 * be refused; check them all. */
	int refused = 0;
	for (size_t cut = 1; cut < len; cut++) {
		Impala__Trajectory *d = NULL;
		int rc = im_wire_decode_trajectory(buf, cut, IM_WIRE_MAX_TRAJECTORY, &d);
		if (rc == IM_OK) {
			/* A prefix ending exactly on a field boundary is a valid
			 * (shorter) message; the learner's validation catches
			 * its missing fields. */
			assert_true(d->num_steps == 0 || d->obs == NULL ||
				    d->n_episodes < 2);
			impala__trajectory__free_unpacked(d, NULL);
		} else {
			assert_int_equal(rc, IM_EPROTO);
			refused++;
		}
	}
	assert_true(refused > (int)len / 2);
	free(buf);
}

static void test_oversized_and_garbage_refused(void **state)
{
	(void)state;
	traj_fixture f;
	traj_fill(&f);
	size_t len;
	uint8_t *buf = pack(&f.t.base, &len);
	Impala__Trajectory *d = NULL;
	/* Larger than the bound: refused before decoding. */
	assert_int_equal(im_wire_decode_trajectory(buf, len, len - 1, &d), IM_ETOOBIG);
	assert_null(d);
	free(buf);

	/* A length prefix that claims more bytes than the buffer holds. */
	uint8_t liar[] = {0x42, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3};
	assert_int_equal(im_wire_decode_trajectory(liar, sizeof liar, IM_WIRE_MAX_TRAJECTORY, &d), IM_EPROTO);
	/* Random bytes. */
	uint8_t junk[64];
	uint32_t x = 12345;
	int refused = 0;
	for (int trial = 0; trial < 200; trial++) {
		for (size_t i = 0; i < sizeof junk; i++) {
			x = x * 1103515245u + 12345u;
			junk[i] = (uint8_t)(x >> 16);
		}
		Impala__Control *c = NULL;
		int rc = im_wire_decode_control(junk, sizeof junk, IM_WIRE_MAX_CONTROL, &c);
		if (rc == IM_OK)
			impala__control__free_unpacked(c, NULL);
		else
			refused++;
	}
	assert_true(refused > 150);
	assert_int_equal(im_wire_decode_params(NULL, 5, 100, (Impala__Params **)&d), IM_EINVAL);
}

static void test_crc32c_known_value(void **state)
{
	(void)state;
	/* The standard check value of CRC-32C. */
	assert_int_equal(im_wire_crc32c("123456789", 9), 0xe3069283u);
	assert_int_equal(im_wire_crc32c("", 0), 0);
	char longer[100];
	memset(longer, 'a', sizeof longer);
	uint32_t a = im_wire_crc32c(longer, sizeof longer);
	longer[57] ^= 1;
	assert_true(a != im_wire_crc32c(longer, sizeof longer));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_hello_roundtrip),
		cmocka_unit_test(test_control_welcome_roundtrip),
		cmocka_unit_test(test_control_refusal_and_goodbye),
		cmocka_unit_test(test_trajectory_roundtrip),
		cmocka_unit_test(test_params_roundtrip),
		cmocka_unit_test(test_truncated_buffers_refused),
		cmocka_unit_test(test_oversized_and_garbage_refused),
		cmocka_unit_test(test_crc32c_known_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
