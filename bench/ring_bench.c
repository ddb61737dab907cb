/*
 * ring_bench.c - what core/ring.c costs: the SPSC ring and the doorbell.
 *
 * 1. enq+deq on one thread (ck regressions/ck_ring/benchmark/latency.c):
 *    the instruction cost of the wrapper, no cache-line transfer.
 * 2. hand-off rate between two pinned threads through the real ring, for
 *    burst sizes 1, 8, 32 and ring sizes 256 and 4096, without and with a
 *    doorbell on the ring (with one, every enqueue pays the seq_cst fence
 *    of doorbell_ring(); the consumer never sleeps).
 * 3. ping-pong through two rings, one packet in flight: round-trip median
 *    and p99, with the echo side spinning, then sleeping on its doorbell
 *    whenever its ring is empty (eventfd wake-up latency).
 *
 * Rings carry token pointers that are never dereferenced: this measures the
 * ring, not packet memory. Warm-up, then a fixed window; the whole run takes
 * about 12 s. Output: one key=value line per measurement, then Markdown.
 * Compare only with a baseline rerun on the same machine (STYLE.md §11).
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/pkt.h"
#include "../core/ring.h"
#include "../core/thread.h"

#ifdef RING_C11
#define BACKEND "c11"
#else
#define BACKEND "ck"
#endif

#define WARMUP_NS	(100 * NSEC_PER_MSEC)
#define WINDOW_NS	(500 * NSEC_PER_MSEC)
#define SAMPLES_MAX	(1u << 21)

static int cpu_a = -1, cpu_b = -1;	/* producer / consumer pinning */
static struct pkt *tokens[BURST_MAX];

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void die(const char *what)
{
	fprintf(stderr, "ring_bench: %s failed\n", what);
	exit(1);
}

/* --- 1. one thread ---------------------------------------------------- */

struct single_res {
	unsigned int burst;
	double ns_per_pkt;
};

static struct single_res single_res[3];

static void bench_single(unsigned int slots, unsigned int burst, struct single_res *res)
{
	struct pkt *out[BURST_MAX];
	struct spsc *r;
	uint64_t pkts = 0;
	int64_t t0, t1, end;

	if (spsc_create(&r, slots, NULL, "single"))
		die("spsc_create");
	t0 = clock_mono_ns();
	end = t0 + 200 * NSEC_PER_MSEC;
	do {
		for (int i = 0; i < 1024; i++) {
			unsigned int n = spsc_enqueue_burst(r, tokens, burst);

			pkts += spsc_dequeue_burst(r, out, n);
		}
		t1 = clock_mono_ns();
	} while (t1 < end);
	res->burst = burst;
	res->ns_per_pkt = (double)(t1 - t0) / (double)pkts;
	printf("ring_bench test=single backend=%s slots=%u burst=%u pkts=%llu "
	       "ns_per_pkt_enq_deq=%.2f\n", BACKEND, slots, burst, (unsigned long long)pkts,
	       res->ns_per_pkt);
	spsc_destroy(r);
}

/* --- 2. hand-off between two threads ------------------------------------ */

struct handoff {
	struct thread prod, cons;
	struct spsc *ring;
	struct doorbell db;
	unsigned int burst;
	uint64_t consumed;	/* written by the consumer only */
};

struct handoff_res {
	unsigned int slots, burst, bell;
	double mpps, ns_per_pkt;
};

static struct handoff_res handoff_res[12];
static unsigned int nhandoff;

static void *handoff_producer(void *arg)
{
	struct handoff *h = arg;

	while (!thread_should_stop(&h->prod))
		if (!spsc_enqueue_burst(h->ring, tokens, h->burst))
			__builtin_ia32_pause();	/* full: do not hammer the consumer's line */
	return NULL;
}

static void *handoff_consumer(void *arg)
{
	struct handoff *h = arg;
	struct pkt *p[BURST_MAX];

	while (!thread_should_stop(&h->cons)) {
		unsigned int n = spsc_dequeue_burst(h->ring, p, h->burst);

		if (n)
			STAT_ADD(h->consumed, n);
	}
	return NULL;
}

