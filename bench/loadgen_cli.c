/*
 * loadgen_cli.c - the load generator's command line (bench/loadgen.c has the
 * sessions): arguments, signals, and the results as key=value lines on
 * stdout. Thread: main only.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <arpa/inet.h>

#include "../core/log.h"
#include "loadgen.h"

static const char *const fail_names[FAIL_COUNT] = { "timeout", "restart", "fatal", "socket" };

static void on_signal(int sig)
{
	(void)sig;
	loadgen_stop = 1;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted latencies, in ms. */
static double pct_ms(const int64_t *v, unsigned int n, double p)
{
	unsigned int i;

	if (!n)
		return 0;
	i = (unsigned int)(p / 100.0 * n + 0.999999);
	i = i ? i - 1 : 0;
	return (double)v[i < n ? i : n - 1] / 1e6;
}

static void loadgen_report(struct loadgen *lg, double setup_s, unsigned int unfinished)
{
	double el = (double)(lg->hs_end_ns - lg->t0_ns) / 1e9;
	unsigned int failed = 0;
	struct rusage ru;
	double cpu = 0;

	for (int i = 0; i < FAIL_COUNT; i++)
		failed += lg->fails[i];
	if (!getrusage(RUSAGE_SELF, &ru))
		cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	unsigned int nlat = lg->ok < lg->lat_cap ? lg->ok : lg->lat_cap;

	qsort(lg->lat_ns, nlat, sizeof(*lg->lat_ns), cmp_i64);
	printf("server=%s sessions=%u concurrency=%u hold=%s setup_s=%.3f\n", lg->srv_str,
	       lg->total, lg->conc, lg->hold ? "yes" : "no", setup_s);
	printf("ok=%u failed=%u", lg->ok, failed);
	for (int i = 0; i < FAIL_COUNT; i++)
		printf(" fail_%s=%u", fail_names[i], lg->fails[i]);
	printf(" unfinished=%u lost=%u exit_unacked=%u\n", unfinished, lg->lost, lg->exit_unacked);
	printf("elapsed_s=%.3f hs_per_s=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f cpu_s=%.2f\n",
	       el, el > 0 ? lg->ok / el : 0.0, pct_ms(lg->lat_ns, nlat, 50),
	       pct_ms(lg->lat_ns, nlat, 99), pct_ms(lg->lat_ns, nlat, 100), cpu);
	printf("rekeys=%u left=%u src_addrs=%u seed=%u\n", lg->rekeys, lg->left,
	       lg->src_count ? lg->src_count : 1, lg->seed);
	printf("rx_ctrl=%llu rx_data=%llu rx_errs=%llu tx_errs=%llu\n",
	       (unsigned long long)lg->rx_ctrl, (unsigned long long)lg->rx_data,
	       (unsigned long long)lg->rx_errs, (unsigned long long)lg->tx_errs);
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: loadgen --config FILE [-n SESSIONS] [-c IN-FLIGHT] [--hold] "
		"[-t MAX-SECONDS] [--hs-timeout SECONDS] [--src-net CIDR] "
		"[--leave-after SECONDS] [--seed N] [-v]\n"
		"  -n 100, -c 10, -t 60, --hs-timeout 20 by default. --hold keeps the\n"
		"  established sessions open until SIGTERM or -t (prints 'ready ...').\n");
}

static int parse_uint(const char *s, unsigned int lo, unsigned int hi, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* IPv4 CIDR: its usable addresses (all but network and broadcast from /30 up). */
static int parse_cidr(const char *s, uint32_t *base, uint32_t *count)
{
	char buf[INET_ADDRSTRLEN + 4], *slash;
	struct in_addr a;
	unsigned int plen;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash || parse_uint(slash + 1, 8, 32, &plen))
		return -EINVAL;
	*slash = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*base = ntohl(a.s_addr) & (plen == 32 ? ~0u : ~((1u << (32 - plen)) - 1));
	*count = plen == 32 ? 1 : 1u << (32 - plen);
	if (plen <= 30) {
		*base += 1;
		*count -= 2;
	}
	return 0;
}

static int parse_args(struct loadgen *lg, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "hold", no_argument, NULL, 'H' },
		{ "hs-timeout", required_argument, NULL, 'T' },
		{ "src-net", required_argument, NULL, 'S' },
		{ "leave-after", required_argument, NULL, 'L' },
		{ "seed", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, verb = 0, rc = 0;

	while ((ch = getopt_long(argc, argv, "f:n:c:t:vh", longs, NULL)) != -1) {
		switch (ch) {
		case 'f':
			lg->config = optarg;
			break;
		case 'n':
			rc |= parse_uint(optarg, 1, LOADGEN_SESSIONS_MAX, &lg->total);
			break;
		case 'c':
			rc |= parse_uint(optarg, 1, LOADGEN_SESSIONS_MAX, &lg->conc);
			break;
		case 't':
			rc |= parse_uint(optarg, 1, 86400, &lg->max_secs);
			break;
		case 'T':
			rc |= parse_uint(optarg, 1, 3600, &lg->hs_timeout);
			break;
		case 'H':
			lg->hold = true;
			break;
		case 'S':
			rc |= parse_cidr(optarg, &lg->src_base, &lg->src_count);
			break;
		case 'L':
			rc |= parse_uint(optarg, 1, 86400, &lg->leave_after);
			break;
		case 'R':
			rc |= parse_uint(optarg, 0, UINT32_MAX, &lg->seed);
			lg->has_seed = true;
			break;
		case 'v':
			verb++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			rc = -EINVAL;
			break;
		}
	}
	log_init(verb, 0);
	if (lg->leave_after && !lg->hold)
		rc = -EINVAL;	/* only held sessions leave */
	if (rc || optind != argc || !lg->config) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* Static: the epoll and receive buffers make it too large for the stack. */
	static struct loadgen lg = { .total = 100, .conc = 10, .max_secs = 60,
				     .hs_timeout = 20, .ep = -1 };
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	unsigned int unfinished;
	int64_t t_setup, end_ns;
	char err[512];
	int rc;

	if (parse_args(&lg, argc, argv))
		return 2;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	t_setup = clock_mono_ns();
	rc = loadgen_setup(&lg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s\n", err);
		loadgen_free(&lg);
		return 2;
	}
	t_setup = clock_mono_ns() - t_setup;
	end_ns = clock_mono_ns() + (int64_t)lg.max_secs * NSEC_PER_SEC;
	loadgen_run(&lg, end_ns);
	if (lg.hold)
		loadgen_hold(&lg, end_ns);
	/* With --leave-after, departed sessions' slots start more than -n in all. */
	unfinished = lg.inflight + (lg.started < lg.total ? lg.total - lg.started : 0);
	loadgen_shutdown(&lg);
	loadgen_report(&lg, (double)t_setup / 1e9, unfinished);
	rc = lg.ok == lg.total ? 0 : 1;
	loadgen_free(&lg);
	return rc;
}
