/*
 * lanes_test.c - tests for the io-queues option (ctrl/config/opt_proc.c)
 * and how ctrl/config/runcfg.c resolves it with workers: automatic lanes
 * and workers for a range of CPU counts; io-queues auto, 1..4 taken, 0, 5
 * and words refused; a UDP server gets the lanes asked for, a TCP server,
 * a client and test-data-key one lane; workers fewer than explicit lanes
 * refused, automatic lanes held to the workers given.
 *
 * Exit 0 pass, 1 fail.
 */
#include <stdio.h>
#include <string.h>

#include "../../core/log.h"
#include "../../ctrl/config/runcfg.h"
#include "harness.h"
#include "config_rig.h"

static void test_parse(void)
{
	static const struct {
		const char *text;
		int want;	/* io_queues, or -1: refused */
	} cases[] = {
		{ "dev tun\n", 0 },
		{ "io-queues auto\n", 0 },
		{ "io-queues 1\n", 1 },
		{ "io-queues 2\n", 2 },
		{ "io-queues 4\n", 4 },
		{ "io-queues 3\nio-queues auto\n", 0 },
		{ "io-queues 0\n", -1 },
		{ "io-queues 5\n", -1 },
		{ "io-queues abc\n", -1 },
		{ "io-queues -1\n", -1 },
		{ "io-queues\n", -1 },
		{ "io-queues 2 3\n", -1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct options *o = opt_new();
		int ret = load(o, cases[i].text);

		if (cases[i].want < 0)
			CHECK(ret < 0 && strstr(err, "io-queues"), "case %zu: want an error, got %d '%s'",
			      i, ret, err);
		else
			CHECK(ret == 0 && o->io_queues == (unsigned int)cases[i].want,
			      "case %zu: %d '%s' io_queues %u", i, ret, err, o->io_queues);
		opt_del(o);
	}
	{
		struct options *o = opt_new();

		CHECK(load(o, "io-queues 9\n") < 0 &&
		      strstr(err, "io-queues expects auto or a number 1..4, got '9'"), "message: %s",
		      err);
		opt_del(o);
	}
}

static void test_auto(void)
{
	static const unsigned int t[][4] = {
		/* cpus, lanes, workers with those lanes, workers with one lane */
		{ 1, 1, 1, 1 },   { 2, 1, 1, 1 },   { 4, 1, 1, 1 },	  { 6, 1, 2, 2 },
		{ 8, 1, 4, 4 },   { 15, 1, 11, 11 }, { 16, 2, 8, 12 }, { 24, 3, 12, 16 },
		{ 32, 4, 16, 16 }, { 64, 4, 16, 16 }, { 256, 4, 16, 16 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		CHECK_INT(runcfg_auto_lanes(t[i][0]), t[i][1]);
		CHECK_INT(runcfg_auto_workers(t[i][0], t[i][1]), t[i][2]);
		CHECK_INT(runcfg_auto_workers(t[i][0], 1), t[i][3]);
	}
	CHECK(runcfg_auto_inline(1) && runcfg_auto_inline(2) && !runcfg_auto_inline(3) &&
	      !runcfg_auto_inline(16), "automatic inline crypto on 1 or 2 CPUs only");
	/* At least one worker per lane, however few the CPUs. */
	CHECK_INT(runcfg_auto_workers(2, 4), 4);
	CHECK_INT(runcfg_auto_workers(9, 2), 2);
}

#define SERVER "--dev tun --server 10.8.0.0 255.255.255.0 --ca ca.crt --cert s.crt " \
	       "--key s.key --dh none"
#define CLIENT "--dev tun --client --remote 198.18.0.1 --ca ca.crt --cert c.crt --key c.key"

/* @args: one string split at blanks; returns runcfg_load's result, *@out kept on success. */
static int run(const char *args, struct runcfg **out)
{
	char buf[512], *argv[64], *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "sluice %s", args);
	for (char *t = strtok_r(buf, " ", &save); t && argc < 63; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	err[0] = '\0';
	return runcfg_load(out, argc, argv, err, sizeof(err));
}

/*
 * @args must load: lanes @lanes (auto or not), workers @workers (0: not
 * checked), inline crypto @inl (-1: not checked).
 */
static void ok_inline(const char *args, unsigned int lanes, bool is_auto, unsigned int workers,
		      int inl)
{
	struct runcfg *rc = NULL;

	if (run(args, &rc)) {
		CHECK(0, "'%s' refused: %s", args, err);
		return;
	}
	CHECK(inl < 0 || rc->inline_crypto == (inl > 0), "'%s': inline %d, want %d", args,
	      rc->inline_crypto, inl);
	CHECK(rc->io_lanes == lanes && rc->io_lanes_auto == is_auto,
	      "'%s': lanes %u auto %d, want %u %d", args, rc->io_lanes, rc->io_lanes_auto, lanes,
	      is_auto);
	CHECK(!workers || rc->workers == workers, "'%s': workers %u, want %u", args, rc->workers,
	      workers);
	CHECK(rc->workers >= rc->io_lanes, "'%s': workers %u < lanes %u", args, rc->workers,
	      rc->io_lanes);
	runcfg_free(rc);
}

static void ok(const char *args, unsigned int lanes, bool is_auto, unsigned int workers)
{
	ok_inline(args, lanes, is_auto, workers, -1);
}

static void refused(const char *args, const char *want)
{
	struct runcfg *rc = NULL;

	CHECK(run(args, &rc) < 0 && strstr(err, want), "'%s': want '%s', got '%s'", args, want,
	      err);
}

static void test_runcfg(void)
{
	unsigned int cpus = runcfg_usable_cpus(), lanes = runcfg_auto_lanes(cpus);
	bool auto_inline = runcfg_auto_inline(cpus);

	/* Automatic: inline crypto (one worker's contexts per lane) on a small machine. */
	ok_inline(SERVER, lanes, true, auto_inline ? lanes : runcfg_auto_workers(cpus, lanes),
		  auto_inline);
	ok_inline(CLIENT, 1, true, auto_inline ? 1 : runcfg_auto_workers(cpus, 1), auto_inline);
	/* workers 0: inline anywhere; workers N: N threads anywhere. */
	ok_inline(CLIENT " --workers 0", 1, true, 1, 1);
	ok_inline(SERVER " --workers 0", lanes, true, lanes, 1);
	ok_inline(SERVER " --io-queues 2 --workers 0", 2, false, 2, 1);
	ok_inline(CLIENT " --workers 1", 1, true, 1, 0);
	ok_inline(SERVER " --workers 2", 1, true, 2, 0);
	/* Below, automatic workers: on a small machine inline, as many as lanes, the same count. */
	ok(SERVER, lanes, true, runcfg_auto_workers(cpus, lanes));
	ok(SERVER " --io-queues auto", lanes, true, 0);
	ok(SERVER " --io-queues 1", 1, false, runcfg_auto_workers(cpus, 1));
	ok(SERVER " --io-queues 2", 2, false, runcfg_auto_workers(cpus, 2));
	ok(SERVER " --io-queues 4 --workers 4", 4, false, 4);
	ok(SERVER " --io-queues 2 --workers 3", 2, false, 3);
	ok(SERVER " --proto udp6 --io-queues 2", 2, false, 0);
	ok(SERVER " --workers 1", 1, true, 1);	/* automatic lanes held to the workers */
	refused(SERVER " --io-queues 2 --workers 1",
		"options: workers 1 is fewer than io-queues 2: each lane needs a worker");
	refused(SERVER " --io-queues 4 --workers 3", "workers 3 is fewer than io-queues 4");
	refused(SERVER " --io-queues 5", "io-queues expects auto or a number 1..4");
	/* Lanes serve a UDP server only: elsewhere one, the count ignored (logged). */
	ok(SERVER " --proto tcp-server --io-queues 2", 1, false, runcfg_auto_workers(cpus, 1));
	ok(SERVER " --proto tcp-server --io-queues 2 --workers 1", 1, false, 1);
	ok(CLIENT " --io-queues 4", 1, false, runcfg_auto_workers(cpus, 1));
	ok(CLIENT, 1, true, runcfg_auto_workers(cpus, 1));
}

int main(void)
{
	log_init(1, 0);
	log_set_verbosity(0);
	test_parse();
	test_auto();
	test_runcfg();
	return harness_done("lanes_test");
}
