/*
 * pipeline_stats.c - the data plane's counters as ctrl reads them: each
 * stage's packet, byte, drop and CPU counters (summed over the lanes, then
 * each lane's with several), the rings' fill and high-water marks, the
 * pools' leaks, the TUN byte totals and the fixed-buffer outcome. Only
 * reads: every counter is written by its own thread (core/stats.h) and
 * read here relaxed.
 *
 * Besides the threads' counters: <link>_socket.drop.kernel (udp_socket.*),
 * what the kernel dropped at a datagram link's socket before link_rx could
 * read it (its receive buffer full, a bad UDP checksum; a GRO batch counts
 * once), from SO_MEMINFO, so a loss no stage of ours saw still shows in the
 * totals. It is a stage of its own: link_rx never counted those packets in
 * its rx_pkts, and each stage's rx_pkts = tx_pkts + its drops still holds.
 *
 * Threads: ctrl only (the status dump, `sluice status`, management,
 * /metrics), while the data threads run.
 */
#include <linux/sock_diag.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "pipeline_int.h"

/* A link's name in the counters: link 0 keeps the plain one ("udp": udp_rx.*, udp_tx.*). */
static void link_name(char *buf, size_t len, const struct pipe_link *pk)
{
	if (pk->link->index == 0)
		snprintf(buf, len, "%s", pk->link->ops->name);
	else
		snprintf(buf, len, "%s%u", pk->link->ops->name, pk->link->index);
}

void pipeline_tun_bytes(const struct pipeline *pl, uint64_t *from_tun, uint64_t *to_tun)
{
	*from_tun = *to_tun = 0;
	for (unsigned int k = 0; k < pl->nlanes; k++) {
		*from_tun += STAT_READ(pl->lanes[k].tun_rx.lp.thr.stats.rx_bytes);
		*to_tun += STAT_READ(pl->lanes[k].tun_tx.lp.thr.stats.tx_bytes);
	}
}

void pipeline_fixed_bufs(const struct pipeline *pl, int *tun_rx, int *tun_tx)
{
	/* Relaxed: a report; each thread stores it once, at start (tun_rx.c, tun_tx.c). Lane 0's. */
	*tun_rx = __atomic_load_n(&pl->lanes[0].tun_rx.lp.fixed_bufs, __ATOMIC_RELAXED);
	*tun_tx = __atomic_load_n(&pl->lanes[0].tun_tx.lp.fixed_bufs, __ATOMIC_RELAXED);
}

unsigned int pipeline_lanes(const struct pipeline *pl)
{
	return pl->nlanes;
}

/*
 * The kernel's drop count of link @pk's socket (SK_MEMINFO_DROPS), plus
 * what the sockets it replaced had dropped when last read. A stream link
 * (TCP) has none: TCP's own retransmits cover its losses.
 */
static uint64_t link_sock_drops(struct pipe_link *pk)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);
	struct stat sb;

	if (pk->link->is_stream || pk->link->fd < 0 || fstat(pk->link->fd, &sb))
		return pk->sock_drops_base + pk->sock_drops_last;
	if ((uint64_t)sb.st_ino != pk->sock_ino) {
		/* Another socket (a reconnect's): the old one's count stays in the total. */
		pk->sock_drops_base += pk->sock_drops_last;
		pk->sock_drops_last = 0;
		pk->sock_ino = (uint64_t)sb.st_ino;
	}
	if (!getsockopt(pk->link->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) &&
	    len > SK_MEMINFO_DROPS * sizeof(mi[0]))
		pk->sock_drops_last = mi[SK_MEMINFO_DROPS];
	return pk->sock_drops_base + pk->sock_drops_last;
}

/* "<link>_socket.drop.kernel=": the links' socket drops, summed, then each lane's with several. */
static void sock_drops_print(FILE *f, struct pipeline *pl, const char *name)
{
	uint64_t d[PIPE_LINKS_MAX], sum = 0;

	if (pl->links[0].link->is_stream)
		return;
	for (unsigned int i = 0; i < pl->nlinks; i++)
		sum += d[i] = link_sock_drops(&pl->links[i]);
	fprintf(f, "%s_socket.drop.kernel=%llu\n", name, (unsigned long long)sum);
	for (unsigned int i = 0; pl->nlinks > 1 && i < pl->nlinks; i++)
		fprintf(f, "lane%u.%s_socket.drop.kernel=%llu\n", i, name, (unsigned long long)d[i]);
}

/* "prefix.cpu_us=": CPU time of a stage's thread(s), from their thread CPU clocks. */
static void cpu_print(FILE *f, const char *prefix, struct thread *const *t, unsigned int n)
{
	uint64_t ns = 0;

	for (unsigned int i = 0; i < n; i++)
		ns += thread_cpu_used_ns(t[i]);
	fprintf(f, "%s.cpu_us=%llu\n", prefix, (unsigned long long)(ns / 1000));
}