static void bench_handoff(unsigned int slots, unsigned int burst, unsigned int bell)
{
	static struct handoff h;
	struct handoff_res *res = &handoff_res[nhandoff++];
	uint64_t c0, c1;
	int64_t t0, t1;

	thread_reset_ids();
	memset(&h, 0, sizeof(h));
	h.burst = burst;
	if (doorbell_init(&h.db) || spsc_create(&h.ring, slots, bell ? &h.db : NULL, "handoff"))
		die("ring setup");
	if (thread_init(&h.prod, "producer", handoff_producer, &h, cpu_a) ||
	    thread_init(&h.cons, "consumer", handoff_consumer, &h, cpu_b) ||
	    thread_start(&h.cons) || thread_start(&h.prod))
		die("thread start");
	sleep_ns(WARMUP_NS);
	c0 = STAT_READ(h.consumed);
	t0 = clock_mono_ns();
	sleep_ns(WINDOW_NS);
	c1 = STAT_READ(h.consumed);
	t1 = clock_mono_ns();
	thread_request_stop(&h.prod);
	thread_request_stop(&h.cons);
	thread_join(&h.prod);
	thread_join(&h.cons);

	res->slots = slots;
	res->burst = burst;
	res->bell = bell;
	res->mpps = (double)(c1 - c0) / ((double)(t1 - t0) / 1e9) / 1e6;
	res->ns_per_pkt = (double)(t1 - t0) / (double)(c1 - c0 ? c1 - c0 : 1);
	printf("ring_bench test=handoff backend=%s slots=%u burst=%u doorbell=%u pkts=%llu "
	       "secs=%.3f pps=%.0f ns_per_pkt=%.2f\n", BACKEND, slots, burst, bell,
	       (unsigned long long)(c1 - c0), (double)(t1 - t0) / 1e9, res->mpps * 1e6,
	       res->ns_per_pkt);
	spsc_destroy(h.ring);
	doorbell_destroy(&h.db);
}

/* --- 3. ping-pong ------------------------------------------------------- */

struct pingpong {
	struct thread ping, echo;
	struct spsc *to_echo, *to_ping;
	struct doorbell echo_db;
	int sleep;		/* echo sleeps on its doorbell when idle */
	uint32_t *rtt;		/* samples, ns */
	uint32_t nrtt;
	uint64_t echo_waits;
};

struct pingpong_res {
	const char *mode;
	uint32_t rounds;
	uint32_t median, p99, p999;
};

static struct pingpong_res pingpong_res[2];

static void *ping_main(void *arg)
{
	struct pingpong *pp = arg;
	struct pkt *back;
	int64_t warm_end = clock_mono_ns() + WARMUP_NS;
	int64_t end = warm_end + WINDOW_NS;
	int64_t t0, t1 = 0;

	while (t1 < end && pp->nrtt < SAMPLES_MAX && !thread_should_stop(&pp->ping)) {
		t0 = clock_mono_ns();
		while (spsc_enqueue_burst(pp->to_echo, tokens, 1) != 1)
			__builtin_ia32_pause();
		while (spsc_dequeue_burst(pp->to_ping, &back, 1) != 1)
			__builtin_ia32_pause();
		t1 = clock_mono_ns();
		if (t0 >= warm_end)
			pp->rtt[pp->nrtt++] = (uint32_t)MIN(t1 - t0, (int64_t)UINT32_MAX);
	}
	return NULL;
}

static void *echo_main(void *arg)
{
	struct pingpong *pp = arg;
	struct pkt *p;

	while (!thread_should_stop(&pp->echo)) {
		if (spsc_dequeue_burst(pp->to_echo, &p, 1)) {
			while (spsc_enqueue_burst(pp->to_ping, &p, 1) != 1)
				__builtin_ia32_pause();
			continue;
		}
		if (!pp->sleep) {
			__builtin_ia32_pause();
			continue;
		}
		doorbell_prepare_sleep(&pp->echo_db);
		if (spsc_count(pp->to_echo)) {
			doorbell_cancel_sleep(&pp->echo_db);
			continue;
		}
		doorbell_wait(&pp->echo_db, 100);
		pp->echo_waits++;
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void bench_pingpong(int sleep, struct pingpong_res *res)
{
	static struct pingpong pp;
	uint32_t n;

	thread_reset_ids();
	memset(&pp, 0, sizeof(pp));
	pp.sleep = sleep;
	pp.rtt = malloc(SAMPLES_MAX * sizeof(*pp.rtt));
	if (!pp.rtt || doorbell_init(&pp.echo_db) ||
	    spsc_create(&pp.to_echo, 256, &pp.echo_db, "to_echo") ||
	    spsc_create(&pp.to_ping, 256, NULL, "to_ping"))
		die("ping-pong setup");
	if (thread_init(&pp.ping, "ping", ping_main, &pp, cpu_a) ||
	    thread_init(&pp.echo, "echo", echo_main, &pp, cpu_b) ||
	    thread_start(&pp.echo) || thread_start(&pp.ping))
		die("thread start");
	thread_join(&pp.ping);
	thread_request_stop(&pp.echo);
	doorbell_kick(&pp.echo_db);
	thread_join(&pp.echo);

	n = pp.nrtt;
	qsort(pp.rtt, n, sizeof(*pp.rtt), cmp_u32);
	res->mode = sleep ? "sleep" : "spin";
	res->rounds = n;
	res->median = n ? pp.rtt[n / 2] : 0;
	res->p99 = n ? pp.rtt[(uint64_t)n * 99 / 100] : 0;
	res->p999 = n ? pp.rtt[(uint64_t)n * 999 / 1000] : 0;
	printf("ring_bench test=pingpong backend=%s echo=%s slots=256 rounds=%u "
	       "rtt_median_ns=%u rtt_p99_ns=%u rtt_p999_ns=%u oneway_median_ns=%u "
	       "echo_sleeps=%llu\n", BACKEND, res->mode, n, res->median, res->p99, res->p999,
	       res->median / 2, (unsigned long long)pp.echo_waits);
	free(pp.rtt);
	spsc_destroy(pp.to_echo);
	spsc_destroy(pp.to_ping);
	doorbell_destroy(&pp.echo_db);
}

/* --- setting and report --------------------------------------------------- */

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !v)
			continue;
		v += 2;
		v[strcspn(v, "\n")] = 0;
		snprintf(buf, len, "%s", v);
		break;
	}
	fclose(f);
}

/* The 1-minute load average: a busy machine explains a slow run. */
static double loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double v = -1;

	if (f) {
		if (fscanf(f, "%lf", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Cost of one clock read, which every ping-pong sample pays twice. */
static double clock_cost_ns(void)
{
	int64_t t0 = clock_mono_ns(), t1 = t0;
	int i;

	for (i = 0; i < 100000; i++)
		t1 = clock_mono_ns();
	return (double)(t1 - t0) / i;
}

static void report(const char *cpu, const struct utsname *u, long ncpu)
{
	unsigned int i;

	printf("\n### ring_bench (%s backend)\n\n", BACKEND);
	printf("CPU: %s, %ld CPUs online; kernel %s %s; threads pinned to CPU %d and %d; "
	       "load average %.2f at the end.\n\n", cpu, ncpu, u->sysname, u->release, cpu_a,
	       cpu_b, loadavg());
	printf("| one thread: burst | ns/pkt (enq+deq) |\n|---:|---:|\n");
	for (i = 0; i < ARRAY_SIZE(single_res); i++)
		printf("| %u | %.2f |\n", single_res[i].burst, single_res[i].ns_per_pkt);
	printf("\n| hand-off: ring slots | burst | doorbell | Mpkt/s | ns/pkt |\n"
	       "|---:|---:|:---:|---:|---:|\n");
	for (i = 0; i < nhandoff; i++)
		printf("| %u | %u | %s | %.2f | %.2f |\n", handoff_res[i].slots,
		       handoff_res[i].burst, handoff_res[i].bell ? "yes" : "no",
		       handoff_res[i].mpps, handoff_res[i].ns_per_pkt);
	printf("\n| ping-pong: echo side | rounds | RTT median ns | RTT p99 ns | RTT p99.9 ns |\n"
	       "|---|---:|---:|---:|---:|\n");
	for (i = 0; i < ARRAY_SIZE(pingpong_res); i++)
		printf("| %s | %u | %u | %u | %u |\n", pingpong_res[i].mode,
		       pingpong_res[i].rounds, pingpong_res[i].median, pingpong_res[i].p99,
		       pingpong_res[i].p999);
	printf("\nRTT includes two clock reads (%.0f ns each); one way is about half.\n",
	       clock_cost_ns());
}

int main(void)
{
	static const unsigned int bursts[] = { 1, 8, 32 };
	static const unsigned int sizes[] = { 256, 4096 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct utsname u;
	char cpu[128];
	unsigned int i, j, bell;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < BURST_MAX; i++)
		tokens[i] = (struct pkt *)(uintptr_t)(0x10000 + i * CACHELINE);
	if (ncpu >= 2) {
		cpu_a = 0;
		cpu_b = 1;
	}
	cpu_model(cpu, sizeof(cpu));
	uname(&u);
	printf("ring_bench backend=%s cpu=\"%s\" ncpu=%ld kernel=%s pin=%d,%d "
	       "warmup_ms=%lld window_ms=%lld loadavg=%.2f\n", BACKEND, cpu, ncpu, u.release,
	       cpu_a, cpu_b, WARMUP_NS / NSEC_PER_MSEC, WINDOW_NS / NSEC_PER_MSEC, loadavg());

	for (i = 0; i < ARRAY_SIZE(bursts); i++)
		bench_single(256, bursts[i], &single_res[i]);
	for (bell = 0; bell < 2; bell++)
		for (j = 0; j < ARRAY_SIZE(sizes); j++)
			for (i = 0; i < ARRAY_SIZE(bursts); i++)
				bench_handoff(sizes[j], bursts[i], bell);
	bench_pingpong(0, &pingpong_res[0]);
	bench_pingpong(1, &pingpong_res[1]);
	report(cpu, &u, ncpu);
	return 0;
}