/* "ring.<name>.fill|hwm|size=": packets queued now, the most ever queued, and the room. */
static void ring_print(FILE *f, const struct spsc *r)
{
	if (!r)
		return;
	fprintf(f, "ring.%s.fill=%u\nring.%s.hwm=%u\nring.%s.size=%u\n", r->name, spsc_count(r),
		r->name, spsc_hwm(r), r->name, spsc_capacity(r));
}

/*
 * One stage's loops, one per lane: the sum under @name (as with one lane),
 * then with several lanes each one's under "lane<k>.@name".
 */
static void lanes_print(FILE *f, const char *name, struct thread *const *t, unsigned int n)
{
	struct stats sum = { 0 };
	char key[40];

	for (unsigned int i = 0; i < n; i++)
		stats_accumulate(&sum, &t[i]->stats);
	stats_print(f, name, &sum);
	cpu_print(f, name, t, n);
	for (unsigned int i = 0; n > 1 && i < n; i++) {
		snprintf(key, sizeof(key), "lane%u.%s", i, name);
		stats_print(f, key, &t[i]->stats);
		cpu_print(f, key, &t[i], 1);
	}
}

void pipeline_write_stats(struct pipeline *pl, FILE *f)
{
	struct stats enc = { 0 }, dec = { 0 };
	struct thread *enc_t[IO_WORKERS_MAX], *dec_t[IO_WORKERS_MAX];
	struct thread *trx[PIPE_LANES_MAX], *ttx[PIPE_LANES_MAX];
	struct thread *lrx[PIPE_LINKS_MAX], *ltx[PIPE_LINKS_MAX];
	const char *lname = pl->links[0].link->ops->name;
	char name[24], key[32];
	uint64_t leaked = 0;
	int rx, tx;

	for (unsigned int i = 0; i < pl->cfg.workers; i++) {
		stats_accumulate(&enc, &pl->enc[i].thr.stats);
		stats_accumulate(&dec, &pl->dec[i].thr.stats);
		enc_t[i] = &pl->enc[i].thr;
		dec_t[i] = &pl->dec[i].thr;
	}
	for (unsigned int k = 0; k < pl->nlanes; k++) {
		trx[k] = &pl->lanes[k].tun_rx.lp.thr;
		ttx[k] = &pl->lanes[k].tun_tx.lp.thr;
		lrx[k] = &pl->links[k].rx.lp.thr;
		ltx[k] = &pl->links[k].tx.lp.thr;
		leaked += pl->lanes[k].tun_pool->leaked;
	}
	fprintf(f, "lanes=%u\n", pl->nlanes);
	lanes_print(f, "tun_rx", trx, pl->nlanes);
	stats_print(f, "encrypt", &enc);
	cpu_print(f, "encrypt", enc_t, pl->cfg.workers);
	snprintf(key, sizeof(key), "%s_tx", lname);
	lanes_print(f, key, ltx, pl->nlinks);
	snprintf(key, sizeof(key), "%s_rx", lname);
	lanes_print(f, key, lrx, pl->nlinks);
	sock_drops_print(f, pl, lname);
	for (unsigned int i = 0; i < pl->nlinks; i++) {
		if (i)
			snprintf(name, sizeof(name), "lane%u.%s", i, lname);
		if (pl->links[i].link->ops->write_stats)
			pl->links[i].link->ops->write_stats(pl->links[i].link, f, i ? name : lname);
	}
	stats_print(f, "decrypt", &dec);
	cpu_print(f, "decrypt", dec_t, pl->cfg.workers);
	lanes_print(f, "tun_tx", ttx, pl->nlanes);
	/* Pools registered as fixed buffers, -errno if refused, 0 if off (uring.h). */
	pipeline_fixed_bufs(pl, &rx, &tx);
	fprintf(f, "tun_rx.fixed_bufs=%d\ntun_tx.fixed_bufs=%d\n", rx, tx);
	fprintf(f, "pool.tun.leaked=%lu\n", (unsigned long)leaked);
	for (unsigned int i = 0; i < pl->nlinks; i++) {
		link_name(name, sizeof(name), &pl->links[i]);
		fprintf(f, "pool.%s.leaked=%lu\n", name, (unsigned long)pl->links[i].pool->leaked);
	}
	fprintf(f, "pool.ctrl.leaked=%lu\n", (unsigned long)pl->ctrl_pool->leaked);
	for (unsigned int i = 0; i < pl->cfg.workers; i++) {
		ring_print(f, pl->enc[i].in);
		ring_print(f, pl->enc[i].out);
		ring_print(f, pl->dec[i].in);
		ring_print(f, pl->dec[i].out);
	}
	for (unsigned int i = 0; i < pl->nlinks; i++) {
		ring_print(f, pl->links[i].ctrl_in);
		ring_print(f, pl->links[i].ctrl_out);
	}
	for (unsigned int k = 0; k < pl->nlanes; k++) {
		const struct pipe_lane *ln = &pl->lanes[k];

		ring_print(f, ln->ctrl_to_tun_rx);
		ring_print(f, ln->tun_tx_to_ctrl);
		ring_print(f, ln->c2c);
		for (unsigned int j = 0; j < PIPE_LANES_MAX; j++)
			ring_print(f, ln->fwd[j]);
	}
}
